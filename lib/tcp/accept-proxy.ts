// `bind ... accept-proxy`: before any session exists, read the PROXY header (v1 or v2) that
// must open the connection. A valid one gives the original addresses and the socket is handed
// on paused, with the bytes that followed the header put back to be read first; a bad or
// missing header, a close or the timeout ends the connection with nothing forwarded.
import type net from 'node:net';
import { parseProxyHeader, socketAddresses, type ProxiedAddresses } from './proxy-protocol.js';

export interface AcceptedProxy {
  /** the addresses the header carried, else (LOCAL, UNKNOWN) the socket's own */
  addresses: ProxiedAddresses | undefined;
}

/** v2's largest header we accept (16 + 4096), with room for a coalesced first payload. */
const MAX_WAIT_BYTES = 16 + 4096;

export function readProxyHeader(
  socket: net.Socket,
  timeoutMs: number | undefined,
  onHeader: (accepted: AcceptedProxy) => void,
  onReject: (reason: string) => void,
): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const finish = (): void => {
    done = true;
    if (timer) clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('error', onError);
    socket.removeListener('close', onEnd);
  };
  const reject = (reason: string): void => {
    if (done) return;
    finish();
    socket.destroy();
    onReject(reason);
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const r = parseProxyHeader(buf);
    if (r.kind === 'incomplete') {
      if (buf.length > MAX_WAIT_BYTES) reject('PROXY header too long');
      return;
    }
    if (r.kind === 'invalid') return reject(r.reason);
    finish();
    socket.pause();
    const rest = buf.subarray(r.length);
    if (rest.length > 0) socket.unshift(rest);
    onHeader({ addresses: r.addresses ?? socketAddresses(socket) });
  };
  const onEnd = (): void => reject('connection closed before the PROXY header');
  const onError = (): void => reject('connection error before the PROXY header');
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject('timeout waiting for the PROXY header'), timeoutMs);
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', onEnd);
}
