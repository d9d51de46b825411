// HAProxy's sample casts (sample_casts[][] in src/sample.c), for what converters take in: a
// converter declares the type it reads and the sample is cast to it, or the configuration is
// refused when no cast exists (a binary or a method to an integer). Strings and binaries are
// both JavaScript strings holding one byte per character (latin1), as header values are.
import net from 'node:net';
import { INT64_MAX, INT64_MIN, readInt64 } from './int64.js';
import type { Sample, SampleType } from './sample.js';

/** The types a sample has between converters: SampleType plus binary. */
export type ChainType = SampleType | 'bin';

/** What a converter reads: HAProxy's in_type. 'addr' is an IPv4 or IPv6 address. */
export type InputType = 'str' | 'int' | 'bin' | 'addr' | 'any';

export function canCast(from: ChainType, to: InputType): boolean {
  if (to === 'any' || to === 'str' || to === 'bin') return true;
  if (to === 'int') return from !== 'bin' && from !== 'meth';
  return from === 'ip' || from === 'str'; // addr: a string is parsed as an address
}

/**
 * The sample as a signed 64-bit integer: a string as HAProxy's c_str2int reads it (leading
 * digits; an empty string has no value), an IPv4 address as its 32-bit number (IPv6: none).
 */
export function castToInt(s: Sample, from: ChainType): bigint | undefined {
  if (typeof s === 'number') return BigInt(Math.trunc(s));
  if (typeof s === 'boolean') return s ? 1n : 0n;
  if (from === 'ip') {
    const b = addressBytes(s);
    return b?.length === 4 ? BigInt(b.readUInt32BE(0)) : undefined;
  }
  if (s === '') return undefined;
  return readInt64(s).value;
}

/**
 * The sample as bytes: a string as itself, an integer as 8 bytes big-endian, an address as its
 * 4 or 16 bytes in network order (HAProxy's c_int2bin and c_addr2bin).
 */
export function castToBytes(s: Sample, from: ChainType): Buffer {
  if (typeof s === 'number' || typeof s === 'boolean' || (from === 'int' && /^-?\d+$/.test(s))) {
    const b = Buffer.alloc(8);
    const v = typeof s === 'boolean' ? BigInt(s) : typeof s === 'number' ? BigInt(Math.trunc(s)) : BigInt(s);
    b.writeBigInt64BE(v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v);
    return b;
  }
  if (from === 'ip') {
    const b = addressBytes(s);
    if (b) return b;
  }
  return Buffer.from(s, 'latin1');
}

/** The 4 bytes of an IPv4 address or the 16 of an IPv6 one; undefined for anything else. */
export function addressBytes(text: string): Buffer | undefined {
  if (net.isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!net.isIPv6(text)) return undefined;
  const out = Buffer.alloc(16);
  expandIpv6(text).forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The eight 16-bit groups of an IPv6 address (with `::` and an embedded IPv4 tail). */
export function expandIpv6(addr: string): number[] {
  let text = addr;
  const tail: number[] = [];
  if (text.includes('.')) {
    // an embedded IPv4 address (`::ffff:1.2.3.4`) is the last two groups
    const colon = text.lastIndexOf(':');
    const o = text.slice(colon + 1).split('.').map(Number);
    tail.push(o[0]! * 256 + o[1]!, o[2]! * 256 + o[3]!);
    text = text.endsWith('::', colon + 1) ? text.slice(0, colon + 1) : text.slice(0, colon);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return [...parse(text), ...tail];
  const left = parse(text.slice(0, gap));
  const right = [...parse(text.slice(gap + 2)), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * IPv6 groups as inet_ntop(3) writes them (what HAProxy prints): the longest run of two or more
 * zero groups as `::`, and an IPv4-mapped or IPv4-compatible address with a dotted tail.
 */
export function formatIpv6(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const v4 = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
