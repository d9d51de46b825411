// The seam between sessions and observation. A session holds one tracker and tells it, in
// one line per event, what happened (request read, server connected, response head, end);
// the tracker keeps the clock readings and byte counts and hands a TrafficRecord to the
// frontend's TrafficLog. Sessions never format anything.
import type net from 'node:net';
import type { Server } from '../backend/server.js';
import type { CounterRegistry } from './counters.js';
import type { TrafficLog } from './traffic-log.js';
import { logDate } from './log-format.js';
import { emptyRecord, type TrafficRecord } from './traffic-record.js';

/** What the runtime gives a frontend: one tracker per client connection. */
export interface TrafficHooks {
  http(client: net.Socket, original?: OriginalAddresses): HttpTracker;
  /** `original`: the addresses a PROXY header gave (accept-proxy), logged instead of the socket's */
  tcp(client: net.Socket, original?: OriginalAddresses): TcpTracker;
  /**
   * A connection that failed before any session existed (a bad PROXY header): HAProxy's
   * connection error line, `client:port [accept date] frontend/bind: message`.
   */
  connectionError(e: ConnectionError): void;
}

export interface ConnectionError {
  srcAddress: string;
  srcPort: number;
  acceptedAt: number;
  /** the bind line's name: its 1-based position in the section, as HAProxy numbers listeners */
  bind: string;
  message: string;
  /** `option dontlognull` drops the line (HAProxy's rule: nothing received, an abort or a timeout) */
  empty: boolean;
}

export function createTrafficHooks(frontend: string, log: TrafficLog, counters: CounterRegistry): TrafficHooks {
  return {
    http: (client, original) => new HttpTracker(frontend, client, log, counters, original),
    tcp: (client, original) => new TcpTracker(frontend, client, log, counters, original),
    connectionError: (e) =>
      log.connectionError(`${stripV4Mapped(e.srcAddress)}:${e.srcPort} [${logDate(e.acceptedAt)}] ${frontend}/${e.bind}: ${e.message}`, e.empty),
  };
}

function stripV4Mapped(a: string | undefined): string {
  if (!a) return '-';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export interface OriginalAddresses {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
}

function addresses(r: TrafficRecord, client: net.Socket, original?: OriginalAddresses): void {
  if (original) {
    r.clientIp = stripV4Mapped(original.srcAddress);
    r.clientPort = original.srcPort;
    r.frontendIp = stripV4Mapped(original.dstAddress);
    r.frontendPort = original.dstPort;
    return;
  }
  r.clientIp = stripV4Mapped(client.remoteAddress);
  r.clientPort = client.remotePort ?? 0;
  r.frontendIp = stripV4Mapped(client.localAddress);
  r.frontendPort = client.localPort ?? 0;
}

/** HAProxy's termination state for an error answer generated before the response started. */
export function rejectTermination(status: number, why: string, hadRequest: boolean, queued: boolean): string {
  if (!hadRequest) {
    if (status === 408) return 'cR';
    if (why.includes('client closed')) return 'CR';
    return 'PR';
  }
  if (status === 503) return why.includes('queue') ? 'sQ' : 'SC';
  if (status === 504) return 'sH';
  if (status === 502) return 'SH';
  if (status === 408) return 'cD';
  if (status === 400) return 'CD';
  return queued ? 'PQ' : 'PR';
}

export class HttpTracker {
  #frontend: string;
  #client: net.Socket;
  #log: TrafficLog;
  #counters: CounterRegistry;
  #record: TrafficRecord | undefined;
  /** when this request's wait began: the accept, or the end of the previous request */
  #idleSince: number;
  #firstByte: number | undefined;
  #dispatchedAt = 0;
  #connectedAt = 0;
  #bytesOutMark = 0;
  #bytesInMark = 0;
  #requests = 0;
  #clientGone = false;
  #closed = false;

  /** what accept-proxy's PROXY header said of the client, logged instead of the socket's */
  #original: OriginalAddresses | undefined;

  constructor(frontend: string, client: net.Socket, log: TrafficLog, counters: CounterRegistry, original?: OriginalAddresses) {
    this.#frontend = frontend;
    this.#client = client;
    this.#log = log;
    this.#counters = counters;
    this.#original = original;
    this.#idleSince = Date.now();
    counters.connectionOpened(frontend);
    // Our own listeners: the first byte of each request starts its TR timer.
    client.on('data', () => {
      if (this.#firstByte === undefined && this.#record === undefined) this.#firstByte = Date.now();
    });
    client.once('end', () => (this.#clientGone = true));
  }

  /** A request head was read and is going to `backend`; `clientCookie` is its persistence flag. */
  request(requestLine: string, backend: string, clientCookie: string | undefined): void {
    const now = Date.now();
    const first = this.#firstByte ?? now;
    const r = emptyRecord('http', this.#frontend, this.#idleSince);
    addresses(r, this.#client, this.#original);
    r.Ti = first - this.#idleSince;
    r.TR = now - first;
    r.requestLine = requestLine;
    r.backend = backend;
    if (clientCookie !== undefined) {
      r.clientCookie = clientCookie;
      r.serverCookie = 'N';
    }
    this.#record = r;
    this.#requests++;
    this.#dispatchedAt = now;
  }

  /** The server connection is ready (after any queue wait and retries). */
  connected(server: Server, queuedMs: number, retries: number, redispatched: boolean): void {
    const r = this.#record;
    if (!r) return;
    const now = Date.now();
    this.#connectedAt = now;
    r.server = server.name;
    r.serverIp = server.host;
    r.serverPort = server.port;
    r.Tw = Math.max(0, queuedMs);
    r.Tc = Math.max(0, now - this.#dispatchedAt - r.Tw);
    r.retries = retries;
    r.redispatched = redispatched;
  }

  /** No connection could be made: `server` is the last one tried, if any. */
  failed(server: Server | undefined, retries: number): void {
    const r = this.#record;
    if (!r) return;
    r.retries = retries;
    if (!server) return;
    r.server = server.name;
    r.serverIp = server.host;
    r.serverPort = server.port;
    r.Tw = 0;
  }

  /** The final response head arrived from the server. */
  response(status: number): void {
    const r = this.#record;
    if (!r) return;
    r.status = status;
    r.Tr = Date.now() - this.#connectedAt;
  }

  /** What cookie persistence did to the response (HAProxy's server-side cookie flag). */
  serverCookie(flag: string): void {
    const r = this.#record;
    if (r && r.clientCookie !== '-') r.serverCookie = flag;
  }

  /** limpet answered the request itself (stats page): HAProxy logs it as `<STATS>`, state LR. */
  local(requestLine: string, status: number): void {
    this.request(requestLine, this.#frontend, undefined);
    const r = this.#record!;
    r.server = '<STATS>';
    r.status = status;
    this.#end('LR');
  }

  /** The transaction completed normally. */
  done(): void {
    this.#end('--');
  }

  /** An error page was sent (`why` as the session put it). */
  rejected(status: number, why: string): void {
    let r = this.#record;
    const hadRequest = r !== undefined;
    if (!r) {
      r = emptyRecord('http', this.#frontend, this.#idleSince);
      addresses(r, this.#client, this.#original);
      const first = this.#firstByte ?? Date.now();
      r.Ti = first - this.#idleSince;
      this.#record = r;
    }
    r.status = status;
    this.#end(rejectTermination(status, why, hadRequest, false));
  }

  /** Both sides were cut after the response started (or the client left mid-request). */
  aborted(): void {
    const r = this.#record;
    if (!r) return;
    const phase = r.Tr >= 0 ? 'D' : r.Tc >= 0 ? 'H' : r.Tw >= 0 ? 'C' : 'R';
    this.#end((this.#clientGone || this.#client.destroyed ? 'C' : 'S') + phase);
  }

  /** The connection closed: log a request cut in flight, or a connection that sent nothing. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#record) this.aborted();
    else if (this.#requests === 0 && this.#firstByte === undefined) {
      const r = emptyRecord('http', this.#frontend, this.#idleSince);
      addresses(r, this.#client, this.#original);
      r.Ti = Date.now() - this.#idleSince;
      r.status = 400;
      r.empty = true;
      this.#record = r;
      this.#end('CR');
    }
    this.#counters.connectionClosed(this.#frontend);
  }

  #end(termination: string): void {
    const r = this.#record;
    if (!r) return;
    const now = Date.now();
    r.termination = termination;
    r.Tt = now - this.#idleSince;
    const out = this.#client.bytesWritten ?? 0;
    const inb = this.#client.bytesRead ?? 0;
    r.bytesOut = out - this.#bytesOutMark;
    r.bytesIn = inb - this.#bytesInMark;
    this.#bytesOutMark = out;
    this.#bytesInMark = inb;
    this.#record = undefined;
    this.#firstByte = undefined;
    this.#idleSince = now;
    this.#log.end(r);
  }
}

export class TcpTracker {
  #frontend: string;
  #client: net.Socket;
  #log: TrafficLog;
  #counters: CounterRegistry;
  #record: TrafficRecord;
  #start: number;
  #closed = false;

  constructor(frontend: string, client: net.Socket, log: TrafficLog, counters: CounterRegistry, original?: OriginalAddresses) {
    this.#frontend = frontend;
    this.#client = client;
    this.#log = log;
    this.#counters = counters;
    this.#start = Date.now();
    this.#record = emptyRecord('tcp', frontend, this.#start);
    addresses(this.#record, client, original);
    this.#record.requestLine = '';
    this.#record.TR = 0;
    counters.connectionOpened(frontend);
  }

  dispatched(backend: string): void {
    this.#record.backend = backend;
    this.#start = Date.now();
    this.#record.Tw = -1;
  }

  connected(server: Server, queuedMs: number, retries: number, redispatched: boolean): void {
    const r = this.#record;
    r.server = server.name;
    r.serverIp = server.host;
    r.serverPort = server.port;
    r.Tw = Math.max(0, queuedMs);
    r.Tc = Math.max(0, Date.now() - this.#start - r.Tw);
    r.retries = retries;
    r.redispatched = redispatched;
  }

  #cause: '-' | 'C' | 'S' | 'c' | 's' = '-';

  failed(server: Server | undefined, retries: number): void {
    const r = this.#record;
    r.retries = retries;
    if (!server) return;
    r.server = server.name;
    r.serverIp = server.host;
    r.serverPort = server.port;
    r.Tw = 0;
  }

  /** Why the session is ending: 'C' client error, 'S' server error or refusal, 'c'/'s' client/server timeout. */
  cause(cause: 'C' | 'S' | 'c' | 's'): void {
    if (this.#cause === '-') this.#cause = cause;
  }

  /** The connection ended. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const cause = this.#cause;
    const r = this.#record;
    const phase = cause === '-' ? '-' : r.Tc >= 0 ? 'D' : 'C';
    if (cause === 'S' && r.Tc < 0) r.termination = 'SC';
    else r.termination = cause + phase;
    r.Tt = Date.now() - r.acceptDate;
    r.bytesOut = this.#client.bytesWritten ?? 0;
    r.bytesIn = this.#client.bytesRead ?? 0;
    r.empty = r.bytesIn === 0;
    this.#log.end(r);
    this.#counters.connectionClosed(this.#frontend);
  }
}
