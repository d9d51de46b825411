import t from 'tap';
import { crc32, djb2, fullHash, genHash, sdbm, wt6 } from '../../lib/balance/hash-functions.js';

const b = (s: string) => Buffer.from(s, 'latin1');

// Independent references written from the functions' published definitions, in BigInt.
const M32 = (1n << 32n) - 1n;
function sdbmRef(s: string): number {
  let h = 0n;
  for (const c of b(s)) h = (BigInt(c) + (h << 6n) + (h << 16n) - h) & M32;
  return Number(h);
}
function djb2Ref(s: string): number {
  let h = 5381n;
  for (const c of b(s)) h = ((h << 5n) + h + BigInt(c)) & M32;
  return Number(h);
}

t.test('sdbm and djb2 match their definitions', async (t) => {
  for (const s of ['', 'a', '/index.html', 'The quick brown fox jumps over the lazy dog', '\xff\xfe\x00x']) {
    t.equal(sdbm(b(s)), sdbmRef(s), `sdbm(${JSON.stringify(s)})`);
    t.equal(djb2(b(s)), djb2Ref(s), `djb2(${JSON.stringify(s)})`);
  }
  t.equal(sdbm(b('a')), 97);
  t.equal(djb2(b('')), 5381);
});

t.test('crc32 is the IEEE CRC-32', async (t) => {
  t.equal(crc32(b('123456789')), 0xcbf43926, 'the standard check value');
  t.equal(crc32(b('')), 0);
  t.equal(crc32(b('The quick brown fox jumps over the lazy dog')), 0x414fa339);
});

t.test('wt6 and the avalanche mix are deterministic 32-bit values', async (t) => {
  // (their agreement with HAProxy is checked against haproxy itself in haproxy-side-by-side)
  for (const s of ['', 'x', '/a/b/c']) {
    const h = wt6(b(s));
    t.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `wt6(${s}) is uint32`);
    t.equal(wt6(b(s)), h);
  }
  t.not(wt6(b('a')), wt6(b('b')));
  t.equal(fullHash(0) >>> 0, fullHash(0));
  t.not(fullHash(1), fullHash(2));
  t.equal(genHash('sdbm', false, b('abc')), sdbm(b('abc')));
  t.equal(genHash('sdbm', true, b('abc')), fullHash(sdbm(b('abc'))));
});
