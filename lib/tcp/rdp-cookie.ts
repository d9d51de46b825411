// The routing cookie of an RDP connection request: a TPKT header (RFC 1006), an X.224
// Connection Request TPDU, then one text line `Cookie: NAME=VALUE\r\n`. Clients send
// `mstshash=USER`; a session broker's redirection gives `msts=ADDR.PORT.0000`, which
// `persist rdp-cookie` decodes to a server.

export type RdpCookieResult =
  /** the request is not complete yet: wait for more bytes (within `tcp-request inspect-delay`) */
  | { kind: 'incomplete' }
  /** not an RDP connection request, or one without a cookie line */
  | { kind: 'none' }
  | { kind: 'cookie'; name: string; value: string };

/** TPKT header (4 bytes) + X.224 CR fixed part (LI, code, dst-ref, src-ref, class: 7 bytes) */
const COOKIE_OFFSET = 11;
const X224_CONNECTION_REQUEST = 0xe0;

export function parseRdpCookie(buf: Buffer): RdpCookieResult {
  if (buf.length < 4) return prefixOfTpkt(buf) ? { kind: 'incomplete' } : { kind: 'none' };
  if (buf[0] !== 0x03 || buf[1] !== 0x00) return { kind: 'none' };
  const length = buf.readUInt16BE(2);
  if (length < COOKIE_OFFSET) return { kind: 'none' };
  if (buf.length < length) return { kind: 'incomplete' };
  if (buf[5] !== X224_CONNECTION_REQUEST) return { kind: 'none' };
  const pdu = buf.subarray(COOKIE_OFFSET, length);
  const m = /^Cookie:[ \t]*([^=\r\n]+)=([^\r\n]*)\r\n/.exec(pdu.toString('latin1'));
  if (!m) return { kind: 'none' };
  return { kind: 'cookie', name: m[1]!.trim(), value: m[2]! };
}

const prefixOfTpkt = (buf: Buffer): boolean => (buf.length < 1 || buf[0] === 0x03) && (buf.length < 2 || buf[1] === 0x00);

/**
 * The server an `msts` cookie names: `ADDR.PORT.0000`, ADDR the IPv4 address's four bytes
 * read as a little-endian integer and PORT the port's two bytes swapped (Microsoft's
 * encoding, as HAProxy decodes it). Undefined when the value is not of that form.
 */
export function decodeMstsCookie(value: string): { host: string; port: number } | undefined {
  const m = /^(\d{1,10})\.(\d{1,5})\./.exec(value);
  if (!m) return undefined;
  const addr = Number(m[1]);
  const rawPort = Number(m[2]);
  if (addr > 0xffffffff || rawPort > 0xffff) return undefined;
  const host = `${addr & 0xff}.${(addr >>> 8) & 0xff}.${(addr >>> 16) & 0xff}.${addr >>> 24}`;
  const port = ((rawPort & 0xff) << 8) | (rawPort >> 8);
  return { host, port };
}

/** The `msts` value a broker would give for a server (the inverse of decodeMstsCookie). */
export function encodeMstsCookie(host: string, port: number): string {
  const b = host.split('.').map(Number) as [number, number, number, number];
  const addr = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  return `${addr}.${((port & 0xff) << 8) | (port >> 8)}.0000`;
}
