// Getting one request onto a server connection: take a slot on the chosen server (or wait in
// a maxconn queue), reuse an idle keep-alive connection or open one, and on connect failure
// retry as HAProxy does (`retries`, a turn-around pause of min(timeout connect, 1s), and with
// `option redispatch` the last retry goes to another server). Ends in exactly one callback.
import net from 'node:net';
import type { PickContext } from '../balance/balancer.js';
import type { AssignReason, Backend } from './backend.js';
import { retryKinds } from './l7-retry.js';
import { ReusedReads, SOCKET_HIGH_WATER_MARK } from './reused-reads.js';
import { ServerConnection } from './server-connection.js';
import { proxyHeader, type ProxiedAddresses } from '../tcp/proxy-protocol.js';
import type { QueuedRequest, Server } from './server.js';

export interface DispatchSuccess {
  conn: ServerConnection;
  server: Server;
  reason: AssignReason;
  reused: boolean;
  /** time spent in a maxconn queue (ms) and failed connection attempts before this one, for logs */
  queuedMs?: number;
  retries?: number;
}

export interface DispatchHandlers {
  connected(result: DispatchSuccess): void;
  /** 503: no server, queue timeout or connect failures exhausted */
  failed(status: 503, why: string, attempt?: { server: Server | undefined; retries: number }): void;
}

export interface DispatchOptions {
  /** a server chosen by persistence; it is used even at weight 0 */
  persistent?: Server;
  /** a layer-7 retry: balance away from this server (when another one is usable) */
  avoid?: Server;
  /** `force-persist`: never redispatch away from `persistent` */
  forcePersist?: boolean;
  /** what chose `persistent` (default 'cookie') */
  persistentReason?: AssignReason;
  ctx: PickContext;
  /**
   * Which idle pooled connections this request may take (HAProxy's http-reuse): any (true or
   * 'any'), only 'proven' ones (already reused once: `aggressive` on a first request), or none.
   */
  reuse: boolean | 'any' | 'proven' | 'none';
  /** the connection this client used last, held for it alone; taken when the server matches */
  own?: ServerConnection;
  /** the client connection's addresses, for a server's `send-proxy` header (unknown if absent) */
  clientAddresses?: ProxiedAddresses;
  /** keep writing after the server's FIN (TCP mode passes each FIN on separately) */
  allowHalfOpen?: boolean;
  /** read into reused buffers (lib/backend/reused-reads): the owner tells when it keeps a chunk */
  reusedReads?: boolean;
}

export class ServerDispatch implements QueuedRequest {
  cancelled = false;
  #backend: Backend;
  #opts: DispatchOptions;
  #handlers: DispatchHandlers;
  #server: Server | undefined;
  #reason: AssignReason;
  #retriesLeft: number;
  #startedAt = Date.now();
  #queuedMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #socket: net.Socket | undefined;
  #holdsSlot = false;
  #done = false;

  constructor(backend: Backend, opts: DispatchOptions, handlers: DispatchHandlers) {
    this.#backend = backend;
    this.#opts = opts;
    this.#handlers = handlers;
    // `retry-on none` (or a list without conn-failure) turns connection retries off.
    this.#retriesLeft = retryKinds(backend.config.retryOn).has('conn-failure') ? backend.config.retries : 0;
    this.#reason = opts.persistent ? (opts.persistentReason ?? 'cookie') : 'balance';
  }

  start(): void {
    const persistent = this.#opts.persistent;
    if (persistent) return this.#claim(persistent);
    const server = this.#backend.pick(this.#opts.ctx, this.#opts.avoid);
    if (server) return this.#claim(server);
    if (!this.#backend.hasUsableServer()) return this.#fail('no server available');
    // Every usable server is at its maxconn: wait in the backend's queue.
    this.#backend.enqueue(this);
    this.#armQueueTimeout();
  }

  /** The client went away: give back whatever was taken. */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.cancelled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.destroy();
    if (!this.#holdsSlot) this.#backend.waiterLeft(this.#server);
    this.#releaseSlot();
  }

  /** The server we queued on went down: start over with the balancer (the queue timer keeps running). */
  requeue(): void {
    if (this.#done) return;
    this.#server = undefined;
    this.#reason = 'redispatch';
    const server = this.#backend.pick(this.#opts.ctx);
    if (server && !server.isFull()) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      return this.#claim(server);
    }
    if (!this.#backend.hasUsableServer()) return this.#fail('no server available');
    this.#backend.enqueue(this);
  }

  /** Called by a queue when a slot was taken for us. */
  grant(server: Server): void {
    this.#queuedMs = Date.now() - this.#startedAt;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#server = server;
    this.#holdsSlot = true;
    this.#connect();
  }

  #claim(server: Server): void {
    this.#server = server;
    if (server.isFull()) {
      if (server.queueFull()) return this.#queueElsewhere(server);
      server.enqueue(this);
      this.#armQueueTimeout();
      return;
    }
    server.take();
    this.#holdsSlot = true;
    this.#connect();
  }

  // The chosen server's queue is at its maxqueue: as HAProxy, give up the choice (and any
  // persistence) and let the balancer place the request, or wait in the backend's queue.
  #queueElsewhere(full: Server): void {
    this.#server = undefined;
    this.#reason = 'redispatch';
    const other = this.#backend.pick(this.#opts.ctx, full);
    if (other && other !== full && !other.isFull()) return this.#claim(other);
    if (!this.#backend.hasUsableServer()) return this.#fail('no server available');
    this.#backend.enqueue(this);
    this.#armQueueTimeout();
  }

  #armQueueTimeout(): void {
    const t = this.#backend.timeouts.queue ?? this.#backend.timeouts.connect;
    if (t === undefined) return;
    this.#timer = setTimeout(() => {
      this.cancelled = true;
      this.#backend.waiterLeft(this.#server);
      this.#fail('queue timeout');
    }, t);
  }

  #connect(): void {
    const server = this.#server!;
    const own = this.#opts.own;
    if (own && own.server === server && !own.closed) {
      this.#opts.own = undefined;
      return this.#succeed(own, true);
    }
    const reuse = this.#opts.reuse;
    if (reuse !== false && reuse !== 'none') {
      // Most recently used first: the likeliest to be still open at the server.
      for (let i = server.idle.length - 1; i >= 0; i--) {
        const conn = server.idle[i]!;
        if (conn.closed) {
          server.idle.splice(i, 1);
          continue;
        }
        if (reuse === 'proven' && conn.uses < 2) continue;
        server.idle.splice(i, 1);
        return this.#succeed(conn, true);
      }
    }
    const reads = this.#opts.reusedReads ? new ReusedReads() : undefined;
    const socket = net.connect({ host: server.host, port: server.port, allowHalfOpen: this.#opts.allowHalfOpen ?? false, ...(reads ? { onread: reads.onread, highWaterMark: SOCKET_HIGH_WATER_MARK } : {}) });
    this.#socket = socket;
    socket.setNoDelay(true);
    // send-proxy: the header is the first thing the server reads (buffered until connected).
    if (server.config.sendProxy) socket.write(proxyHeader(server.config.sendProxy, this.#opts.clientAddresses));
    const connectTimeout = this.#backend.timeouts.connect;
    const onError = () => {
      socket.destroy();
      this.#connectFailed();
    };
    socket.once('error', onError);
    if (connectTimeout !== undefined) {
      this.#timer = setTimeout(onError, connectTimeout);
    }
    socket.once('connect', () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      socket.removeListener('error', onError);
      this.#socket = undefined;
      if (this.#done) return void socket.destroy();
      this.#succeed(new ServerConnection(socket, server, reads), false);
    });
  }

  #connectFailed(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket = undefined;
    if (this.#done) return;
    if (this.#retriesLeft <= 0) return this.#fail('connection failures exhausted the retries');
    this.#retriesLeft--;
    const failed = this.#server!;
    if (this.#shouldRedispatch(failed)) {
      // Break persistence and try another server.
      const other = this.#backend.pick(this.#opts.ctx, failed);
      if (other && other !== failed) {
        this.#releaseSlot();
        this.#reason = 'redispatch';
        return this.#claim(other);
      }
    }
    const pause = Math.min(this.#backend.timeouts.connect ?? 1000, 1000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#done) this.#connect();
    }, pause);
  }

  /**
   * HAProxy's rule for a retry after a connection failure with `option redispatch [N]`: go
   * elsewhere when the server is down, on every Nth retry (N < 0: the Nth before the last; the
   * default -1 is the last retry), or on any retry of a request the balancer placed (not a
   * persistent one) when several servers are active and the algorithm does not hash a key.
   */
  #shouldRedispatch(failed: Server): boolean {
    const be = this.#backend;
    if (!be.config.options.redispatch || this.#opts.forcePersist) return false;
    const retries = be.config.retries;
    const done = retries - this.#retriesLeft;
    const every = be.config.redispatchInterval ?? -1;
    if (!failed.usable) return true;
    if (every > 0 && done % every === 0) return true;
    if (every < 0 && retries + 1 + every > 0 && done % (retries + 1 + every) === 0) return true;
    const placed = this.#reason === 'balance' || this.#reason === 'redispatch';
    return placed && be.usableCount > 1 && !be.hashBased;
  }

  #succeed(conn: ServerConnection, reused: boolean): void {
    this.#done = true;
    const retries = this.#backend.config.retries - this.#retriesLeft;
    this.#handlers.connected({ conn, server: this.#server!, reason: this.#reason, reused, queuedMs: this.#queuedMs, retries });
  }

  #fail(why: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#releaseSlot();
    this.#handlers.failed(503, why, { server: this.#server, retries: this.#backend.config.retries - this.#retriesLeft });
  }

  #releaseSlot(): void {
    if (this.#holdsSlot && this.#server) {
      this.#holdsSlot = false;
      this.#server.release();
    }
  }
}
