// A connection to a server that outlives one request: keep-alive pooling hands it from session
// to session. Listeners are attached once and dispatch to whoever owns it now, so reuse costs
// no listener churn; while idle in the pool, any byte or close from the server retires it.
import net from 'node:net';
import type { Server } from './server.js';
import type { ReadTarget, ReusedReads } from './reused-reads.js';

/** Idle connections kept per server when `pool-max-conn` is not set (`-1` lifts it). */
const DEFAULT_POOL_MAX = 256;

export interface ServerConnectionOwner {
  /** true: nothing of `chunk` is kept after the call (with ReusedReads, its memory is read into again) */
  onServerData(chunk: Buffer): boolean | void;
  onServerEnd(): void;
  onServerError(err: Error): void;
  onServerDrain(): void;
  onServerTimeout(): void;
}

export class ServerConnection implements ReadTarget {
  readonly socket: net.Socket;
  readonly server: Server;
  /** requests already carried: a reused connection that fails may be retried on a fresh one */
  uses = 0;
  #owner: ServerConnectionOwner | undefined;
  #closed = false;

  /** `reads`: the socket was opened with its `onread` (no 'data' events then) */
  constructor(socket: net.Socket, server: Server, reads?: ReusedReads) {
    this.socket = socket;
    this.server = server;
    if (reads) reads.target = this;
    socket.on('data', (chunk: Buffer) => this.deliverRead(chunk));
    socket.on('end', () => {
      if (this.#owner) this.#owner.onServerEnd();
      else this.destroy();
    });
    socket.on('error', (err) => {
      if (this.#owner) this.#owner.onServerError(err);
      else this.destroy();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#removeFromPool();
      // A close without 'end' or 'error' (destroyed locally) needs no owner notification.
    });
    socket.on('drain', () => this.#owner?.onServerDrain());
    socket.on('timeout', () => {
      if (this.#owner) this.#owner.onServerTimeout();
      else this.discard();
    });
  }

  get streaming(): boolean {
    return this.#owner !== undefined;
  }

  deliverRead(chunk: Buffer): boolean {
    if (this.#owner) return this.#owner.onServerData(chunk) === true;
    this.destroy(); // an idle connection must not talk: whatever it says is not ours to forward
    return true;
  }

  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  attach(owner: ServerConnectionOwner, serverTimeout: number | undefined): void {
    this.#owner = owner;
    this.uses++;
    // A new timer for each request and each idle spell: measured, keeping one socket timer
    // across both (and idle expiry in one shared timer) cost upload-1m 12-29% MiB per CPU-s.
    this.socket.setTimeout(serverTimeout ?? 0);
    if (this.socket.isPaused()) this.socket.resume();
  }

  /**
   * Back to the server's idle pool (most recently used first), unless the pool is at the
   * server's `pool-max-conn`, in which case the connection closes.
   */
  park(idleTimeout: number | undefined): void {
    this.#owner = undefined;
    if (this.closed) return;
    // Without pool-max-conn, a bound all the same: a stream of one-request clients under
    // http-reuse safe parks a connection each, which no first request may take (HAProxy bounds
    // its idle connections by tune.pool-high-fd-ratio for the same reason).
    const max = this.server.config.poolMaxConn ?? DEFAULT_POOL_MAX;
    if (max >= 0 && this.server.idle.length >= max) return this.discard();
    this.hold(idleTimeout);
    this.server.idle.push(this);
  }

  /** Idle but kept out of the shared pool: only its last user may take it again (`http-reuse never`). */
  hold(idleTimeout: number | undefined): void {
    this.#owner = undefined;
    if (this.closed) return;
    this.socket.setTimeout(idleTimeout ?? 0);
    if (this.socket.isPaused()) this.socket.resume();
  }

  detach(): void {
    this.#owner = undefined;
  }

  destroy(): void {
    this.#owner = undefined;
    this.#removeFromPool();
    this.socket.destroy();
  }

  /**
   * Closes a connection with nothing in flight that the server has not closed: with a reset,
   * as HAProxy closes its server connections (FD_LINGER_RISK, set at connect and cleared only
   * when the server's FIN was read). A plain close would leave a TIME_WAIT on the proxy's side
   * for each one, and with thousands of them every later connect() hunts longer for a port.
   */
  discard(): void {
    if (this.socket.readableEnded || this.socket.connecting || this.socket.destroyed) return this.destroy();
    this.#owner = undefined;
    this.#removeFromPool();
    this.socket.resetAndDestroy();
  }

  #removeFromPool(): void {
    const i = this.server.idle.indexOf(this);
    if (i !== -1) this.server.idle.splice(i, 1);
  }
}
