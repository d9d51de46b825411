// HAProxy's hash functions (src/hash.c) and its avalanche mixer (full_hash in tools.h), on
// bytes, giving unsigned 32-bit results. They must match HAProxy bit for bit: with the same
// servers, the same key has to land on the same server under limpet and under HAProxy.

export type HashFunction = 'sdbm' | 'djb2' | 'wt6' | 'crc32';

export function sdbm(key: Uint8Array): number {
  let h = 0;
  // h = c + (h << 6) + (h << 16) - h, i.e. h * 65599 + c, modulo 2^32
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 65599) + key[i]!) >>> 0;
  return h;
}

export function djb2(key: Uint8Array): number {
  let h = 5381;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 33) + key[i]!) >>> 0;
  return h;
}

export function wt6(key: Uint8Array): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    h0 = ~(h0 ^ c) >>> 0;
    h1 = ~(h1 + c) >>> 0;
    const t = rotl(h1, step0);
    h1 = rotl(h0, step1);
    h0 = t;
    const mix = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = mix & 0x1f;
    step1 = mix >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

// A shift by 32 is a no-op in C on the machines HAProxy runs on only by accident; HAProxy's
// steps are 0..31, where a rotation by 0 must give the value back unchanged.
function rotl(v: number, n: number): number {
  return n === 0 ? v >>> 0 : ((v << n) | (v >>> (32 - n))) >>> 0;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The IEEE CRC-32 (as zlib's crc32), which is what HAProxy's bitwise loop computes. */
export function crc32(key: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < key.length; i++) c = CRC_TABLE[(c ^ key[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** HAProxy's full_hash: Bob Jenkins' 32-bit integer mix ("avalanche"), then a multiplication. */
export function fullHash(a: number): number {
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  // HAProxy then multiplies by 3221225473 (0xC0000001) to spread values around the ring.
  return Math.imul(a, 0xc0000001) >>> 0;
}

const FUNCTIONS: Record<HashFunction, (key: Uint8Array) => number> = { sdbm, djb2, wt6, crc32 };

/** HAProxy's gen_hash: the backend's function, then avalanche when asked for. */
export function genHash(fn: HashFunction, avalanche: boolean, key: Uint8Array): number {
  const h = FUNCTIONS[fn](key);
  return avalanche ? fullHash(h) : h;
}
