// A listening socket for one `bind` address: host:port, a unix socket path, or a socket
// inherited as a file descriptor (`fd@N`, for socket activation or a supervisor's handover).
import net from 'node:net';
import fs from 'node:fs';
import { SOCKET_HIGH_WATER_MARK } from '../backend/reused-reads.js';
import type { BindAddress } from '../config/types.js';
import { clusterWorker } from '../cluster/cluster-bus.js';

export function removeStaleSocket(path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    /* no file: nothing to clean */
  }
}

export function describeBind(a: BindAddress): string {
  if (a.kind === 'unix') return `unix@${a.path}`;
  if (a.kind === 'fd') return `fd@${a.fd}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host || '*'}:${a.port}`;
}

export function listen(address: BindAddress, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  // A 64 KiB read from a server is written to the client whole: with Node's 16 KiB mark every
  // such write() returned false, and the server side was paused and resumed for each one.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false, noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.removeListener('error', reject);
      resolve(server);
    };
    if (address.kind === 'fd') server.listen({ fd: address.fd }, ready);
    else if (address.kind === 'unix') {
      // A stale socket file from an earlier run would make listen fail with EADDRINUSE. Among
      // several workers the primary binds it once for all, and cleans up before they start.
      if (!clusterWorker()) removeStaleSocket(address.path);
      server.listen({ path: address.path }, ready);
    } else server.listen({ host: address.host || undefined, port: address.port, backlog: 1024 }, ready);
  });
}
