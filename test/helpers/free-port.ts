import { createServer, type Server } from 'node:net';

// Ports are drawn below the kernel's ephemeral range (ip_local_port_range, 32768-60999 here),
// not from port 0: a port the kernel hands out for listening can be taken, before the proxy
// binds it, by an outgoing connection's local port (Redis Cluster's bus links did that).
//
// tap runs test files side by side (`jobs` in .taprc), and a port one file was given may be
// handed to the other before the first file's proxy has bound it (a proxy takes up to a second
// to start on a loaded machine): each concurrent job draws from its own slice of the range
// (TAP_JOB_ID is the job's slot), and a process never hands out the same port twice.
const SLICES = 4;
const SLICE = Math.floor((32000 - 20000) / SLICES);
const LOW = 20000 + (Number(process.env['TAP_JOB_ID'] ?? 0) % SLICES) * SLICE;
const HIGH = LOW + SLICE;
const handedOut = new Set<number>();

const tryListen = (server: Server, host: string, port: number): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve(true);
    });
  });

const listenOnZero = async (server: Server, host: string): Promise<number> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await tryListen(server, host, port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no free port between ${LOW} and ${HIGH} after 200 attempts`);
};

const closeServer = (server: Server): Promise<void> =>
  new Promise(resolve => server.close(() => resolve()));

/**
 * A port that was free on `host` a moment ago, outside the ephemeral range: listen on it, close. Another process could take it before the caller binds it; bind
 * right after asking.
 */
export const freePort = async (host = '127.0.0.1'): Promise<number> => {
  const server = createServer();
  server.unref();
  try {
    return await listenOnZero(server, host);
  } finally {
    await closeServer(server);
  }
};

/** `count` distinct free ports: all are held open together, so no two are equal. */
export const freePorts = async (count: number, host = '127.0.0.1'): Promise<number[]> => {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      server.unref();
      servers.push(server);
      ports.push(await listenOnZero(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(closeServer));
  }
};
