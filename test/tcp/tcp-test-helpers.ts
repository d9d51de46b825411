// Small raw-TCP pieces for the TCP-mode tests: half-open-capable origins and clients, random
// payload streams hashed on both ends, and RDP connection requests.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';

export interface TcpOrigin {
  port: number;
  /** connections accepted so far */
  readonly accepted: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 with allowHalfOpen (a FIN does not close our side); closed at teardown. */
export async function startTcpOrigin(t: TeardownHost, onConnection: (socket: net.Socket, index: number) => void): Promise<TcpOrigin> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket, accepted++);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }));
  t.teardown(close);
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close,
  };
}

/** A connected client socket with allowHalfOpen. */
export function connectTcp(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, allowHalfOpen: true }, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export interface Received {
  data: Buffer;
  /** the socket saw a FIN ('end') before closing */
  ended: boolean;
  error: string | undefined;
}

/**
 * Everything a socket receives until it closes (bounded by `ms`). With `answerFin` the socket
 * ends its own side when the peer's FIN arrives, as a client that is not half-open would.
 */
export function receiveAll(socket: net.Socket, ms = 10000, answerFin = false): Promise<Received> {
  const chunks: Buffer[] = [];
  let ended = false;
  let error: string | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms; received ${Buffer.concat(chunks).length} bytes`)), ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      ended = true;
      if (answerFin) socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), ended, error });
    });
  });
}

/** Waits until `socket` has received at least `n` bytes (or rejects after `ms`). */
export function receiveBytes(socket: net.Socket, n: number, ms = 5000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.removeListener('data', onData);
      reject(new Error(`got ${got} of ${n} bytes after ${ms} ms`));
    }, ms);
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
  });
}

/** Writes `bytes` of random data in 1 MiB chunks with backpressure, then FIN; resolves with its sha256. */
export async function sendRandom(socket: net.Socket, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const chunkSize = 1 << 20;
  for (let sent = 0; sent < bytes; sent += chunkSize) {
    const chunk = randomBytes(Math.min(chunkSize, bytes - sent));
    hash.update(chunk);
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onClose = () => {
          socket.removeListener('drain', onDrain);
          reject(new Error(`socket closed after ${sent} bytes`));
        };
        const onDrain = () => {
          socket.removeListener('close', onClose);
          resolve();
        };
        socket.once('close', onClose);
        socket.once('drain', onDrain);
      });
    }
  }
  socket.end();
  return hash.digest('hex');
}

/** Reads until FIN; resolves with the sha256 and length of what arrived. */
export function hashUntilEnd(socket: net.Socket, ms: number): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no FIN after ${ms} ms (${bytes} bytes so far)`)), ms);
    socket.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ hash: hash.digest('hex'), bytes });
    });
  });
}

/** A TPKT + X.224 Connection Request carrying `cookieLine` and an RDP negotiation request. */
export function rdpConnectionRequest(cookieLine: string): Buffer {
  const text = Buffer.from(cookieLine, 'latin1');
  const neg = Buffer.from([0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]);
  const x224 = Buffer.concat([Buffer.from([6 + text.length + neg.length, 0xe0, 0, 0, 0, 0, 0]), text, neg]);
  const tpkt = Buffer.from([0x03, 0x00, 0, 0]);
  tpkt.writeUInt16BE(4 + x224.length, 2);
  return Buffer.concat([tpkt, x224]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the built CLI with `-d` and waits for its "listening on" line for every port, rather
 * than probing the ports: in TCP mode a probe connection would be forwarded to an origin.
 */
export async function startTcpProxy(t: Parameters<typeof startProxy>[0], config: string, ports: number[]): Promise<ProxyProcess> {
  const proxy = await startProxy(t, config, { extraArgs: ['-d'] });
  const deadline = Date.now() + 10000;
  const ready = () => ports.every((p) => proxy.stderr().includes(`listening on 127.0.0.1:${p}`));
  while (!ready()) {
    if (Date.now() > deadline || proxy.stderr().includes('[ALERT]')) throw new Error(`proxy not listening:\n${proxy.stderr()}`);
    await sleep(20);
  }
  return proxy;
}
