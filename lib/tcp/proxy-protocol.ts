// The PROXY protocol (haproxy.org/download/3.0/doc/proxy-protocol.txt), versions 1 and 2:
// parsing the header a load balancer in front of us sends (`accept-proxy`, version detected
// from the first bytes) and writing the one we send to servers (`send-proxy`, `send-proxy-v2`).
import net from 'node:net';

/** The addresses of the original connection, as the header carries them. */
export interface ProxiedAddresses {
  family: 'tcp4' | 'tcp6';
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
}

export type ProxyHeaderResult =
  /** more bytes are needed to decide */
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /**
   * A valid header of `length` bytes. `addresses` is undefined for v1 `UNKNOWN`, the v2 LOCAL
   * command and v2 families we do not route on (unix, unspec): the connection's own
   * addresses then stand, as the specification says.
   */
  | { kind: 'header'; version: 1 | 2; length: number; addresses: ProxiedAddresses | undefined };

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1's longest line, CRLF included (the specification's 107 bytes) */
const V1_MAX = 107;
/** A v2 header's declared length is capped so a peer cannot make us buffer 64 KiB. */
const V2_MAX_BODY = 4096;

/** Parses a PROXY header at the start of `buf`, whichever version it is. */
export function parseProxyHeader(buf: Buffer): ProxyHeaderResult {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] === V2_SIGNATURE[0]) {
    const n = Math.min(buf.length, V2_SIGNATURE.length);
    if (!buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) return { kind: 'invalid', reason: 'bad PROXY v2 signature' };
    return parseV2(buf);
  }
  const n = Math.min(buf.length, V1_PREFIX.length);
  if (!buf.subarray(0, n).equals(V1_PREFIX.subarray(0, n))) return { kind: 'invalid', reason: 'no PROXY protocol header' };
  return parseV1(buf);
}

function parseV1(buf: Buffer): ProxyHeaderResult {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'PROXY v1 line too long' } : { kind: 'incomplete' };
  }
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'PROXY v1 line too long' };
  const fields = buf.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (fields[1] === 'UNKNOWN') return { kind: 'header', version: 1, length, addresses: undefined };
  if (fields.length !== 6) return { kind: 'invalid', reason: 'PROXY v1 line needs 6 fields' };
  const [, proto, src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 'tcp4' : proto === 'TCP6' ? 'tcp6' : undefined;
  if (!family) return { kind: 'invalid', reason: `unknown PROXY v1 protocol '${proto}'` };
  const ipVersion = family === 'tcp4' ? 4 : 6;
  if (net.isIP(src) !== ipVersion || net.isIP(dst) !== ipVersion) return { kind: 'invalid', reason: 'bad PROXY v1 address' };
  const srcPort = parsePort(sport);
  const dstPort = parsePort(dport);
  if (srcPort === undefined || dstPort === undefined) return { kind: 'invalid', reason: 'bad PROXY v1 port' };
  return { kind: 'header', version: 1, length, addresses: { family, srcAddress: src, srcPort, dstAddress: dst, dstPort } };
}

/** A decimal port without sign or leading zeros, 0..65535, as the specification requires. */
function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV2(buf: Buffer): ProxyHeaderResult {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'bad PROXY v2 version' };
  const command = verCmd & 0x0f;
  if (command > 1) return { kind: 'invalid', reason: 'bad PROXY v2 command' };
  const bodyLength = buf.readUInt16BE(14);
  if (bodyLength > V2_MAX_BODY) return { kind: 'invalid', reason: 'PROXY v2 header too long' };
  const length = 16 + bodyLength;
  if (buf.length < length) return { kind: 'incomplete' };
  // LOCAL: the sender's own connection (a health check); keep the real addresses.
  if (command === 0) return { kind: 'header', version: 2, length, addresses: undefined };
  const famProto = buf[13]!;
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  // Only TCP over IPv4/IPv6 carries addresses we use; other families are accepted and ignored.
  if (transport !== 1 || (family !== 1 && family !== 2)) return { kind: 'header', version: 2, length, addresses: undefined };
  const body = buf.subarray(16, length);
  if (family === 1) {
    if (body.length < 12) return { kind: 'invalid', reason: 'PROXY v2 IPv4 block too short' };
    return {
      kind: 'header',
      version: 2,
      length,
      addresses: {
        family: 'tcp4',
        srcAddress: ipv4(body.subarray(0, 4)),
        dstAddress: ipv4(body.subarray(4, 8)),
        srcPort: body.readUInt16BE(8),
        dstPort: body.readUInt16BE(10),
      },
    };
  }
  if (body.length < 36) return { kind: 'invalid', reason: 'PROXY v2 IPv6 block too short' };
  return {
    kind: 'header',
    version: 2,
    length,
    addresses: {
      family: 'tcp6',
      srcAddress: ipv6(body.subarray(0, 16)),
      dstAddress: ipv6(body.subarray(16, 32)),
      srcPort: body.readUInt16BE(32),
      dstPort: body.readUInt16BE(34),
    },
  };
}

const ipv4 = (b: Buffer): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Normalised through URL so the text is the canonical compressed form ('::1', not '0:0:...:1').
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** The addresses of a socket, as a PROXY header would carry them; undefined if unknown. */
export function socketAddresses(socket: net.Socket): ProxiedAddresses | undefined {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || remotePort === undefined || !localAddress || localPort === undefined) return undefined;
  return normaliseFamilies({ family: 'tcp4', srcAddress: remoteAddress, srcPort: remotePort, dstAddress: localAddress, dstPort: localPort });
}

/**
 * Both addresses in one family: IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual
 * stack listener reports) become IPv4 when both are mapped; a mixed pair becomes IPv6.
 */
export function normaliseFamilies(a: ProxiedAddresses): ProxiedAddresses {
  const unmap = (s: string) => (s.toLowerCase().startsWith('::ffff:') && net.isIPv4(s.slice(7)) ? s.slice(7) : s);
  let src = unmap(a.srcAddress);
  let dst = unmap(a.dstAddress);
  if (net.isIPv4(src) && net.isIPv4(dst)) return { ...a, family: 'tcp4', srcAddress: src, dstAddress: dst };
  if (net.isIPv4(src)) src = `::ffff:${src}`;
  if (net.isIPv4(dst)) dst = `::ffff:${dst}`;
  return { ...a, family: 'tcp6', srcAddress: src, dstAddress: dst };
}

/** A v1 header line; `PROXY UNKNOWN` when the addresses are not known. */
export function proxyHeaderV1(a: ProxiedAddresses | undefined): Buffer {
  if (!a) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const n = normaliseFamilies(a);
  return Buffer.from(`PROXY ${n.family === 'tcp4' ? 'TCP4' : 'TCP6'} ${n.srcAddress} ${n.dstAddress} ${n.srcPort} ${n.dstPort}\r\n`, 'latin1');
}

/** A v2 header: PROXY over TCP with the addresses, or the LOCAL command when they are unknown. */
export function proxyHeaderV2(a: ProxiedAddresses | undefined): Buffer {
  if (!a) {
    const local = Buffer.alloc(16);
    V2_SIGNATURE.copy(local);
    local[12] = 0x20; // version 2, LOCAL
    local[13] = 0x00; // AF_UNSPEC
    return local;
  }
  const n = normaliseFamilies(a);
  const v4 = n.family === 'tcp4';
  const body = v4 ? 12 : 36;
  const out = Buffer.alloc(16 + body);
  V2_SIGNATURE.copy(out);
  out[12] = 0x21; // version 2, PROXY
  out[13] = v4 ? 0x11 : 0x21; // AF_INET / AF_INET6, STREAM
  out.writeUInt16BE(body, 14);
  const addrBytes = v4 ? 4 : 16;
  ipBytes(n.srcAddress, v4).copy(out, 16);
  ipBytes(n.dstAddress, v4).copy(out, 16 + addrBytes);
  out.writeUInt16BE(n.srcPort, 16 + 2 * addrBytes);
  out.writeUInt16BE(n.dstPort, 18 + 2 * addrBytes);
  return out;
}

function ipBytes(address: string, v4: boolean): Buffer {
  if (v4) return Buffer.from(address.split('.').map(Number));
  const out = Buffer.alloc(16);
  let text = address;
  // A trailing dotted quad (`::ffff:1.2.3.4`) is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -quad[1]!.length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The header `send-proxy` (1) or `send-proxy-v2` (2) sends. */
export function proxyHeader(version: 1 | 2, a: ProxiedAddresses | undefined): Buffer {
  return version === 1 ? proxyHeaderV1(a) : proxyHeaderV2(a);
}
