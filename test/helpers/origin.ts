import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { TeardownHost } from './teardown.js';

export interface OriginRequest {
  method: string;
  url: string;
  /** As received: [name, value, name, value, ...] with the original case and order. */
  headers: string[];
  /** The complete body; filled in when the request has ended (empty until then). */
  body: Buffer;
  /** Index into `rawBytes` of the connection the request came on. */
  connection: number;
}

export type OriginHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface StartOriginOptions {
  name: string;
  host?: string;
  /** Called once the request body has been read. Default: `defaultOriginBody`. */
  handler?: OriginHandler;
  /** When given, the origin is closed at the end of this test. */
  t?: TeardownHost;
}

export interface Origin {
  readonly port: number;
  readonly host: string;
  readonly name: string;
  /** Every request, in arrival order. */
  readonly requests: OriginRequest[];
  /** Every byte received, one Buffer per connection (concatenated as it arrives). */
  readonly rawBytes: Buffer[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections currently open. */
  readonly openConnections: number;
  close(): Promise<void>;
}

/** What the default handler answers: `This is HTTP server NAME (HOST:PORT).\n` */
export const defaultOriginBody = (name: string, port: number, host = '127.0.0.1'): string =>
  `This is HTTP server ${name} (${host.includes(':') ? `[${host}]` : host}:${port}).\n`;

const listen = (server: Server, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('origin: no address'));
      else resolve(address.port);
    });
  });

/**
 * A keep-alive node:http origin on an ephemeral port that records what it received: each
 * request (method, url, raw headers, body) and every raw byte per connection.
 */
export const startOrigin = async (opts: StartOriginOptions): Promise<Origin> => {
  const host = opts.host ?? '127.0.0.1';
  const requests: OriginRequest[] = [];
  const rawBytes: Buffer[] = [];
  const sockets = new Set<Socket>();
  const connectionIndex = new WeakMap<Socket, number>();
  let port = 0;

  const handler: OriginHandler =
    opts.handler ??
    ((_req, res) => {
      const body = defaultOriginBody(opts.name, port, host);
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=UTF-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });

  const server = createHttpServer({ keepAlive: true, keepAliveTimeout: 30_000 }, (req, res) => {
    const record: OriginRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.rawHeaders.slice(),
      body: Buffer.alloc(0),
      connection: connectionIndex.get(req.socket) ?? -1,
    };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      try {
        handler(req, res, record.body);
      } catch (err) {
        res.destroy(err as Error);
      }
    });
    req.on('error', () => {
      record.body = Buffer.concat(chunks);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;
  // Let a test see an origin's parse errors instead of node answering 400 silently.
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('connection', (socket: Socket) => {
    const index = rawBytes.length;
    rawBytes.push(Buffer.alloc(0));
    connectionIndex.set(socket, index);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Adding a 'data' listener makes node:http hand bytes through JS, so we see them all.
    socket.on('data', (chunk: Buffer) => {
      rawBytes[index] = Buffer.concat([rawBytes[index] ?? Buffer.alloc(0), chunk]);
    });
  });

  port = await listen(server, host);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise(resolve => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    }));
  opts.t?.teardown(close);

  return {
    port,
    host,
    name: opts.name,
    requests,
    rawBytes,
    get connections() {
      return rawBytes.length;
    },
    get openConnections() {
      return sockets.size;
    },
    close,
  };
};

export interface RawOrigin {
  readonly port: number;
  readonly host: string;
  /** Every byte received, one Buffer per connection. */
  readonly rawBytes: Buffer[];
  readonly connections: number;
  close(): Promise<void>;
}

export interface StartRawOriginOptions {
  host?: string;
  t?: TeardownHost;
}

/**
 * A plain TCP server for tests that must answer with exact or malformed bytes. Bytes the
 * socket receives are recorded in `rawBytes` before `onConnection`'s own listeners see them.
 */
export const startRawOrigin = async (
  onConnection: (socket: Socket, index: number) => void,
  opts: StartRawOriginOptions = {},
): Promise<RawOrigin> => {
  const host = opts.host ?? '127.0.0.1';
  const rawBytes: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer(socket => {
    const index = rawBytes.length;
    rawBytes.push(Buffer.alloc(0));
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      rawBytes[index] = Buffer.concat([rawBytes[index] ?? Buffer.alloc(0), chunk]);
    });
    onConnection(socket, index);
  });
  const port = await listen(server, host);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise(resolve => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));
  opts.t?.teardown(close);
  return {
    port,
    host,
    rawBytes,
    get connections() {
      return rawBytes.length;
    },
    close,
  };
};
