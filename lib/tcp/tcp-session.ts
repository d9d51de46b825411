// One client connection in `mode tcp`: optionally inspect the first bytes (`tcp-request
// inspect-delay` with `accept if RDP_COOKIE`), choose a server once (persist rdp-cookie, stick
// table, then the balancer), connect (retries and redispatch in ServerDispatch), then stream
// bytes both ways with backpressure. A FIN from one side is passed on while the other
// direction keeps flowing, as HAProxy does; the session ends when both sockets have closed
// cleanly, or at once when either side errors, resets or times out. Nothing is ever sent to
// the client that the server did not send.
import type net from 'node:net';
import type { Backend } from '../backend/backend.js';
import type { ServerConnection, ServerConnectionOwner } from '../backend/server-connection.js';
import { ServerDispatch } from '../backend/server-dispatch.js';
import type { Server } from '../backend/server.js';
import type { PickContext } from '../balance/balancer.js';
import type { ProxyConfig } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import type { TcpTracker, TrafficHooks } from '../observe/traffic-tracker.js';
import type { StickRequestContext } from '../persist/stick-rules.js';
import { socketAddresses, type ProxiedAddresses } from './proxy-protocol.js';
import { decodeMstsCookie, parseRdpCookie, type RdpCookieResult } from './rdp-cookie.js';

export interface TcpFrontend {
  name: string;
  /** the frontend (or listen) section: client timeouts and tcp-request rules */
  config: ProxyConfig;
  defaultBackend: Backend | undefined;
  /** tune.bufsize: inspection stops waiting once this much has arrived */
  bufsize: number;
  log: Logger;
  onClose(session: TcpSession): void;
  /** logs and counters (lib/observe) */
  traffic?: TrafficHooks;
}

/** What the listener learnt before the session started. */
export interface TcpSessionOptions {
  /** the original connection's addresses (from a PROXY header, else the socket's own) */
  addresses?: ProxiedAddresses;
}

const EMPTY = Buffer.alloc(0);

export class TcpSession implements ServerConnectionOwner {
  readonly remoteAddress: string;
  readonly addresses: ProxiedAddresses | undefined;
  #client: net.Socket;
  #fe: TcpFrontend;
  #backend: Backend | undefined;
  /** bytes read before the server connection exists (inspection, connect) */
  #pending: Buffer = EMPTY;
  #inspectTimer: NodeJS.Timeout | undefined;
  #inspecting = false;
  #dispatch: ServerDispatch | undefined;
  #conn: ServerConnection | undefined;
  #server: Server | undefined;
  #clientEnded = false;
  #serverEnded = false;
  #clientClosed = false;
  #serverClosed = false;
  #closed = false;
  #traffic: TcpTracker | undefined;

  constructor(client: net.Socket, fe: TcpFrontend, opts: TcpSessionOptions = {}) {
    this.#client = client;
    this.#fe = fe;
    this.#traffic = fe.traffic?.tcp(client, opts.addresses);
    this.#backend = fe.defaultBackend;
    this.addresses = opts.addresses ?? socketAddresses(client);
    this.remoteAddress = unmapIpv4(opts.addresses?.srcAddress ?? client.remoteAddress ?? '');
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#onClientData(chunk));
    client.on('end', () => this.#onClientEnd());
    client.on('error', () => this.#closeFor('C', true));
    client.on('close', () => this.#onClientClose());
    client.on('drain', () => this.#conn?.socket.resume());
    client.on('timeout', () => this.#closeFor('c'));
    this.#setClientTimeout(fe.config.timeouts.client);
    // The listener may hand over a paused socket (bytes after a PROXY header were put back).
    client.resume();
    if (!this.#backend) {
      this.close();
      return;
    }
    const inspect = fe.config.tcpRequest ?? this.#backend.config.tcpRequest;
    if (inspect?.acceptIfRdpCookie && inspect.inspectDelay) {
      this.#inspecting = true;
      this.#inspectTimer = setTimeout(() => this.#endInspection(), inspect.inspectDelay);
    } else this.#choose();
  }

  // ---- before a server is connected ---------------------------------------------------------

  #onClientData(chunk: Buffer): void {
    if (this.#conn) {
      if (!this.#conn.socket.write(chunk)) this.#client.pause();
      return;
    }
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#inspecting) {
      // `accept if RDP_COOKIE` matches once the cookie is read; a complete request without
      // one, or a full buffer, ends the wait too since no more bytes would change the answer.
      if (parseRdpCookie(this.#pending).kind !== 'incomplete' || this.#pending.length >= this.#fe.bufsize) this.#endInspection();
    } else this.#client.pause();
  }

  #endInspection(): void {
    if (!this.#inspecting) return;
    this.#inspecting = false;
    if (this.#inspectTimer) clearTimeout(this.#inspectTimer);
    this.#inspectTimer = undefined;
    this.#client.pause();
    this.#choose();
  }

  /** Persistence (rdp-cookie, then stick table) before balancing, as HAProxy orders them. */
  #choose(): void {
    const backend = this.#backend!;
    const rdp = this.#pending.length > 0 ? parseRdpCookie(this.#pending) : undefined;
    const ctx: PickContext = { clientAddress: this.remoteAddress, rdpCookie: (name) => cookieValue(rdp, name) };
    const persistName = backend.config.persistRdpCookie;
    if (persistName !== undefined) {
      const server = serverFromMsts(backend, cookieValue(rdp, persistName));
      if (server) return this.#dispatchTo(backend, ctx, server, 'cookie');
    }
    const stick = backend.stick;
    if (!stick) return this.#dispatchTo(backend, ctx, undefined, undefined);
    stick.match(this.#stickContext(), (server) => {
      if (this.#closed) return;
      this.#dispatchTo(backend, ctx, server, server ? 'stick' : undefined);
    });
  }

  /** What stick expressions read in `mode tcp`: the connection's two ends. */
  #stickContext(): StickRequestContext {
    const a = this.addresses;
    return { src: this.remoteAddress, srcPort: a?.srcPort ?? 0, dst: unmapIpv4(a?.dstAddress ?? ''), dstPort: a?.dstPort ?? 0 };
  }

  #dispatchTo(backend: Backend, ctx: PickContext, persistent: Server | undefined, reason: 'cookie' | 'stick' | undefined): void {
    this.#traffic?.dispatched(backend.name);
    this.#dispatch = new ServerDispatch(
      backend,
      { ctx, reuse: false, persistent, persistentReason: reason, clientAddresses: this.addresses, allowHalfOpen: true },
      {
        connected: ({ conn, server, queuedMs, retries, reason: why }) => {
          this.#dispatch = undefined;
          this.#traffic?.connected(server, queuedMs ?? 0, retries ?? 0, why === 'redispatch');
          if (this.#closed) {
            conn.destroy();
            server.release();
            return;
          }
          this.#connected(backend, conn, server);
        },
        failed: (_status, why, attempt) => {
          this.#traffic?.failed(attempt?.server, attempt?.retries ?? 0);
          // Nothing is sent to the client that no server sent: just close.
          this.#dispatch = undefined;
          this.#fe.log.debug(`${this.#fe.name}/${backend.name}: ${this.remoteAddress}: ${why}`);
          this.#closeFor('S');
        },
      },
    );
    this.#dispatch.start();
  }

  #connected(backend: Backend, conn: ServerConnection, server: Server): void {
    this.#conn = conn;
    this.#server = server;
    const tunnel = backend.timeouts.tunnel;
    // `timeout tunnel` replaces both client and server timeouts once bytes flow freely.
    conn.attach(this, tunnel ?? backend.timeouts.server);
    if (tunnel !== undefined) this.#setClientTimeout(tunnel);
    conn.socket.on('close', () => this.#onServerClose());
    backend.stick?.storeRequest(this.#stickContext(), server);
    const pending = this.#pending;
    this.#pending = EMPTY;
    if (pending.length > 0) conn.socket.write(pending);
    if (this.#clientEnded) this.#endServer();
    else this.#client.resume();
  }

  // ---- streaming ----------------------------------------------------------------------------

  #onClientEnd(): void {
    this.#clientEnded = true;
    if (this.#inspecting) this.#endInspection();
    if (this.#conn) this.#endServer();
  }

  /** The client's FIN, passed on; the server side now has `timeout server-fin`. */
  #endServer(): void {
    const conn = this.#conn!;
    conn.socket.end();
    const fin = this.#backend!.timeouts.serverFin;
    if (fin !== undefined) conn.socket.setTimeout(fin);
  }

  onServerData(chunk: Buffer): void {
    if (!this.#client.write(chunk)) this.#conn?.socket.pause();
  }

  /** The server's FIN, passed on; the client side now has `timeout client-fin`. */
  onServerEnd(): void {
    this.#serverEnded = true;
    this.#client.end();
    const fin = this.#fe.config.timeouts.clientFin;
    if (fin !== undefined) this.#setClientTimeout(fin);
  }

  onServerError(): void {
    this.#closeFor('S', true);
  }

  onServerTimeout(): void {
    this.#closeFor('s');
  }

  /**
   * Closes for a reason the traffic log shows (HAProxy's termination cause). On an error or
   * reset (`abort`) the other side is reset too, so a truncated stream is never mistaken for
   * a complete one ending in a FIN.
   */
  #closeFor(cause: 'C' | 'S' | 'c' | 's', abort = false): void {
    if (this.#closed) return;
    this.#traffic?.cause(cause);
    if (abort) {
      resetSocket(this.#client);
      if (this.#conn) resetSocket(this.#conn.socket);
    }
    this.close();
  }

  onServerDrain(): void {
    this.#client.resume();
  }

  // ---- ending -------------------------------------------------------------------------------

  #onClientClose(): void {
    this.#clientClosed = true;
    // A clean close is one after FINs both ways; anything else is an abort: reset the server too.
    if (this.#serverClosed) this.close();
    else if (!(this.#clientEnded && this.#serverEnded)) this.#closeFor('C', true);
  }

  #onServerClose(): void {
    this.#serverClosed = true;
    if (this.#clientClosed) this.close();
    else if (!(this.#clientEnded && this.#serverEnded)) this.#closeFor('S', true);
  }

  #setClientTimeout(ms: number | undefined): void {
    this.#client.setTimeout(ms ?? 0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inspectTimer) clearTimeout(this.#inspectTimer);
    this.#dispatch?.cancel();
    if (this.#conn) this.#conn.destroy();
    this.#server?.release();
    this.#client.destroy();
    this.#traffic?.closed();
    this.#fe.onClose(this);
  }
}

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 client) is the IPv4 client 1.2.3.4. */
const unmapIpv4 = (a: string): string => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a);

function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // not connected yet: there is nothing to reset
  }
}

function cookieValue(rdp: RdpCookieResult | undefined, name: string): string | undefined {
  return rdp?.kind === 'cookie' && rdp.name === name ? rdp.value : undefined;
}

/** `persist rdp-cookie`: the usable server at the address the msts cookie names. */
function serverFromMsts(backend: Backend, value: string | undefined): Server | undefined {
  const target = value === undefined ? undefined : decodeMstsCookie(value);
  if (!target) return undefined;
  return backend.servers.find((s) => s.usable && s.port === target.port && s.host === target.host);
}
