// SHA-256-crypt and SHA-512-crypt ($5$ / $6$), implemented from Ulrich Drepper's
// specification ("Unix crypt using SHA-256 and SHA-512"), because Node has no crypt(3) and
// these are the hashes `userlist ... password` lines carry today.
import { createHash, timingSafeEqual } from 'node:crypto';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

type Algo = 'sha256' | 'sha512';

/** The fields of a `$5$[rounds=N$]salt$hash` string, or undefined when it is not one. */
export function parseShaCrypt(hash: string): { algo: Algo; rounds: number; explicitRounds: boolean; salt: string } | undefined {
  const m = /^\$([56])\$(?:rounds=(\d+)\$)?([^$]{0,16})[^$]*\$[./0-9A-Za-z]+$/.exec(hash);
  if (!m) return undefined;
  const rounds = m[2] === undefined ? 5000 : Math.min(999_999_999, Math.max(1000, Number(m[2])));
  return { algo: m[1] === '5' ? 'sha256' : 'sha512', rounds, explicitRounds: m[2] !== undefined, salt: m[3]! };
}

function digest(algo: Algo, ...parts: Buffer[]): Buffer {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Repeats `block` to fill `length` bytes (steps 16 and 20 of the specification). */
function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

export function shaCrypt(password: string, algo: Algo, salt: string, rounds = 5000, explicitRounds = false): string {
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt.slice(0, 16), 'utf8');
  const size = algo === 'sha256' ? 32 : 64;
  const B = digest(algo, P, S, P);
  const a = createHash(algo);
  a.update(P);
  a.update(S);
  let n = P.length;
  for (; n > size; n -= size) a.update(B);
  a.update(B.subarray(0, n));
  for (let len = P.length; len > 0; len >>= 1) a.update(len & 1 ? B : P);
  let A = a.digest();
  const dp = createHash(algo);
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pbytes = repeatTo(dp.digest(), P.length);
  const ds = createHash(algo);
  for (let i = 0; i < 16 + A[0]!; i++) ds.update(S);
  const Sbytes = repeatTo(ds.digest(), S.length);
  for (let r = 0; r < rounds; r++) {
    const c = createHash(algo);
    c.update(r & 1 ? Pbytes : A);
    if (r % 3 !== 0) c.update(Sbytes);
    if (r % 7 !== 0) c.update(Pbytes);
    c.update(r & 1 ? A : Pbytes);
    A = c.digest();
  }
  const order = algo === 'sha256' ? ORDER_256 : ORDER_512;
  let out = '';
  for (const [b2, b1, b0, chars] of order) {
    let w = ((b2 < 0 ? 0 : A[b2]!) << 16) | ((b1 < 0 ? 0 : A[b1]!) << 8) | A[b0]!;
    for (let i = 0; i < chars; i++) {
      out += B64[w & 63];
      w >>= 6;
    }
  }
  const prefix = algo === 'sha256' ? '$5$' : '$6$';
  return `${prefix}${explicitRounds ? `rounds=${rounds}$` : ''}${salt.slice(0, 16)}$${out}`;
}

/** Checks a password against a $5$/$6$ hash in constant time for equal-length results. */
export function verifyShaCrypt(password: string, hash: string): boolean {
  const p = parseShaCrypt(hash);
  if (!p) return false;
  const computed = Buffer.from(shaCrypt(password, p.algo, p.salt, p.rounds, p.explicitRounds));
  const expected = Buffer.from(hash);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

// Byte triples (high, middle, low) and how many base-64 characters each gives, per the spec.
const ORDER_256: Array<[number, number, number, number]> = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4], [-1, 31, 30, 3],
];
const ORDER_512: Array<[number, number, number, number]> = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4], [47, 5, 26, 4], [6, 27, 48, 4],
  [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4], [31, 52, 10, 4], [53, 11, 32, 4], [12, 33, 54, 4], [34, 55, 13, 4],
  [56, 14, 35, 4], [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4], [18, 39, 60, 4], [40, 61, 19, 4], [62, 20, 41, 4],
  [-1, -1, 63, 2],
];
