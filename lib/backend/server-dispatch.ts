// Getting one request onto a server connection: take a slot on the chosen server (or wait in
// a maxconn queue), reuse an idle keep-alive connection or open one, and on connect failure
// retry as HAProxy does (`retries`, a turn-around pause of min(timeout connect, 1s), and with
// `option redispatch` the last retry goes to another server). Ends in exactly one callback.
import net from 'node:net';
import type { PickContext } from '../balance/balancer.js';
import type { AssignReason, Backend } from './backend.js';
import { ServerConnection } from './server-connection.js';
import type { QueuedRequest, Server } from './server.js';

export interface DispatchSuccess {
  conn: ServerConnection;
  server: Server;
  reason: AssignReason;
  reused: boolean;
}

export interface DispatchHandlers {
  connected(result: DispatchSuccess): void;
  /** 503: no server, queue timeout or connect failures exhausted */
  failed(status: 503, why: string): void;
}

export interface DispatchOptions {
  /** a server chosen by persistence; it is used even at weight 0 */
  persistent?: Server;
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
}

export class ServerDispatch implements QueuedRequest {
  cancelled = false;
  #backend: Backend;
  #opts: DispatchOptions;
  #handlers: DispatchHandlers;
  #server: Server | undefined;
  #reason: AssignReason;
  #retriesLeft: number;
  #timer: NodeJS.Timeout | undefined;
  #socket: net.Socket | undefined;
  #holdsSlot = false;
  #done = false;

  constructor(backend: Backend, opts: DispatchOptions, handlers: DispatchHandlers) {
    this.#backend = backend;
    this.#opts = opts;
    this.#handlers = handlers;
    this.#retriesLeft = backend.config.retries;
    this.#reason = opts.persistent ? (opts.persistentReason ?? 'cookie') : 'balance';
  }

  start(): void {
    const persistent = this.#opts.persistent;
    if (persistent) return this.#claim(persistent);
    const server = this.#backend.pick(this.#opts.ctx);
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
    this.#releaseSlot();
  }

  /** Called by a queue when a slot was taken for us. */
  grant(server: Server): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#server = server;
    this.#holdsSlot = true;
    this.#connect();
  }

  #claim(server: Server): void {
    this.#server = server;
    if (server.isFull()) {
      server.queue.push(this);
      this.#armQueueTimeout();
      return;
    }
    server.take();
    this.#holdsSlot = true;
    this.#connect();
  }

  #armQueueTimeout(): void {
    const t = this.#backend.timeouts.queue ?? this.#backend.timeouts.connect;
    if (t === undefined) return;
    this.#timer = setTimeout(() => {
      this.cancelled = true;
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
    const socket = net.connect({ host: server.host, port: server.port });
    this.#socket = socket;
    socket.setNoDelay(true);
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
      this.#succeed(new ServerConnection(socket, server), false);
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
    if (this.#retriesLeft === 0 && this.#backend.config.options.redispatch) {
      // Last retry: break persistence and try another server.
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

  #succeed(conn: ServerConnection, reused: boolean): void {
    this.#done = true;
    this.#handlers.connected({ conn, server: this.#server!, reason: this.#reason, reused });
  }

  #fail(why: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#releaseSlot();
    this.#handlers.failed(503, why);
  }

  #releaseSlot(): void {
    if (this.#holdsSlot && this.#server) {
      this.#holdsSlot = false;
      this.#server.release();
    }
  }
}
