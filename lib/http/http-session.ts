// One client connection in `mode http`: read a request head, decide the backend and server,
// forward the head (edited only where needed) and the body as raw bytes, relay the response
// the same way, then keep the client connection alive for the next request. Requests on one
// connection are served one at a time, in order; pipelined bytes wait in the input buffer.
import type net from 'node:net';
import type { Backend } from '../backend/backend.js';
import type { ServerConnection, ServerConnectionOwner } from '../backend/server-connection.js';
import { ServerDispatch, type DispatchSuccess } from '../backend/server-dispatch.js';
import type { Server } from '../backend/server.js';
import type { ProxyConfig, Timeouts } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { editRequestCookie, editResponseCookie, lookupCookie, type CookieLookup } from '../persist/cookie-persistence.js';
import { errorResponse } from './error-pages.js';
import { HeadEdit, MessageHead } from './message-head.js';
import { findHeadEnd, HttpParseError, MessageParser, type ParsedHead } from './parser.js';

export interface HttpFrontend {
  name: string;
  config: ProxyConfig;
  defaultBackend: Backend | undefined;
  bufsize: number;
  timeouts: Timeouts;
  log: Logger;
  /** called once when the session has fully closed */
  onClose(session: HttpSession): void;
}

type BodyFraming = { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

interface Transaction {
  head: MessageHead;
  parsed: ParsedHead;
  method: string;
  keepAlive: boolean;
  reqBody: BodyFraming;
  reqBodyDone: boolean;
  /** the head as sent to the server, kept to replay on a stale pooled connection */
  outHead: Buffer;
  /** request bytes sent so far after the head; a replay is only possible while this is 0 */
  bodyBytesSent: number;
  backend: Backend;
  cookie: CookieLookup;
  dispatch?: ServerDispatch;
  conn?: ServerConnection;
  server?: Server;
  direct: boolean;
  resHeadBuf: Buffer | undefined;
  resStarted: boolean;
  resBody: BodyFraming | undefined;
  resDone: boolean;
  resKeepAlive: boolean;
  /** the server sent bytes beyond the response: its connection cannot be reused */
  serverTainted: boolean;
  upgrade: boolean;
  /** the server a stick table routed this request to */
  stickServer?: Server;
}

const EMPTY = Buffer.alloc(0);

export class HttpSession implements ServerConnectionOwner {
  #client: net.Socket;
  #fe: HttpFrontend;
  #in: Buffer = EMPTY;
  #reqParser: MessageParser;
  #resParser: MessageParser;
  #tx: Transaction | undefined;
  #requests = 0;
  #headTimer: NodeJS.Timeout | undefined;
  #clientEnded = false;
  #closed = false;
  #tunnel = false;
  #clientPausedForServer = false;
  #serverPausedForClient = false;
  readonly remoteAddress: string;

  constructor(client: net.Socket, fe: HttpFrontend) {
    this.#client = client;
    this.#fe = fe;
    this.#reqParser = new MessageParser('request');
    this.#resParser = new MessageParser('response');
    this.remoteAddress = client.remoteAddress ?? '';
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#onClientData(chunk));
    client.on('end', () => this.#onClientEnd());
    client.on('error', () => this.#close());
    client.on('close', () => this.#close());
    client.on('drain', () => this.#onClientDrain());
    if (fe.timeouts.client !== undefined) {
      client.setTimeout(fe.timeouts.client);
      client.on('timeout', () => this.#onClientTimeout());
    }
    this.#armHeadTimer(fe.timeouts.httpRequest ?? fe.timeouts.client, true);
  }

  /** Stop accepting new requests on this connection; close it now if it is idle. */
  shutdown(): void {
    if (!this.#tx) this.#close();
    else this.#clientEnded = true;
  }

  get idle(): boolean {
    return this.#tx === undefined;
  }

  // ---- request side -------------------------------------------------------------------------

  #onClientData(chunk: Buffer): void {
    if (this.#tunnel) {
      const conn = this.#tx?.conn;
      if (conn && !conn.socket.write(chunk)) this.#pauseClient();
      return;
    }
    this.#in = this.#in.length === 0 ? chunk : Buffer.concat([this.#in, chunk]);
    const tx = this.#tx;
    if (!tx) return this.#readHead();
    if (tx.conn && !tx.reqBodyDone) return this.#pumpRequestBody(tx);
    // Waiting for a server, or pipelined bytes behind a request: bound what we hold.
    if (this.#in.length > this.#fe.bufsize) this.#pauseClient();
  }

  #readHead(): void {
    while (!this.#tx && !this.#closed) {
      if (this.#in.length === 0) return;
      const end = findHeadEnd(this.#in);
      if (end === -1) {
        if (this.#in.length > this.#fe.bufsize) this.#reject(400, 'request head larger than tune.bufsize');
        return;
      }
      if (end > this.#fe.bufsize) return this.#reject(400, 'request head larger than tune.bufsize');
      const rawHead = this.#in.subarray(0, end);
      this.#in = this.#in.subarray(end);
      let parsed: ParsedHead;
      try {
        parsed = this.#reqParser.parseHead(rawHead);
      } catch (err) {
        const why = err instanceof HttpParseError ? err.message : String(err);
        return this.#reject(400, `invalid request: ${why}`);
      }
      this.#clearHeadTimer();
      this.#startTransaction(new MessageHead(rawHead), parsed);
    }
  }

  #startTransaction(head: MessageHead, parsed: ParsedHead): void {
    this.#requests++;
    const backend = this.#fe.defaultBackend;
    const method = parsed.method ?? 'GET';
    const reqBody = requestFraming(head);
    if (!backend) return this.#reject(503, 'no backend');
    const cookieCfg = backend.config.cookie;
    const cookie: CookieLookup = cookieCfg ? lookupCookie(cookieCfg, head, backend.servers) : { state: 'N' };
    const edit = new HeadEdit(head);
    if (cookieCfg) editRequestCookie(cookieCfg, head, edit);
    if (backend.config.options.forwardfor || this.#fe.config.options.forwardfor) {
      edit.append(`X-Forwarded-For: ${clientIp(this.remoteAddress)}`);
    }
    const tx: Transaction = {
      head,
      parsed,
      method,
      keepAlive: parsed.shouldKeepAlive,
      reqBody,
      reqBodyDone: reqBody.kind === 'none',
      outHead: edit.toBuffer(),
      bodyBytesSent: 0,
      backend,
      cookie,
      direct: cookie.state === 'V',
      resHeadBuf: undefined,
      resStarted: false,
      resBody: undefined,
      resDone: false,
      resKeepAlive: false,
      serverTainted: false,
      upgrade: parsed.upgrade,
    };
    this.#tx = tx;
    const stick = backend.stick;
    if (cookie.state === 'V' || !stick) return this.#dispatch(tx, true);
    // Cookie persistence did not decide: a stick table may (HAProxy evaluates stick rules after cookies).
    stick.match({ src: clientIp(this.remoteAddress), request: head }, (server) => {
      if (this.#tx !== tx) return;
      if (server?.usable) tx.stickServer = server;
      this.#dispatch(tx, true);
    });
  }

  #dispatch(tx: Transaction, reuse: boolean): void {
    const dispatch = new ServerDispatch(
      tx.backend,
      {
        persistent: tx.cookie.server ?? tx.stickServer,
        persistentReason: tx.cookie.server ? 'cookie' : 'stick',
        ctx: { clientAddress: this.remoteAddress, uri: requestTarget(tx.head), method: tx.method, header: (n) => tx.head.first(n) },
        reuse,
      },
      {
        connected: (r) => this.#onConnected(tx, r),
        failed: (status, why) => {
          if (this.#tx !== tx) return;
          tx.dispatch = undefined;
          this.#reject(status, why);
        },
      },
    );
    tx.dispatch = dispatch;
    dispatch.start();
  }

  #onConnected(tx: Transaction, r: DispatchSuccess): void {
    if (this.#tx !== tx || this.#closed) {
      r.conn.destroy();
      r.server.release();
      return;
    }
    tx.dispatch = undefined;
    tx.conn = r.conn;
    tx.server = r.server;
    if (r.reason !== 'cookie') tx.direct = false;
    r.conn.attach(this, tx.backend.timeouts.server);
    tx.backend.stick?.storeRequest({ src: clientIp(this.remoteAddress), request: tx.head }, r.server);
    const socket = r.conn.socket;
    socket.cork();
    socket.write(tx.outHead);
    if (!tx.reqBodyDone) this.#pumpRequestBody(tx);
    socket.uncork();
    if (this.#fe.log.debugEnabled) {
      this.#fe.log.debug(`${this.remoteAddress} ${tx.head.startLine} -> ${tx.backend.name}/${r.server.name} (${r.reason}${r.reused ? ', reused' : ''})`);
    }
  }

  /** Moves request body bytes from the input buffer to the server, framed as declared. */
  #pumpRequestBody(tx: Transaction): void {
    const socket = tx.conn!.socket;
    const body = tx.reqBody;
    let take = 0;
    if (body.kind === 'length') {
      take = Math.min(body.remaining, this.#in.length);
      body.remaining -= take;
      if (body.remaining === 0) tx.reqBodyDone = true;
    } else if (body.kind === 'chunked') {
      if (this.#in.length === 0) return;
      try {
        const p = this.#reqParser.feedChunked(this.#in);
        take = p.consumed;
        if (p.done) tx.reqBodyDone = true;
      } catch (err) {
        // The head already went to the server; a malformed body must not follow it.
        this.#fe.log.debug(`invalid request body: ${(err as Error).message}`);
        return this.#abort(tx, 400);
      }
    }
    if (take > 0) {
      const chunk = this.#in.subarray(0, take);
      this.#in = this.#in.subarray(take);
      tx.bodyBytesSent += take;
      if (!socket.write(chunk)) this.#pauseClient();
    }
    if (tx.reqBodyDone && tx.resDone) this.#finish(tx);
    else if (tx.reqBodyDone && this.#in.length > this.#fe.bufsize) this.#pauseClient();
  }

  // ---- response side ------------------------------------------------------------------------

  onServerData(chunk: Buffer): void {
    const tx = this.#tx;
    if (!tx || !tx.conn) return;
    if (this.#tunnel) {
      if (!this.#client.write(chunk)) this.#pauseServer(tx);
      return;
    }
    if (tx.resDone) {
      tx.serverTainted = true;
      return;
    }
    if (tx.resBody === undefined) {
      tx.resHeadBuf = tx.resHeadBuf ? Buffer.concat([tx.resHeadBuf, chunk]) : chunk;
      this.#readResponseHead(tx);
    } else {
      this.#pumpResponseBody(tx, chunk);
    }
  }

  #readResponseHead(tx: Transaction): void {
    while (tx.resBody === undefined && tx.resHeadBuf && tx.resHeadBuf.length > 0) {
      const buf = tx.resHeadBuf;
      const end = findHeadEnd(buf);
      if (end === -1) {
        if (buf.length > this.#fe.bufsize) this.#serverFailed(tx, 502, 'response head larger than tune.bufsize');
        return;
      }
      const rawHead = buf.subarray(0, end);
      const rest = buf.subarray(end);
      let parsed: ParsedHead;
      try {
        parsed = this.#resParser.parseHead(rawHead, tx.method === 'HEAD');
      } catch (err) {
        return this.#serverFailed(tx, 502, `invalid response: ${(err as Error).message}`);
      }
      const status = parsed.statusCode ?? 0;
      if (status >= 100 && status < 200 && status !== 101) {
        // Interim responses (100 Continue, 103 Early Hints) pass through as they are.
        tx.resStarted = true;
        this.#client.write(rawHead);
        tx.resHeadBuf = rest;
        continue;
      }
      tx.resHeadBuf = undefined;
      const head = new MessageHead(rawHead);
      if (status === 101) {
        if (!tx.upgrade) return this.#serverFailed(tx, 502, '101 without an upgrade request');
        return this.#startTunnel(tx, head, rest);
      }
      if (tx.server) tx.backend.stick?.storeResponse({ src: clientIp(this.remoteAddress), request: tx.head }, head, tx.server);
      tx.resBody = responseFraming(head, status, tx.method);
      tx.resKeepAlive = parsed.shouldKeepAlive && tx.resBody.kind !== 'close';
      const edit = new HeadEdit(head);
      const cookieCfg = tx.backend.config.cookie;
      if (cookieCfg && tx.server) {
        editResponseCookie(cookieCfg, head, edit, { server: tx.server, direct: tx.direct, method: tx.method });
      }
      const clientKeepAlive = this.#clientKeepAlive(tx);
      editConnection(head, edit, clientKeepAlive, tx.parsed.versionMinor === 0);
      tx.resStarted = true;
      this.#client.cork();
      this.#client.write(edit.toBuffer());
      if (tx.resBody.kind === 'none') {
        if (rest.length > 0) tx.serverTainted = true;
        this.#responseDone(tx);
      } else if (rest.length > 0) {
        this.#pumpResponseBody(tx, rest);
      }
      this.#client.uncork();
      return;
    }
  }

  #pumpResponseBody(tx: Transaction, chunk: Buffer): void {
    const body = tx.resBody!;
    let out = chunk;
    let done = false;
    if (body.kind === 'length') {
      if (chunk.length >= body.remaining) {
        if (chunk.length > body.remaining) tx.serverTainted = true;
        out = chunk.subarray(0, body.remaining);
        body.remaining = 0;
        done = true;
      } else body.remaining -= chunk.length;
    } else if (body.kind === 'chunked') {
      try {
        const p = this.#resParser.feedChunked(chunk);
        if (p.consumed < chunk.length) tx.serverTainted = true;
        out = chunk.subarray(0, p.consumed);
        done = p.done;
      } catch (err) {
        // A malformed chunk from the server: the client must not get it as if valid.
        this.#fe.log.debug(`invalid response body from server: ${(err as Error).message}`);
        return this.#abort(tx);
      }
    }
    if (out.length > 0 && !this.#client.write(out)) this.#pauseServer(tx);
    if (done) this.#responseDone(tx);
  }

  onServerEnd(): void {
    const tx = this.#tx;
    if (!tx) return;
    if (this.#tunnel) {
      this.#client.end();
      return;
    }
    if (tx.resBody?.kind === 'close') {
      tx.resKeepAlive = false;
      this.#responseDone(tx);
      return;
    }
    this.#serverGone(tx, 'server closed the connection');
  }

  onServerError(err: Error): void {
    const tx = this.#tx;
    if (!tx) return;
    if (this.#tunnel) return this.#close();
    this.#serverGone(tx, `server connection error: ${err.message}`);
  }

  onServerTimeout(): void {
    const tx = this.#tx;
    if (!tx) return;
    if (this.#tunnel) return this.#close();
    if (!tx.resStarted) return this.#serverFailed(tx, 504, 'timeout server');
    this.#abort(tx);
  }

  onServerDrain(): void {
    this.#resumeClient();
  }

  #serverGone(tx: Transaction, why: string): void {
    // A pooled connection the server had already closed: replay once on a fresh connection,
    // which is safe because the server saw nothing of this request's body.
    if (!tx.resStarted && tx.resHeadBuf === undefined && tx.conn && tx.conn.uses > 1 && tx.bodyBytesSent === 0) {
      const conn = tx.conn;
      tx.conn = undefined;
      conn.destroy();
      tx.server?.release();
      tx.server = undefined;
      this.#dispatch(tx, false);
      return;
    }
    if (!tx.resStarted) return this.#serverFailed(tx, 502, why);
    this.#abort(tx);
  }

  #serverFailed(tx: Transaction, status: number, why: string): void {
    this.#fe.log.debug(`${tx.backend.name}/${tx.server?.name ?? '-'}: ${why}`);
    if (tx.resStarted) return this.#abort(tx);
    this.#reject(status, why);
  }

  #responseDone(tx: Transaction): void {
    tx.resDone = true;
    if (tx.reqBodyDone) this.#finish(tx);
    else {
      // The server answered before the request body ended: neither side can be reused.
      tx.keepAlive = false;
      tx.resKeepAlive = false;
      this.#finish(tx);
    }
  }

  #finish(tx: Transaction): void {
    if (this.#tx !== tx) return;
    const conn = tx.conn;
    if (conn) {
      conn.detach();
      if (tx.resKeepAlive && tx.reqBodyDone && !tx.serverTainted && !conn.closed) conn.park(tx.backend.timeouts.httpKeepAlive ?? tx.backend.timeouts.server);
      else conn.destroy();
    }
    if (this.#serverPausedForClient) this.#serverPausedForClient = false;
    tx.server?.release();
    tx.conn = undefined;
    tx.server = undefined;
    const keepAlive = this.#clientKeepAlive(tx) && tx.reqBodyDone;
    this.#tx = undefined;
    if (!keepAlive) {
      this.#client.end();
      this.#closeSoon();
      return;
    }
    this.#resumeClient();
    this.#armHeadTimer(this.#fe.timeouts.httpKeepAlive ?? this.#fe.timeouts.httpRequest ?? this.#fe.timeouts.client, false);
    if (this.#in.length > 0) this.#readHead();
  }

  #clientKeepAlive(tx: Transaction): boolean {
    if (!tx.keepAlive || this.#clientEnded) return false;
    if (tx.resBody?.kind === 'close') return false;
    return true;
  }

  // ---- tunnel (101 Switching Protocols) -----------------------------------------------------

  #startTunnel(tx: Transaction, head: MessageHead, rest: Buffer): void {
    this.#tunnel = true;
    tx.resStarted = true;
    const conn = tx.conn!;
    const tunnelTimeout = tx.backend.timeouts.tunnel ?? this.#fe.timeouts.tunnel;
    if (tunnelTimeout !== undefined) {
      conn.socket.setTimeout(tunnelTimeout);
      this.#client.setTimeout(tunnelTimeout);
    }
    const edit = new HeadEdit(head);
    this.#client.write(edit.toBuffer());
    if (rest.length > 0) this.#client.write(rest);
    if (this.#in.length > 0) {
      conn.socket.write(this.#in);
      this.#in = EMPTY;
    }
    this.#resumeClient();
  }

  // ---- client events, flow control, teardown ------------------------------------------------

  #onClientEnd(): void {
    this.#clientEnded = true;
    const tx = this.#tx;
    if (this.#tunnel) {
      tx?.conn?.socket.end();
      return;
    }
    if (!tx) {
      // A FIN with a partial head: HAProxy answers 400; an idle keep-alive connection just closes.
      if (this.#in.length > 0) return this.#reject(400, 'client closed with a partial request');
      return this.#close();
    }
    if (!tx.reqBodyDone) return this.#abort(tx);
    // The request is complete: answer it, then close.
  }

  #onClientTimeout(): void {
    const tx = this.#tx;
    if (this.#tunnel) return;
    if (!tx) {
      if (this.#fe.timeouts.httpRequest === undefined) this.#reject(408, 'timeout client');
      return;
    }
    if (!tx.reqBodyDone || this.#client.writableNeedDrain) this.#abort(tx);
  }

  #onClientDrain(): void {
    const tx = this.#tx;
    if (this.#serverPausedForClient && tx?.conn) {
      this.#serverPausedForClient = false;
      tx.conn.socket.resume();
    }
  }

  #pauseClient(): void {
    if (!this.#clientPausedForServer) {
      this.#clientPausedForServer = true;
      this.#client.pause();
    }
  }

  #resumeClient(): void {
    if (this.#clientPausedForServer) {
      this.#clientPausedForServer = false;
      this.#client.resume();
    }
  }

  #pauseServer(tx: Transaction): void {
    if (!this.#serverPausedForClient && tx.conn) {
      this.#serverPausedForClient = true;
      tx.conn.socket.pause();
    }
  }

  #armHeadTimer(ms: number | undefined, firstRequest: boolean): void {
    this.#clearHeadTimer();
    if (ms === undefined) return;
    this.#headTimer = setTimeout(() => {
      this.#headTimer = undefined;
      if (this.#tx || this.#closed) return;
      // An idle keep-alive connection closes quietly; a started or first request gets 408.
      if (this.#in.length > 0 || (firstRequest && this.#requests === 0)) this.#reject(408, 'timeout http-request');
      else this.#close();
    }, ms);
  }

  #clearHeadTimer(): void {
    if (this.#headTimer) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
  }

  /** Answers with a generated error page and closes; nothing more is read from the client. */
  #reject(status: number, why: string): void {
    if (this.#closed) return;
    this.#fe.log.debug(`${this.remoteAddress}: ${status} (${why})`);
    const tx = this.#tx;
    if (tx) this.#releaseServerSide(tx, false);
    this.#tx = undefined;
    this.#in = EMPTY;
    this.#clearHeadTimer();
    this.#client.removeAllListeners('data');
    this.#client.end(errorResponse(status));
    this.#closeSoon();
  }

  /** Something broke after the response started: both sides are cut. */
  #abort(tx: Transaction, status?: number): void {
    if (status !== undefined && !tx.resStarted) return this.#reject(status, 'aborted');
    this.#releaseServerSide(tx, false);
    this.#tx = undefined;
    this.#close();
  }

  #releaseServerSide(tx: Transaction, reusable: boolean): void {
    tx.dispatch?.cancel();
    tx.dispatch = undefined;
    if (tx.conn) {
      if (reusable) tx.conn.park(undefined);
      else tx.conn.destroy();
      tx.conn = undefined;
    }
    if (tx.server) {
      tx.server.release();
      tx.server = undefined;
    }
  }

  /** Gives a half-closed client a moment to read what was sent, then frees everything. */
  #closeSoon(): void {
    const t = setTimeout(() => this.#close(), 5000);
    t.unref();
    this.#client.once('close', () => clearTimeout(t));
  }

  /** Closes now, whatever is in flight (the end of a shutdown's grace period). */
  close(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reqParser.destroy();
    this.#resParser.destroy();
    this.#clearHeadTimer();
    const tx = this.#tx;
    if (tx) this.#releaseServerSide(tx, false);
    this.#tx = undefined;
    this.#in = EMPTY;
    this.#client.destroy();
    this.#fe.onClose(this);
  }
}

function requestFraming(head: MessageHead): BodyFraming {
  // llhttp already refused CL with TE, duplicate or bad CL, and a final encoding other than chunked.
  if (head.has('transfer-encoding')) return { kind: 'chunked' };
  const cl = head.first('content-length');
  if (cl !== undefined) {
    const n = Number(cl);
    return n > 0 ? { kind: 'length', remaining: n } : { kind: 'none' };
  }
  return { kind: 'none' };
}

function responseFraming(head: MessageHead, status: number, method: string): BodyFraming {
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return { kind: 'none' };
  if (head.has('transfer-encoding')) {
    const te = head.tokens('transfer-encoding');
    return te[te.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = head.first('content-length');
  if (cl !== undefined) {
    const n = Number(cl);
    return n > 0 ? { kind: 'length', remaining: n } : { kind: 'none' };
  }
  return { kind: 'close' };
}

/**
 * Makes the response's Connection header say what limpet will do with the client connection,
 * which may differ from what the server does with its own (HAProxy manages each side apart).
 */
function editConnection(head: MessageHead, edit: HeadEdit, keepAlive: boolean, http10Client: boolean): void {
  let hasClose = false;
  let hasKeepAlive = false;
  for (const h of head.headers) {
    if (h.name !== 'connection') continue;
    const tokens = head.value(h).toLowerCase().split(',').map((t) => t.trim()).filter(Boolean);
    const others = tokens.filter((t) => t !== 'close' && t !== 'keep-alive');
    const wrong = keepAlive ? tokens.includes('close') : tokens.includes('keep-alive');
    if (wrong) {
      if (others.length === 0) edit.drop(h);
      else edit.replace(h, `Connection: ${others.join(', ')}`);
    } else {
      hasClose ||= tokens.includes('close');
      hasKeepAlive ||= tokens.includes('keep-alive');
    }
  }
  if (!keepAlive && !hasClose && !http10Client) edit.append('Connection: close');
  if (keepAlive && http10Client && !hasKeepAlive) edit.append('Connection: keep-alive');
}

/** The target of a request line: `GET /a?b HTTP/1.1` gives `/a?b`. */
function requestTarget(head: MessageHead): string {
  const line = head.startLine;
  const sp = line.indexOf(' ');
  return line.slice(sp + 1, line.lastIndexOf(' '));
}

function clientIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
