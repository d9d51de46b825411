// One client connection in `mode http`: read a request head, decide the backend and server,
// forward the head (edited only where needed) and the body as raw bytes, relay the response
// the same way, then keep the client connection alive for the next request. Requests on one
// connection are served one at a time, in order; pipelined bytes wait in the input buffer.
// Each side's connection is managed apart, as in HAProxy: the client may keep its connection
// while the server's closes, and the reverse; Connection and the other hop-by-hop fields are
// rewritten per side.
import type net from 'node:net';
import type { Backend } from '../backend/backend.js';
import type { ServerConnection, ServerConnectionOwner } from '../backend/server-connection.js';
import { l7RetryTarget, mayRetryResponse, type RetryCause, type RetryTarget } from '../backend/l7-retry.js';
import { ServerDispatch, type DispatchOptions, type DispatchSuccess } from '../backend/server-dispatch.js';
import type { Server } from '../backend/server.js';
import type { ProxyConfig, Timeouts } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import type { LocalResponder } from '../observe/observer.js';
import type { LocalResponse } from '../observe/stats-page.js';
import { saysClose, withConnection } from '../rules/responses.js';
import type { HttpTracker, TrafficHooks } from '../observe/traffic-tracker.js';
import { editRequestCookie, editResponseCookie, lookupCookie, persistRuleFor, type CookieLookup } from '../persist/cookie-persistence.js';
import { postBodyToScan, wantsPostBody } from '../balance/post-body.js';
import { errorResponse } from './error-pages.js';
import { DEFAULT_MAXHDR, hopByHopLines, requestHeadProblem, responseHeadProblem } from './head-rules.js';
import { HeadEdit, MessageHead } from './message-head.js';
import type { HttpRules, RequestVerdict, RuleTransaction } from '../rules/http-rules.js';
import { socketAddresses, type ProxiedAddresses } from '../tcp/proxy-protocol.js';
import { findHeadEnd, HttpParseError, MessageParser, type ParsedHead } from './parser.js';

export interface HttpFrontend {
  name: string;
  config: ProxyConfig;
  defaultBackend: Backend | undefined;
  bufsize: number;
  /** tune.http.maxhdr (default 101) */
  maxhdr?: number;
  timeouts: Timeouts;
  log: Logger;
  /** called once when the session has fully closed */
  onClose(session: HttpSession): void;
  /** logs and counters (lib/observe): told of each request's steps */
  traffic?: TrafficHooks;
  /** requests limpet answers itself (the stats page), asked before any rule or backend */
  localResponse?: LocalResponder;
  /** acl, use_backend, http-request/-response rules (lib/rules); absent when the config has none */
  rules?: HttpRules;
}

type BodyFraming = { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

interface Transaction {
  head: MessageHead;
  /** the rules' state for this request, handed back to their response side */
  rules?: RuleTransaction;
  /** the server a use-server rule chose: it wins over cookie and stick persistence */
  forcedServer?: Server;
  /** `retry-on` response retries done, and where the next attempt goes (lib/backend/l7-retry) */
  l7Retries?: number;
  l7Target?: RetryTarget;
  parsed: ParsedHead;
  method: string;
  /** the client asked to keep its connection (llhttp's reading of version and Connection) */
  keepAlive: boolean;
  /** the client speaks HTTP/1.0: no chunked, no 1xx, keep-alive only when asked */
  http10: boolean;
  reqBody: BodyFraming;
  reqBodyDone: boolean;
  /** the head as sent to the server, kept to replay on a stale pooled connection */
  outHead: Buffer;
  /** body bytes sent on a reused connection, kept (up to tune.bufsize) to replay them */
  sentBody: Buffer[] | undefined;
  sentBodyBytes: number;
  /** request bytes sent after the head on this attempt */
  bodyBytesSent: number;
  backend: Backend;
  /** HAProxy's http-server-close / httpclose: the server connection closes after this request */
  serverClose: boolean;
  /** HAProxy's httpclose: the client connection closes after this request */
  clientClose: boolean;
  cookie: CookieLookup;
  dispatch?: ServerDispatch;
  conn?: ServerConnection;
  reused: boolean;
  server?: Server;
  direct: boolean;
  resHeadBuf: Buffer | undefined;
  resStarted: boolean;
  resBody: BodyFraming | undefined;
  resDone: boolean;
  resKeepAlive: boolean;
  /** what the response head told the client about its connection */
  clientKeepAlive: boolean;
  /** a chunked response to an HTTP/1.0 client: forwarded decoded, delimited by close */
  dechunk: boolean;
  /** the server sent bytes beyond the response: its connection cannot be reused */
  serverTainted: boolean;
  upgrade: boolean;
  /** the server a stick table routed this request to */
  stickServer?: Server;
}

/** Response body bytes for the client, and whether they end the response. */
interface ResponseSlice {
  out: Buffer[];
  done: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Below this, a head and the body bytes that came with it are joined into one write. */
const SMALL = 8192;
/** HAProxy's default pool-purge-delay: how long an idle server connection is kept. */
const POOL_PURGE_DELAY = 5000;
/** How long a client whose connection limpet ended has to read what was sent before it is cut. */
const CLOSE_SOON_MS = 5000;
const CR = 13;
const LF = 10;

export class HttpSession implements ServerConnectionOwner {
  #client: net.Socket;
  #fe: HttpFrontend;
  #in: Buffer = EMPTY;
  /** taken from the shared pool for a message in flight, given back when it is done */
  #reqParser: MessageParser | undefined;
  #resParser: MessageParser | undefined;
  #tx: Transaction | undefined;
  #requests = 0;
  #headTimer: NodeJS.Timeout | undefined;
  /** when the running head timer fires (ms since epoch; Infinity when none runs) */
  #headTimerFires = Infinity;
  /** when the awaited request head is late (ms since epoch) */
  #headDue = 0;
  /** the head timer counts: a request head is awaited */
  #headTimerArmed = false;
  /** the head timer runs for an idle keep-alive connection (not yet for a started request) */
  #headTimerIdle = false;
  #clientEnded = false;
  #stopping = false;
  #closed = false;
  #closingSoon = false;
  /** a response head was read from the server data being handled (it may be kept) */
  #headFromServer = false;
  #tunnel = false;
  #clientPausedForServer = false;
  #serverPausedForClient = false;
  /** `http-reuse never`: this client's idle server connection, kept for it alone */
  #ownConn: ServerConnection | undefined;
  /** `balance url_param ... check_post`: the dispatch waiting for more of the request body */
  #awaitingBody: (() => void) | undefined;
  readonly remoteAddress: string;
  /** client and frontend addresses for a server's send-proxy header (read once, when first needed) */
  #addresses: ProxiedAddresses | undefined;
  #traffic: HttpTracker | undefined;
  /** an answer limpet makes itself is on its way (stats gathered from every worker): read nothing more until it is sent */
  #localPending = false;

  /**
   * `opts.remoteAddress`: the client's address when a PROXY header gave it (accept-proxy);
   * `opts.addresses`: all the addresses that header gave.
   */
  constructor(client: net.Socket, fe: HttpFrontend, opts: { remoteAddress?: string | undefined; addresses?: ProxiedAddresses | undefined } = {}) {
    this.#client = client;
    this.#fe = fe;
    this.#traffic = fe.traffic?.http(client, opts.addresses);
    this.remoteAddress = opts.remoteAddress ?? client.remoteAddress ?? '';
    this.#addresses = opts.addresses;
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
    this.#armHeadTimer(fe.timeouts.httpRequest ?? fe.timeouts.client, false);
  }

  /** Stop accepting new requests on this connection; close it now if it is idle. */
  shutdown(closeIdle = true): void {
    this.#stopping = true;
    // A reload keeps an idle connection until its next request, answered with `Connection:
    // close`: closing it now could cross a request the client is sending.
    if (!this.#tx && !this.#localPending && closeIdle) this.#close();
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
    const wasEmpty = this.#in.length === 0;
    this.#in = wasEmpty ? chunk : Buffer.concat([this.#in, chunk]);
    const tx = this.#tx;
    if (!tx) {
      // The first byte of a request after an idle keep-alive wait: `timeout http-request` now.
      if (wasEmpty && this.#headTimerIdle) this.#armHeadTimer(this.#fe.timeouts.httpRequest ?? this.#fe.timeouts.client, false);
      return this.#readHead();
    }
    if (this.#awaitingBody) return this.#awaitingBody();
    if (tx.conn && !tx.reqBodyDone) return this.#pumpRequestBody(tx);
    // Waiting for a server, or pipelined bytes behind a request: bound what we hold.
    if (this.#in.length > this.#fe.bufsize) this.#pauseClient();
  }

  /** HAProxy keeps tune.maxrewrite (1024, at most half the buffer) free for head edits. */
  get #maxHead(): number {
    const bufsize = this.#fe.bufsize;
    return bufsize - Math.min(1024, bufsize >> 1);
  }

  #readHead(): void {
    while (!this.#tx && !this.#closed && !this.#localPending) {
      // RFC 9112 2.2: empty lines before a request line are ignored (some clients send a CRLF after a body).
      let skip = 0;
      while (skip < this.#in.length && (this.#in[skip] === CR || this.#in[skip] === LF)) skip++;
      if (skip > 0) this.#in = this.#in.subarray(skip);
      if (this.#in.length === 0) {
        if (this.#clientEnded) this.#endClient();
        return;
      }
      const end = findHeadEnd(this.#in);
      if (end === -1) {
        if (this.#in.length > this.#maxHead) this.#reject(400, 'request head larger than tune.bufsize');
        else if (this.#clientEnded) this.#reject(400, 'client closed with a partial request');
        return;
      }
      if (end > this.#maxHead) return this.#reject(400, 'request head larger than tune.bufsize');
      const rawHead = this.#in.subarray(0, end);
      this.#in = this.#in.subarray(end);
      let parsed: ParsedHead;
      try {
        parsed = (this.#reqParser ??= MessageParser.take('request')).parseHead(rawHead);
      } catch (err) {
        const why = err instanceof HttpParseError ? err.message : String(err);
        return this.#reject(400, `invalid request: ${why}`);
      }
      const head = new MessageHead(rawHead);
      const problem = requestHeadProblem(head, parsed, this.#fe.maxhdr ?? DEFAULT_MAXHDR);
      if (problem) return this.#reject(400, `invalid request: ${problem}`);
      // HAProxy refuses a payload on an HTTP/1.0 GET, HEAD or DELETE with 413: an HTTP/1.0
      // server may not expect one and would read it as the next request.
      if (parsed.versionMinor === 0 && (parsed.method === 'GET' || parsed.method === 'HEAD' || parsed.method === 'DELETE') && requestFraming(head).kind !== 'none') {
        return this.#reject(413, 'payload on an HTTP/1.0 GET, HEAD or DELETE');
      }
      this.#disarmHeadTimer();
      this.#startTransaction(head, parsed);
    }
  }

  #startTransaction(head: MessageHead, parsed: ParsedHead): void {
    this.#requests++;
    const local = this.#fe.localResponse?.({ method: parsed.method ?? 'GET', target: requestTarget(head), authorization: head.first('authorization') });
    if (local) return local instanceof Promise ? this.#answerLater(local, head) : this.#respondLocally(local.status, local.bytes, head);
    let backend = this.#fe.defaultBackend;
    const verdict = this.#fe.rules?.onRequest(
      { src: clientIp(this.remoteAddress), srcPort: this.#client.remotePort ?? 0, dst: clientIp(this.#client.localAddress ?? ''), dstPort: this.#client.localPort ?? 0 },
      head,
    );
    if (verdict) {
      if (verdict.respond) return this.#answerRequestRule(verdict, head, parsed);
      head = verdict.head;
      backend = verdict.backend;
    }
    // set-method may have changed it, and the response is framed by what the server was asked
    const method = verdict ? verdict.txn.ctx.req.method : parsed.method ?? 'GET';
    const reqBody = requestFraming(head);
    if (!backend) return this.#reject(503, 'no backend');
    const modes = [this.#fe.config.httpConnMode, backend.config.httpConnMode];
    const clientClose = modes.includes('close');
    const serverClose = clientClose || modes.includes('server-close');
    const cookieCfg = backend.config.cookie;
    const cookie: CookieLookup = cookieCfg ? lookupCookie(cookieCfg, head, backend.servers, { persist: backend.config.options.persist, ...persistRuleFor(backend, verdict?.txn.ctx) }) : { state: 'N' };
    this.#traffic?.request(head.startLine, backend.name, cookieCfg ? cookie.state : undefined);
    const http10 = parsed.versionMinor === 0;
    const upgrade = parsed.upgrade && method !== 'CONNECT';
    const edit = new HeadEdit(head);
    for (const h of hopByHopLines(head, upgrade ? 'upgrade' : undefined)) edit.drop(h);
    if (cookieCfg) editRequestCookie(cookieCfg, head, edit);
    // Say what we want of the server connection, whatever the client said of its own.
    if (upgrade) edit.append('Connection: upgrade');
    else if (serverClose) edit.append('Connection: close');
    else if (http10) edit.append('Connection: keep-alive');
    if (!this.#fe.rules && (backend.config.options.forwardfor || this.#fe.config.options.forwardfor)) {
      edit.append(`X-Forwarded-For: ${clientIp(this.remoteAddress)}`);
    }
    const tx: Transaction = {
      head,
      parsed,
      method,
      keepAlive: parsed.shouldKeepAlive,
      http10,
      reqBody,
      reqBodyDone: reqBody.kind === 'none',
      outHead: edit.toBuffer(),
      sentBody: undefined,
      sentBodyBytes: 0,
      bodyBytesSent: 0,
      backend,
      serverClose,
      clientClose,
      cookie,
      reused: false,
      direct: cookie.server !== undefined,
      resHeadBuf: undefined,
      resStarted: false,
      resBody: undefined,
      resDone: false,
      resKeepAlive: false,
      clientKeepAlive: false,
      dechunk: false,
      serverTainted: false,
      upgrade: parsed.upgrade,
      // Every field present from the start (no spreads): one object shape for every request.
      rules: verdict?.txn,
      forcedServer: verdict?.server,
      l7Retries: undefined,
      l7Target: undefined,
      dispatch: undefined,
      conn: undefined,
      server: undefined,
      stickServer: undefined,
    };
    this.#tx = tx;
    const stick = backend.stick;
    if (tx.forcedServer || cookie.state === 'V' || !stick) return this.#dispatch(tx, true);
    // Cookie persistence did not decide: a stick table may (HAProxy evaluates stick rules after cookies).
    stick.match({ src: clientIp(this.remoteAddress), request: head, sample: tx.rules?.ctx }, (server) => {
      if (this.#tx !== tx) return;
      if (server?.usable) tx.stickServer = server;
      this.#dispatch(tx, true);
    });
  }

  /**
   * An answer made by http-request rules (deny, return, auth, redirect, use-service, monitor-uri).
   * As in HAProxy 2.6, the connection goes on after it when the whole request is already in (its
   * body, if any, within what HAProxy's buffer holds): that body is dropped unread, never parsed
   * as a request. A body still on its way, or one larger than the buffer, ends the connection
   * after the answer, which then says `connection: close`; so does a redirect of any request
   * with a body.
   */
  #answerRequestRule(verdict: RequestVerdict, head: MessageHead, parsed: ParsedHead): void {
    const status = verdict.status ?? 200;
    const http10 = parsed.versionMinor === 0;
    let keep = verdict.keepAlive === true && parsed.shouldKeepAlive && !this.#stopping && this.#fe.config.httpConnMode !== 'close';
    const framing = requestFraming(head);
    if (framing.kind !== 'none') {
      const whole = keep && !verdict.redirect ? this.#wholeBody(head, framing, this.#in, this.#reqParser!) : undefined;
      if (whole === undefined) keep = false;
      else this.#in = this.#in.subarray(whole);
    }
    const isHead = parsed.method === 'HEAD';
    if (verdict.later) return this.#answerLater(verdict.later, head, { keep, http10, isHead });
    const page = answerBytes(verdict.respond!, keep, http10, isHead);
    if (!keep) return this.#reject(status, 'answered by http-request rules', page);
    this.#client.write(page);
    this.#traffic?.local(head.startLine, status);
    this.#armHeadTimer(this.#fe.timeouts.httpKeepAlive ?? this.#fe.timeouts.httpRequest ?? this.#fe.timeouts.client, true);
    // #readHead goes on with the next request
  }

  /**
   * How many bytes at the start of `buf` complete the body framed by `framing`, when all of it
   * is there and HAProxy's buffer would hold the whole message (else undefined: HAProxy has not
   * read it all either). A malformed chunked body counts as not there.
   */
  #wholeBody(head: MessageHead, framing: BodyFraming, buf: Buffer, parser: MessageParser): number | undefined {
    let take: number;
    let payload: number;
    if (framing.kind === 'length') {
      if (buf.length < framing.remaining) return undefined;
      take = payload = framing.remaining;
    } else if (framing.kind === 'chunked') {
      let decoded = 0;
      try {
        const p = parser.feedChunked(buf, (data) => (decoded += data.length));
        if (!p.done) return undefined;
        take = p.consumed;
      } catch {
        return undefined;
      }
      payload = decoded + CHUNKED_EXTRA;
    } else return framing.kind === 'none' ? 0 : undefined;
    return bufferedSize(head, payload) <= this.#maxHead - HTX_OVERHEAD ? take : undefined;
  }

  /** Which idle connections this request may take, following `http-reuse` (HAProxy's meaning). */
  #reuseFor(tx: Transaction, allowed: boolean): DispatchOptions['reuse'] {
    if (!allowed || tx.serverClose) return 'none';
    const first = this.#requests === 1;
    switch (tx.backend.config.httpReuse ?? 'safe') {
      case 'never':
        return 'none';
      case 'safe':
        // A first request goes on a fresh connection, so a server closing an idle one can
        // only ever hurt a request that the client knows it may retry.
        return first ? 'none' : 'any';
      case 'aggressive':
        return first ? 'proven' : 'any';
      case 'always':
        return 'any';
    }
  }

  /**
   * The connection held for this client alone (`http-reuse never`, or one whose send-proxy
   * header names this client): offered first whatever the mode, unless no reuse is allowed.
   */
  #takeOwnConn(tx: Transaction, allowed: boolean): ServerConnection | undefined {
    if (!allowed || tx.serverClose) return undefined;
    const own = this.#ownConn;
    this.#ownConn = undefined;
    return own;
  }

  /** What a send-proxy header says of this client: the PROXY-resolved client and frontend addresses. */
  #clientAddresses(): ProxiedAddresses | undefined {
    return (this.#addresses ??= socketAddresses(this.#client));
  }

  /**
   * `balance url_param ... check_post` (lib/balance/post-body.ts): a POST the balancer places is
   * held until its body is in or the buffer is full; null while waiting. HAProxy answers
   * `Expect: 100-continue` itself then, or the client would wait for the server.
   */
  #postBody(tx: Transaction, reuseAllowed: boolean): Buffer | undefined | null {
    this.#awaitingBody = undefined;
    if (tx.l7Target || tx.forcedServer || tx.cookie.server || tx.stickServer) return undefined;
    if (!wantsPostBody(tx.backend.config.balance, tx.method, requestTarget(tx.head))) return undefined;
    const body = postBodyToScan(tx.reqBody, this.#in, this.#fe.bufsize);
    if (body) return body;
    if (this.#in.length === 0 && !tx.http10 && /^\s*100-continue\s*$/i.test(tx.head.first('expect') ?? '')) {
      this.#client.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.#awaitingBody = () => {
      if (this.#tx === tx) this.#dispatch(tx, reuseAllowed);
    };
    return null;
  }

  #dispatch(tx: Transaction, reuseAllowed: boolean): void {
    const body = this.#postBody(tx, reuseAllowed);
    if (body === null) return;
    const head = tx.head;
    const dispatch = new ServerDispatch(
      tx.backend,
      {
        persistent: tx.l7Target ? ('same' in tx.l7Target ? tx.l7Target.same : undefined) : (tx.forcedServer ?? tx.cookie.server ?? tx.stickServer),
        avoid: tx.l7Target && 'avoid' in tx.l7Target ? tx.l7Target.avoid : undefined,
        persistentReason: tx.cookie.server && !tx.forcedServer ? 'cookie' : 'stick',
        forcePersist: tx.cookie.forced === true && !tx.forcedServer,
        ctx: { clientAddress: this.remoteAddress, uri: requestTarget(head), method: tx.method, header: (n) => head.first(n), body: body ?? undefined },
        // read only for a send-proxy server: getpeername and getsockname cost on every new client
        clientAddresses: hasSendProxyServer(tx.backend) ? this.#clientAddresses() : undefined,
        reuse: this.#reuseFor(tx, reuseAllowed),
        own: this.#takeOwnConn(tx, reuseAllowed),
        reusedReads: true,
      },
      {
        connected: (r) => this.#onConnected(tx, r),
        failed: (status, why, attempt) => {
          if (this.#tx !== tx) return;
          this.#traffic?.failed(attempt?.server, attempt?.retries ?? 0);
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
    this.#traffic?.connected(r.server, r.queuedMs ?? 0, r.retries ?? 0, r.reason === 'redispatch');
    tx.reused = r.reused;
    tx.bodyBytesSent = 0;
    if (r.reason !== 'cookie') tx.direct = false;
    r.conn.attach(this, tx.backend.timeouts.server);
    tx.backend.stick?.storeRequest({ src: clientIp(this.remoteAddress), request: tx.head, sample: tx.rules?.ctx }, r.server);
    const replay = tx.sentBody;
    // Keep what is sent on a reused connection: if the server closed it meanwhile, it is replayed
    // (and for `retry-on`, whatever the connection).
    tx.sentBody = r.reused || (retriesResponses(tx.backend) && mayRetryResponse(tx.backend, tx.method)) ? [] : undefined;
    tx.sentBodyBytes = 0;
    // Validate the body bytes already here before anything goes out: a malformed chunk must
    // not reach the server behind a head it would then wait on.
    const body = tx.reqBodyDone ? EMPTY : this.#takeRequestBody(tx);
    if (body === undefined) return;
    const socket = r.conn.socket;
    if (!replay && body.length === 0) {
      if (!socket.write(tx.outHead)) this.#pauseClient();
    } else if (!replay && body.length <= SMALL && !tx.sentBody) {
      tx.bodyBytesSent += body.length;
      if (!socket.write(Buffer.concat([tx.outHead, body]))) this.#pauseClient();
    } else {
      socket.cork();
      socket.write(tx.outHead);
      if (replay) for (const b of replay) this.#sendBody(tx, b);
      if (body.length > 0) this.#sendBody(tx, body);
      socket.uncork();
    }
    if (this.#fe.log.debugEnabled) {
      this.#fe.log.debug(`${this.remoteAddress} ${tx.head.startLine} -> ${tx.backend.name}/${r.server.name} (${r.reason}${r.reused ? ', reused' : ''})`);
    }
    this.#afterRequestBody(tx);
  }

  /** Moves request body bytes from the input buffer to the server, framed as declared. */
  #pumpRequestBody(tx: Transaction): void {
    const body = this.#takeRequestBody(tx);
    if (body === undefined) return;
    if (body.length > 0) this.#sendBody(tx, body);
    this.#afterRequestBody(tx);
  }

  /** The next slice of the request body in the input buffer; undefined when it was malformed (handled). */
  #takeRequestBody(tx: Transaction): Buffer | undefined {
    const body = tx.reqBody;
    let take = 0;
    if (body.kind === 'length') {
      take = Math.min(body.remaining, this.#in.length);
      body.remaining -= take;
      if (body.remaining === 0) tx.reqBodyDone = true;
    } else if (body.kind === 'chunked') {
      if (this.#in.length === 0) return EMPTY;
      try {
        const p = this.#reqParser!.feedChunked(this.#in);
        take = p.consumed;
        if (p.done) tx.reqBodyDone = true;
      } catch (err) {
        this.#fe.log.debug(`invalid request body: ${(err as Error).message}`);
        this.#abort(tx, 400);
        return undefined;
      }
    }
    if (take === 0) return EMPTY;
    const all = this.#in;
    // Most upload reads are body from end to end: passed on as they are, no slices made.
    if (take === all.length) {
      this.#in = EMPTY;
      return all;
    }
    this.#in = all.subarray(take);
    return all.subarray(0, take);
  }

  #sendBody(tx: Transaction, chunk: Buffer): void {
    const conn = tx.conn!;
    tx.bodyBytesSent += chunk.length;
    if (tx.sentBody) {
      tx.sentBodyBytes += chunk.length;
      if (tx.sentBodyBytes > this.#fe.bufsize) tx.sentBody = undefined; // too much to keep: no replay
      else tx.sentBody.push(chunk);
    }
    if (!conn.socket.write(chunk)) this.#pauseClient();
  }

  #afterRequestBody(tx: Transaction): void {
    if (tx.reqBodyDone && tx.resDone) this.#finish(tx);
    else if (tx.reqBodyDone && this.#in.length > this.#fe.bufsize) this.#pauseClient();
  }

  // ---- response side ------------------------------------------------------------------------

  /** True when nothing of `chunk` is kept: the server connection may read into its memory again. */
  onServerData(chunk: Buffer): boolean {
    this.#headFromServer = false;
    const tx = this.#tx;
    this.#serverData(chunk);
    // Kept: a client write still queued, a partial head, or a parsed head that rules or hooks may hold.
    return this.#client.writableLength === 0 && tx?.resHeadBuf === undefined && !this.#headFromServer;
  }

  #serverData(chunk: Buffer): void {
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
        if (buf.length > this.#maxHead) this.#serverFailed(tx, 502, 'response head larger than tune.bufsize');
        return;
      }
      if (end > this.#maxHead) return this.#serverFailed(tx, 502, 'response head larger than tune.bufsize');
      const rawHead = buf.subarray(0, end);
      const rest = buf.subarray(end);
      this.#headFromServer = true;
      let parsed: ParsedHead;
      try {
        parsed = (this.#resParser ??= MessageParser.take('response')).parseHead(rawHead, tx.method === 'HEAD');
      } catch (err) {
        tx.resHeadBuf = undefined;
        if (this.#retryL7(tx, 'junk-response')) return;
        return this.#serverFailed(tx, 502, `invalid response: ${(err as Error).message}`);
      }
      let head = new MessageHead(rawHead);
      const problem = responseHeadProblem(head, parsed, this.#fe.maxhdr ?? DEFAULT_MAXHDR);
      if (problem) return this.#serverFailed(tx, 502, `invalid response: ${problem}`);
      const status = parsed.statusCode ?? 0;
      if (status >= 100 && status < 200 && status !== 101) {
        // Interim responses (100 Continue, 103 Early Hints) pass through, except to HTTP/1.0
        // clients, which cannot receive them (RFC 9110 15.2).
        if (!tx.http10) {
          tx.resStarted = true;
          this.#client.write(rawHead);
        }
        tx.resHeadBuf = rest;
        continue;
      }
      tx.resHeadBuf = undefined;
      if (this.#retryL7(tx, status)) return;
      this.#traffic?.response(status);
      if (status === 101) {
        if (!tx.upgrade || tx.method === 'CONNECT') return this.#serverFailed(tx, 502, '101 without an upgrade request');
        return this.#startTunnel(tx, head, rest, true);
      }
      if (tx.method === 'CONNECT' && status >= 200 && status < 300) return this.#startTunnel(tx, head, rest, false);
      if (tx.rules && this.#fe.rules) {
        const verdict = this.#fe.rules.onResponse(tx.rules, head);
        if (verdict.respond) return this.#answerResponseRule(tx, parsed, head, rest, verdict.respond, verdict.status ?? 502);
        head = verdict.head;
      }
      if (tx.server) tx.backend.stick?.storeResponse({ src: clientIp(this.remoteAddress), request: tx.head, sample: tx.rules?.ctx }, head, tx.server);
      tx.resBody = responseFraming(head, status, tx.method);
      tx.resKeepAlive = parsed.shouldKeepAlive && tx.resBody.kind !== 'close';
      tx.dechunk = tx.http10 && tx.resBody.kind === 'chunked';
      const edit = new HeadEdit(head);
      for (const h of hopByHopLines(head)) edit.drop(h);
      if (tx.dechunk) for (const h of head.headers) if (h.name === 'transfer-encoding') edit.drop(h);
      const cookieCfg = tx.backend.config.cookie;
      if (cookieCfg && tx.server) {
        this.#traffic?.serverCookie(editResponseCookie(cookieCfg, head, edit, { server: tx.server, direct: tx.direct, method: tx.method, lookup: tx.cookie }));
      }
      tx.clientKeepAlive = this.#clientKeepAlive(tx);
      if (!tx.clientKeepAlive && !tx.http10) edit.append('Connection: close');
      if (tx.clientKeepAlive && tx.http10) edit.append('Connection: keep-alive');
      // Body bytes that came with the head are checked first: a fault there is still a 502.
      let first: ResponseSlice | undefined = { out: [], done: tx.resBody.kind === 'none' };
      if (tx.resBody.kind === 'none') {
        if (rest.length > 0) tx.serverTainted = true;
      } else if (rest.length > 0) {
        first = this.#takeResponseBody(tx, rest);
        if (!first) return this.#serverFailed(tx, 502, 'invalid response body');
      }
      tx.resStarted = true;
      const outHead = edit.toBuffer();
      if (first.out.length === 1 && first.out[0]!.length <= SMALL) {
        // A small response goes out as one buffer: one write() is cheaper than a corked writev().
        first.out[0] = Buffer.concat([outHead, first.out[0]!]);
        this.#sendResponseSlice(tx, first);
      } else {
        this.#client.cork();
        this.#client.write(outHead);
        this.#sendResponseSlice(tx, first);
        this.#client.uncork();
      }
      return;
    }
  }

  /**
   * An answer made by http-response rules (deny, return) in place of the server's response,
   * which is dropped. As in HAProxy 2.6 the client connection goes on after it (unless the
   * request was not all sent, or the answer says close), and the server connection is kept only
   * when all of its response had already come with the head (within HAProxy's buffer).
   */
  #answerResponseRule(tx: Transaction, parsed: ParsedHead, head: MessageHead, rest: Buffer, page: Buffer, status: number): void {
    const framing = responseFraming(head, parsed.statusCode ?? 0, tx.method);
    tx.resBody = framing;
    let serverKeep = parsed.shouldKeepAlive && !tx.serverClose;
    if (serverKeep) {
      const whole = this.#wholeBody(head, framing, rest, this.#resParser!);
      if (whole === undefined) serverKeep = false;
      else if (whole < rest.length) tx.serverTainted = true;
    }
    tx.resKeepAlive = serverKeep;
    tx.resStarted = true;
    tx.resDone = true;
    tx.clientKeepAlive = tx.keepAlive && !tx.clientClose && !this.#stopping && tx.reqBodyDone && !saysClose(page) &&
      !(this.#clientEnded && this.#in.length === 0);
    this.#client.write(answerBytes(page, tx.clientKeepAlive, tx.http10, tx.method === 'HEAD'));
    this.#fe.log.debug(`${this.remoteAddress}: ${status} (denied by http-response rules)`);
    this.#traffic?.rejected(status, 'denied by http-response rules');
    this.#finish(tx);
  }

  #pumpResponseBody(tx: Transaction, chunk: Buffer): void {
    const slice = this.#takeResponseBody(tx, chunk);
    // A malformed chunk from the server: the client must not get it as if valid.
    if (!slice) return this.#abort(tx);
    this.#sendResponseSlice(tx, slice);
  }

  /** What of `chunk` goes to the client, framed as the response declared; undefined when malformed. */
  #takeResponseBody(tx: Transaction, chunk: Buffer): ResponseSlice | undefined {
    const body = tx.resBody!;
    if (body.kind === 'length') {
      if (chunk.length < body.remaining) {
        body.remaining -= chunk.length;
        return { out: [chunk], done: false };
      }
      if (chunk.length > body.remaining) tx.serverTainted = true;
      const out = chunk.subarray(0, body.remaining);
      body.remaining = 0;
      return { out: [out], done: true };
    }
    if (body.kind === 'chunked') {
      try {
        const decoded: Buffer[] = [];
        const p = this.#resParser!.feedChunked(chunk, tx.dechunk ? (payload) => decoded.push(payload) : undefined);
        if (p.consumed < chunk.length) tx.serverTainted = true;
        return { out: tx.dechunk ? decoded : [chunk.subarray(0, p.consumed)], done: p.done };
      } catch (err) {
        this.#fe.log.debug(`invalid response body from server: ${(err as Error).message}`);
        return undefined;
      }
    }
    return { out: [chunk], done: false };
  }

  #sendResponseSlice(tx: Transaction, slice: ResponseSlice): void {
    let blocked = false;
    for (const b of slice.out) if (b.length > 0 && !this.#client.write(b)) blocked = true;
    if (blocked) this.#pauseServer(tx);
    if (slice.done) this.#responseDone(tx);
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
    // An upload the client stalled (not one the server stopped reading) is the client's
    // inactivity: `timeout client` answers it with 408.
    if (!tx.reqBodyDone && !this.#clientPausedForServer && this.#fe.timeouts.client !== undefined) return;
    if (!tx.resStarted && this.#retryL7(tx, 'response-timeout')) return;
    if (!tx.resStarted) return this.#serverFailed(tx, 504, 'timeout server');
    this.#abort(tx);
  }

  onServerDrain(): void {
    this.#resumeClient();
  }

  #serverGone(tx: Transaction, why: string): void {
    // A pooled connection the server had closed while idle: replay on a fresh connection,
    // which is safe because the server answered nothing and we still hold what was sent.
    if (!tx.resStarted && tx.resHeadBuf === undefined && tx.conn && tx.reused && tx.sentBody && (tx.reqBodyDone || tx.bodyBytesSent === tx.sentBodyBytes)) {
      const conn = tx.conn;
      tx.conn = undefined;
      conn.destroy();
      tx.server?.release();
      tx.server = undefined;
      this.#fe.log.debug(`${tx.backend.name}: ${why} on a reused connection, sending the request again`);
      this.#dispatch(tx, false);
      return;
    }
    if (!tx.resStarted && tx.resHeadBuf === undefined && this.#retryL7(tx, 'empty-response')) return;
    if (!tx.resStarted) return this.#serverFailed(tx, 502, why);
    this.#abort(tx);
  }

  /** `retry-on`: the server's answer failed before anything reached the client; ask again. */
  #retryL7(tx: Transaction, cause: RetryCause): boolean {
    if (!retriesResponses(tx.backend) || tx.resStarted || !tx.conn || !tx.server || !tx.sentBody || !(tx.reqBodyDone || tx.bodyBytesSent === tx.sentBodyBytes)) return false;
    const target = l7RetryTarget(tx.backend, tx.method, cause, tx.l7Retries ?? 0, tx.server, tx.cookie.forced === true);
    if (!target) return false;
    tx.l7Retries = (tx.l7Retries ?? 0) + 1;
    tx.l7Target = target;
    if ('avoid' in target) tx.direct = false;
    const conn = tx.conn;
    tx.conn = undefined;
    conn.destroy();
    tx.server.release();
    tx.server = undefined;
    this.#fe.log.debug(`${tx.backend.name}: retry-on ${cause}, sending the request again`);
    this.#dispatch(tx, false);
    return true;
  }

  #serverFailed(tx: Transaction, status: number, why: string): void {
    this.#fe.log.debug(`${tx.backend.name}/${tx.server?.name ?? '-'}: ${why}`);
    if (tx.resStarted) return this.#abort(tx);
    this.#reject(status, why);
  }

  #responseDone(tx: Transaction): void {
    tx.resDone = true;
    if (!tx.reqBodyDone) {
      // The server answered before the request body ended: neither side can be reused.
      tx.clientKeepAlive = false;
      tx.resKeepAlive = false;
    }
    this.#finish(tx);
  }

  #finish(tx: Transaction): void {
    if (this.#tx !== tx) return;
    const conn = tx.conn;
    if (conn) {
      conn.detach();
      const reusable = tx.resKeepAlive && tx.reqBodyDone && !tx.serverTainted && !tx.serverClose && !conn.closed;
      // HAProxy purges idle server connections after pool-purge-delay (5 s), whatever timeout server says.
      const idleTimeout = Math.min(POOL_PURGE_DELAY, tx.backend.timeouts.server ?? POOL_PURGE_DELAY);
      if (!reusable) conn.destroy();
      // A send-proxy connection is private (HAProxy never shares one whose header names another client).
      else if ((tx.backend.config.httpReuse ?? 'safe') === 'never' || conn.server.config.sendProxy) {
        this.#ownConn?.discard();
        this.#ownConn = conn;
        conn.hold(idleTimeout);
      } else conn.park(idleTimeout);
    }
    if (this.#serverPausedForClient) this.#serverPausedForClient = false;
    tx.server?.release();
    tx.conn = undefined;
    tx.server = undefined;
    this.#tx = undefined;
    this.#releaseParsers();
    this.#traffic?.done();
    if (!tx.clientKeepAlive || !tx.reqBodyDone) {
      this.#endClient();
      return;
    }
    this.#resumeClient();
    this.#armHeadTimer(this.#fe.timeouts.httpKeepAlive ?? this.#fe.timeouts.httpRequest ?? this.#fe.timeouts.client, true);
    this.#readHead();
  }

  #clientKeepAlive(tx: Transaction): boolean {
    if (!tx.keepAlive || tx.clientClose || this.#stopping) return false;
    // A half-closed client gets its pipelined requests answered, and the last one closes.
    if (this.#clientEnded && this.#in.length === 0) return false;
    return tx.resBody?.kind !== 'close' && !tx.dechunk;
  }

  // ---- tunnel (101 Switching Protocols, or a 2xx answer to CONNECT) --------------------------

  #startTunnel(tx: Transaction, head: MessageHead, rest: Buffer, upgrade: boolean): void {
    this.#tunnel = true;
    tx.resStarted = true;
    const conn = tx.conn!;
    const tunnelTimeout = tx.backend.timeouts.tunnel ?? this.#fe.timeouts.tunnel;
    if (tunnelTimeout !== undefined) {
      conn.socket.setTimeout(tunnelTimeout);
      this.#client.setTimeout(tunnelTimeout);
    }
    const edit = new HeadEdit(head);
    for (const h of hopByHopLines(head, upgrade ? 'upgrade' : undefined)) edit.drop(h);
    if (upgrade) edit.append('Connection: upgrade');
    this.#client.write(edit.toBuffer());
    if (rest.length > 0) this.#client.write(rest);
    if (this.#in.length > 0) {
      conn.socket.write(this.#in);
      this.#in = EMPTY;
    }
    if (this.#clientEnded) conn.socket.end();
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
    if (!tx) return this.#readHead();
    if (!tx.reqBodyDone) return this.#abort(tx);
    // The request is complete: answer it (and any pipelined after it), then close.
  }

  #onClientTimeout(): void {
    const tx = this.#tx;
    if (this.#tunnel) return;
    if (!tx) {
      if (this.#fe.timeouts.httpRequest === undefined) {
        if (this.#in.length > 0 || this.#requests === 0) this.#reject(408, 'timeout client');
        else this.#close();
      }
      return;
    }
    if (!tx.reqBodyDone || this.#client.writableNeedDrain) this.#abort(tx, 408);
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

  /** `idle`: waiting for the next request on a kept-alive connection, which then closes quietly. */
  #armHeadTimer(ms: number | undefined, idle: boolean): void {
    this.#headTimerIdle = idle;
    if (ms === undefined) return this.#clearHeadTimer();
    this.#headTimerArmed = true;
    const due = Date.now() + ms;
    this.#headDue = due;
    // A running timer that fires no later than `due` is kept, and set again for what is left
    // when it fires early: a busy keep-alive connection costs one timer per timeout period
    // instead of a refresh (a clock read in libuv and a timer-list move) per request.
    if (this.#headTimerFires <= due) return;
    this.#startHeadTimer(ms, due);
  }

  #startHeadTimer(ms: number, fires: number): void {
    if (this.#headTimer) clearTimeout(this.#headTimer);
    this.#headTimerFires = fires;
    this.#headTimer = setTimeout(() => this.#onHeadTimeout(), ms);
  }

  #onHeadTimeout(): void {
    this.#headTimer = undefined;
    this.#headTimerFires = Infinity;
    if (this.#closingSoon) return this.#close();
    if (!this.#headTimerArmed || this.#tx || this.#closed) return;
    const left = this.#headDue - Date.now();
    if (left > 0) return this.#startHeadTimer(left, this.#headDue);
    this.#headTimerArmed = false;
    // An idle keep-alive connection closes quietly; a started or first request gets 408.
    if (this.#in.length > 0 || this.#requests === 0) this.#reject(408, 'timeout http-request');
    else this.#close();
  }

  /** A head arrived: the timer may still fire, but does nothing until armed again. */
  #disarmHeadTimer(): void {
    this.#headTimerArmed = false;
  }

  #clearHeadTimer(): void {
    this.#headTimerArmed = false;
    this.#headTimerFires = Infinity;
    if (this.#headTimer) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
  }

  /** Answers with a generated error page and closes; nothing more is read from the client. */
  #reject(status: number, why: string, page?: Buffer): void {
    if (this.#closed) return;
    this.#fe.log.debug(`${this.remoteAddress}: ${status} (${why})`);
    const tx = this.#tx;
    if (tx) this.#releaseServerSide(tx);
    this.#tx = undefined;
    this.#in = EMPTY;
    this.#clearHeadTimer();
    this.#client.removeAllListeners('data');
    this.#resumeClient();
    this.#client.end(page ?? this.#fe.rules?.errorPage(status, tx?.backend) ?? errorResponse(status));
    this.#traffic?.rejected(status, why);
    this.#closeSoon();
  }

  /** A response limpet makes itself (the stats page): sent whole, then the connection closes. */
  #respondLocally(status: number, bytes: Buffer, head: MessageHead): void {
    this.#clearHeadTimer();
    this.#in = EMPTY;
    this.#client.removeAllListeners('data');
    this.#client.end(bytes);
    this.#traffic?.local(head.startLine, status);
    this.#closeSoon();
  }

  /**
   * An answer limpet makes itself that is not ready yet (in a worker of several, the stats of
   * every worker, which the primary gathers): the client is not read meanwhile. Then as
   * #respondLocally (the stats page), or as a rule's answer (`rule` set), which may keep the
   * connection for the next request.
   */
  #answerLater(later: Promise<LocalResponse>, head: MessageHead, rule?: { keep: boolean; http10: boolean; isHead: boolean }): void {
    this.#localPending = true;
    this.#pauseClient();
    const send = (r: LocalResponse) => {
      this.#localPending = false;
      if (this.#closed) return;
      this.#resumeClient();
      if (rule === undefined) return this.#respondLocally(r.status, r.bytes, head);
      const keep = rule.keep && !this.#stopping && !saysClose(r.bytes);
      const bytes = answerBytes(r.bytes, keep, rule.http10, rule.isHead);
      if (!keep) return this.#reject(r.status, 'answered by http-request rules', bytes);
      this.#client.write(bytes);
      this.#traffic?.local(head.startLine, r.status);
      this.#armHeadTimer(this.#fe.timeouts.httpKeepAlive ?? this.#fe.timeouts.httpRequest ?? this.#fe.timeouts.client, true);
      this.#readHead();
    };
    later.then(send, () => send({ status: 503, bytes: errorResponse(503) }));
  }

  /** Something broke after the response started: both sides are cut. */
  #abort(tx: Transaction, status?: number): void {
    if (status !== undefined && !tx.resStarted) return this.#reject(status, 'aborted');
    this.#releaseServerSide(tx);
    this.#tx = undefined;
    this.#traffic?.aborted();
    this.#close();
  }

  #releaseServerSide(tx: Transaction): void {
    tx.dispatch?.cancel();
    tx.dispatch = undefined;
    if (tx.conn) {
      tx.conn.destroy();
      tx.conn = undefined;
    }
    if (tx.server) {
      tx.server.release();
      tx.server = undefined;
    }
  }

  /** Ends the client connection after what was written, then frees everything. */
  #endClient(): void {
    this.#clearHeadTimer();
    // Whatever the client still sends (the rest of an upload answered early, pipelined
    // requests after a close) is read and dropped, never parsed as a new request.
    this.#in = EMPTY;
    this.#client.removeAllListeners('data');
    this.#resumeClient();
    // A second end() (the client's FIN came after ours) would build an Error with a stack trace.
    if (!this.#client.writableEnded) this.#client.end();
    this.#closeSoon();
  }

  /** Gives a half-closed client a moment to read what was sent, then frees everything. */
  #closeSoon(): void {
    if (this.#closingSoon) return; // the client's FIN after ours comes here a second time
    this.#closingSoon = true;
    this.#ownConn?.discard();
    this.#ownConn = undefined;
    // The head timer, no longer needed for heads, bounds the wait (cleared by #close on 'close').
    this.#headTimerArmed = false;
    this.#startHeadTimer(CLOSE_SOON_MS, Infinity);
    this.#headTimer?.unref();
  }

  #releaseParsers(): void {
    this.#reqParser?.release();
    this.#reqParser = undefined;
    this.#resParser?.release();
    this.#resParser = undefined;
  }

  /** Closes now, whatever is in flight (the end of a shutdown's grace period). */
  close(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseParsers();
    this.#clearHeadTimer();
    const tx = this.#tx;
    if (tx) this.#releaseServerSide(tx);
    this.#tx = undefined;
    this.#ownConn?.discard();
    this.#ownConn = undefined;
    this.#in = EMPTY;
    this.#client.destroy();
    this.#traffic?.closed();
    this.#fe.onClose(this);
  }
}

/**
 * HAProxy stores a message in its buffer as HTX blocks: the start line's three parts, each
 * header's name and value with 8 bytes of block index, and the body's payload. Measured
 * against HAProxy 2.6: a request is wholly read (and an answer made to it keeps the connection)
 * when this size is at most tune.bufsize - tune.maxrewrite - HTX_OVERHEAD, and a chunked body
 * costs CHUNKED_EXTRA bytes more than its payload.
 */
const HTX_OVERHEAD = 93;
const CHUNKED_EXTRA = 9;

function bufferedSize(head: MessageHead, payload: number): number {
  let size = head.startLine.length - 2 + payload;
  for (const h of head.headers) size += 8 + h.name.length + (h.valueEnd - h.valueStart);
  return size;
}

/**
 * A rule's answer as the client gets it: `connection: close` added when the connection ends
 * after it (unless the answer already says so), `connection: keep-alive` for an HTTP/1.0 client
 * that keeps it, and no body in answer to HEAD (HAProxy skips the payload).
 */
function answerBytes(answer: Buffer, keep: boolean, http10: boolean, isHead: boolean): Buffer {
  let out = answer;
  if (!keep && !saysClose(answer)) out = withConnection(answer, 'close');
  else if (keep && http10) out = withConnection(answer, 'keep-alive');
  if (isHead) {
    const end = out.indexOf('\r\n\r\n');
    if (end >= 0) out = out.subarray(0, end + 4);
  }
  return out;
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

/** The target of a request line: `GET /a?b HTTP/1.1` gives `/a?b`. */
function requestTarget(head: MessageHead): string {
  const line = head.startLine;
  const sp = line.indexOf(' ');
  return line.slice(sp + 1, line.lastIndexOf(' '));
}

/** Whether a backend has a send-proxy server, asked on every dispatch: its servers are fixed at start. */
const sendProxyBackends = new WeakMap<Backend, boolean>();
function hasSendProxyServer(backend: Backend): boolean {
  let has = sendProxyBackends.get(backend);
  if (has === undefined) sendProxyBackends.set(backend, (has = backend.servers.some((s) => s.config.sendProxy)));
  return has;
}

/** Whether a backend's `retry-on` retries any response failure (asked on every response). */
const responseRetryBackends = new WeakMap<Backend, boolean>();
function retriesResponses(backend: Backend): boolean {
  let yes = responseRetryBackends.get(backend);
  if (yes === undefined) responseRetryBackends.set(backend, (yes = mayRetryResponse(backend, 'GET')));
  return yes;
}

function clientIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
