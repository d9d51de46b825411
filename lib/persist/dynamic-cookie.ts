// `cookie ... dynamic` with `dynamic-cookie-key`: a server without a `cookie` value gets one
// derived from the secret, its IP address and its port, so every load balancer sharing the
// secret gives a server the same cookie (HAProxy's srv_set_dyncookie).
import { isIP } from 'node:net';
import { addressBytes } from '../balance/request-key.js';
import { xxh64 } from './xxh64.js';

/** 16 lowercase hex digits of XXH64(key ‖ address (4 or 16 bytes) ‖ port as 4 bytes big-endian). */
export function dynamicCookie(key: string, host: string, port: number): string | undefined {
  if (!isIP(host)) return undefined; // HAProxy derives it only from an IPv4 or IPv6 address
  const addr = addressBytes(host)!;
  const portBytes = Buffer.alloc(4);
  portBytes.writeUInt32BE(port);
  const h = xxh64(Buffer.concat([Buffer.from(key, 'latin1'), addr, portBytes]));
  return h.toString(16).padStart(16, '0');
}
