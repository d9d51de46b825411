// One client connection in `mode tcp`: pick a server once, connect, then stream bytes both
// ways with backpressure. One side's FIN is passed on while the other direction keeps
// flowing (half-close), as HAProxy does; an error on either side closes both.
import type net from 'node:net';
import type { Backend } from '../backend/backend.js';
import type { ServerConnection, ServerConnectionOwner } from '../backend/server-connection.js';
import { ServerDispatch } from '../backend/server-dispatch.js';
import type { Server } from '../backend/server.js';
import type { Logger } from '../observe/logger.js';

export interface TcpFrontend {
  defaultBackend: Backend | undefined;
  clientTimeout: number | undefined;
  log: Logger;
  onClose(session: TcpSession): void;
}

export class TcpSession implements ServerConnectionOwner {
  #client: net.Socket;
  #fe: TcpFrontend;
  #pending: Buffer[] = [];
  #dispatch: ServerDispatch | undefined;
  #conn: ServerConnection | undefined;
  #server: Server | undefined;
  #clientEnded = false;
  #serverEnded = false;
  #closed = false;

  constructor(client: net.Socket, fe: TcpFrontend) {
    this.#client = client;
    this.#fe = fe;
    client.on('data', (chunk: Buffer) => this.#onClientData(chunk));
    client.on('end', () => this.#onClientEnd());
    client.on('error', () => this.close());
    client.on('close', () => this.close());
    client.on('drain', () => this.#conn?.socket.resume());
    if (fe.clientTimeout !== undefined) {
      client.setTimeout(fe.clientTimeout);
      client.on('timeout', () => this.close());
    }
    const backend = fe.defaultBackend;
    if (!backend) {
      this.close();
      return;
    }
    this.#dispatch = new ServerDispatch(
      backend,
      { ctx: { clientAddress: client.remoteAddress }, reuse: false },
      {
        connected: ({ conn, server }) => {
          this.#dispatch = undefined;
          if (this.#closed) {
            conn.destroy();
            server.release();
            return;
          }
          this.#conn = conn;
          this.#server = server;
          conn.attach(this, backend.timeouts.server);
          for (const chunk of this.#pending) conn.socket.write(chunk);
          this.#pending = [];
          if (this.#clientEnded) conn.socket.end();
          client.resume();
        },
        failed: () => {
          // Nothing is sent to the client that no server sent: just close.
          this.#dispatch = undefined;
          this.close();
        },
      },
    );
    this.#dispatch.start();
  }

  #onClientData(chunk: Buffer): void {
    if (this.#conn) {
      if (!this.#conn.socket.write(chunk)) this.#client.pause();
    } else {
      this.#pending.push(chunk);
      this.#client.pause();
    }
  }

  #onClientEnd(): void {
    this.#clientEnded = true;
    if (this.#conn) this.#conn.socket.end();
    if (this.#serverEnded) this.close();
  }

  onServerData(chunk: Buffer): void {
    if (!this.#client.write(chunk)) this.#conn?.socket.pause();
  }

  onServerEnd(): void {
    this.#serverEnded = true;
    this.#client.end();
    if (this.#clientEnded) this.close();
  }

  onServerError(): void {
    this.close();
  }

  onServerTimeout(): void {
    this.close();
  }

  onServerDrain(): void {
    this.#client.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dispatch?.cancel();
    if (this.#conn) this.#conn.destroy();
    this.#server?.release();
    this.#client.destroy();
    this.#fe.onClose(this);
  }
}
