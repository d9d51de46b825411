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

/** Why a connection was refused, in HAProxy's words for its connection error log line. */
export interface ProxyHeaderRefusal {
  /** HAProxy's text for the error (conn_err_code_str) */
  message: string;
  /** our own, more precise reason, for debug output */
  detail: string;
  /**
   * `option dontlognull` keeps it out of the logs: as in HAProxy, a close before any byte, a
   * connection error, and a timeout (which HAProxy has not yet named when it decides)
   */
  empty: boolean;
  /** the connecting socket's address and port, and when it was accepted (ms epoch) */
  srcAddress: string;
  srcPort: number;
  acceptedAt: number;
}

/** HAProxy's messages for the PROXY protocol connection errors (CO_ER_PRX_*). */
const MESSAGES = {
  empty: 'Connection closed while waiting for PROXY protocol header',
  abort: 'Connection error while waiting for PROXY protocol header',
  timeout: 'Timeout while waiting for PROXY protocol header',
  truncated: 'Truncated PROXY protocol header received',
  notHeader: 'Received something which does not look like a PROXY protocol header',
  badHeader: 'Received an invalid PROXY protocol header',
  badProto: 'Received an unhandled protocol in the PROXY protocol header',
};

/** v2's largest header we accept (16 + 4096), with room for a coalesced first payload. */
const MAX_WAIT_BYTES = 16 + 4096;

export function readProxyHeader(
  socket: net.Socket,
  timeoutMs: number | undefined,
  onHeader: (accepted: AcceptedProxy) => void,
  onReject: (refusal: ProxyHeaderRefusal) => void,
): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  // Read now: a destroyed socket no longer knows its peer.
  const peer = { srcAddress: socket.remoteAddress ?? '', srcPort: socket.remotePort ?? 0, acceptedAt: Date.now() };
  const finish = (): void => {
    done = true;
    if (timer) clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('error', onError);
    socket.removeListener('close', onEnd);
  };
  const reject = (message: string, detail: string, empty = false): void => {
    if (done) return;
    finish();
    socket.destroy();
    onReject({ message, detail, empty, ...peer });
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const r = parseProxyHeader(buf);
    if (r.kind === 'incomplete') {
      if (buf.length > MAX_WAIT_BYTES) reject(MESSAGES.badHeader, 'PROXY header too long');
      return;
    }
    if (r.kind === 'invalid') return reject(invalidMessage(r.reason), r.reason);
    finish();
    socket.pause();
    const rest = buf.subarray(r.length);
    if (rest.length > 0) socket.unshift(rest);
    onHeader({ addresses: r.addresses ?? socketAddresses(socket) });
  };
  const onEnd = (): void =>
    buf.length === 0
      ? reject(MESSAGES.empty, 'connection closed before the PROXY header', true)
      : reject(MESSAGES.truncated, 'connection closed in the middle of the PROXY header');
  const onError = (): void => reject(MESSAGES.abort, 'connection error before the PROXY header', true);
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(MESSAGES.timeout, 'timeout waiting for the PROXY header', true), timeoutMs);
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', onEnd);
}

/** The parser's reason, sorted into HAProxy's three kinds of bad header. */
function invalidMessage(reason: string): string {
  if (reason === 'no PROXY protocol header' || reason === 'bad PROXY v2 signature') return MESSAGES.notHeader;
  if (reason.startsWith('unknown PROXY v1 protocol')) return MESSAGES.badProto;
  return MESSAGES.badHeader;
}
