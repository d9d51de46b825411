// `hash-key id|addr|addr-port` on the consistent-hash ring (lib/balance/chash-ring.ts), IPv6
// servers included: XXH32 checked against lz4's frame checksums (XXH32, seed 0), the server
// keys as lb_chash.c derives them, and rings that agree whatever the server ids.
import t from 'tap';
import { pointKey, serverKey } from '../../lib/balance/chash-ring.js';
import { fullHash } from '../../lib/balance/hash-functions.js';
import { xxh32 } from '../../lib/balance/xxh32.js';
import { makeFarm, makeServer } from './farm.js';

t.test('XXH32', async (t) => {
  // expected values: `lz4 -c` content checksums of the same bytes
  const cases: Array<[string, number]> = [
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['abc', 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
    ['0123456789abcdef0123456789ABCDEF-xyz', 0x99b4d3f7],
  ];
  for (const [s, want] of cases) t.equal(xxh32(Buffer.from(s, 'latin1')), want, JSON.stringify(s));
  t.equal(xxh32(Buffer.alloc(0), 0x9e3779b1), 0x36b78ae7, 'a seed changes the start values');
});

t.test('server keys', async (t) => {
  const s = (host: string, hashKey: 'id' | 'addr' | 'addr-port', id = 7, port = 8080) => makeServer({ name: 'x', host, hashKey, id, port }, id);
  t.equal(serverKey(s('10.1.2.3', 'id')), 7 * 4096, 'id: the id times SRV_EWGHT_RANGE, as before hash-key existed');
  t.equal(pointKey(s('10.1.2.3', 'id'), 5), fullHash(7 * 4096 + 5));
  t.equal(serverKey(s('10.1.2.3', 'addr')), fullHash(0x0302010a), 'IPv4: in_addr read on a little-endian host, mixed');
  t.equal(serverKey(s('10.1.2.3', 'addr-port')), fullHash((fullHash(8080) + 0x0302010a) >>> 0), 'addr-port adds the hashed port');
  const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
  t.equal(serverKey(s('2001:db8::1', 'addr')), xxh32(v6, 0), 'IPv6: XXH32 of the 16 bytes');
  t.equal(serverKey(s('2001:db8::1', 'addr-port')), xxh32(v6, fullHash(8080)), 'IPv6 addr-port: seeded with the hashed port');
  t.equal(serverKey(s('2001:0db8:0:0:0:0:0:1', 'addr')), serverKey(s('2001:db8::1', 'addr')), 'however the address is written');
  t.not(serverKey(s('2001:db8::2', 'addr')), serverKey(s('2001:db8::1', 'addr')));
  t.not(serverKey(s('2001:db8::1', 'addr-port', 7, 81)), serverKey(s('2001:db8::1', 'addr-port', 7, 80)));
  t.equal(serverKey(s('2001:db8::1', 'addr', 9)), serverKey(s('2001:db8::1', 'addr', 3)), 'the id plays no part');
  t.equal(serverKey(s('app.internal', 'addr', 9)), 9 * 4096, 'a host name: the id, as HAProxy without an address');
  t.equal(pointKey(s('2001:db8::1', 'addr'), 3), fullHash((xxh32(v6, 0) + 3) >>> 0), 'points: the key plus the point number, mixed');
});

t.test('IPv6 servers with hash-key addr/addr-port build the same ring whatever their ids', async (t) => {
  const ctx = (i: number) => ({ uri: `/user/${i}` });
  for (const hashKey of ['addr', 'addr-port'] as const) {
    const mk = (ids: number[]) =>
      makeFarm('uri', [], ids.map((id, i) => ({ name: `s${i + 1}`, id, host: `2001:db8::${i + 1}`, port: 80, hashKey })), { lookup: 'consistent', fn: 'sdbm', avalanche: true });
    const x = mk([1, 2, 3, 4, 5]);
    const y = mk([50, 40, 30, 20, 10]);
    const picks = Array.from({ length: 2000 }, (_, i) => x.pick(ctx(i))!.name);
    t.same(Array.from({ length: 2000 }, (_, i) => y.pick(ctx(i))!.name), picks, `${hashKey}: two instances numbering servers differently agree`);
    t.equal(new Set(picks).size, 5, `${hashKey}: every server owns keys`);
  }
});
