import { createServer, type Server } from 'node:net';

const listenOnZero = (server: Server, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`freePort: unexpected address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise(resolve => server.close(() => resolve()));

/**
 * An ephemeral port that was free on `host` a moment ago: listen on port 0, read the port
 * the kernel chose, close. Another process could take it before the caller binds it; bind
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
