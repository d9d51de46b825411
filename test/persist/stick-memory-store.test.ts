// The in-memory stick table: expiry refreshed by use, least recently used evicted when full,
// `nopurge` refusing new entries instead; and the key conversions of each table type.
import t from 'tap';
import { StickMemoryStore } from '../../lib/persist/stick-memory-store.js';
import { StickTable } from '../../lib/persist/stick-table.js';
import type { StickTableConfig } from '../../lib/config/types.js';

const matchNow = (s: StickMemoryStore, key: string) => {
  let out: string | undefined = 'not called';
  s.match(key, (v) => (out = v));
  return out;
};

t.test('entries expire `expire` after their last use, and a match refreshes them', async (t) => {
  let now = 1000;
  const s = new StickMemoryStore({ size: 10, expire: 100, nopurge: false, now: () => now });
  s.store('a', 's1');
  now += 90;
  t.equal(matchNow(s, 'a'), 's1');
  now += 90; // 180 after creation, 90 after the match
  t.equal(matchNow(s, 'a'), 's1', 'the match refreshed the entry');
  now += 101;
  t.equal(matchNow(s, 'a'), undefined, 'expired');
  t.equal(s.count, 0);
});

t.test('a full table evicts the least recently used entry', async (t) => {
  let now = 0;
  const s = new StickMemoryStore({ size: 3, expire: undefined, nopurge: false, now: () => now++ });
  s.store('a', 's1');
  s.store('b', 's2');
  s.store('c', 's3');
  t.equal(matchNow(s, 'a'), 's1', 'a is now the most recently used');
  s.store('d', 's1');
  t.equal(s.count, 3);
  t.equal(matchNow(s, 'b'), undefined, 'b, the least recently used, was evicted');
  t.same([matchNow(s, 'a'), matchNow(s, 'c'), matchNow(s, 'd')], ['s1', 's3', 's1']);
});

t.test('nopurge refuses new entries when full, and expired ones make room', async (t) => {
  let now = 0;
  const s = new StickMemoryStore({ size: 2, expire: 50, nopurge: true, now: () => now });
  s.store('a', 's1');
  s.store('b', 's2');
  s.store('c', 's3');
  t.equal(matchNow(s, 'c'), undefined, 'no room: refused');
  t.equal(matchNow(s, 'a'), 's1', 'existing entries stay');
  s.store('b', 's3');
  t.equal(matchNow(s, 'b'), 's3', 'an existing entry can still be updated');
  now += 60;
  s.store('c', 's3');
  t.equal(matchNow(s, 'c'), 's3', 'expired entries were purged to make room');
});

t.test('claim: the first writer wins', async (t) => {
  const s = new StickMemoryStore({ size: 10, expire: 1000, nopurge: false });
  const got: Array<string | undefined> = [];
  s.claim('k', () => 's1', (v) => got.push(v));
  s.claim('k', () => 's2', (v) => got.push(v));
  t.same(got, ['s1', 's1']);
  s.close();
});

const table = (type: StickTableConfig['type'], len = 32) =>
  new StickTable('t', { type, len, size: 1, nopurge: false, srvkey: 'name', where: { file: 'x', line: 1 } }, new StickMemoryStore({ size: 1, expire: undefined, nopurge: false }));

t.test('samples convert to the table type or give no key', async (t) => {
  t.equal(table('ip').key('10.1.2.3'), '10.1.2.3');
  t.equal(table('ip').key('::ffff:10.1.2.3'), '10.1.2.3', 'IPv4-mapped addresses are IPv4');
  t.equal(table('ip').key('2001:db8::1'), undefined);
  t.equal(table('ipv6').key('10.1.2.3'), '::ffff:10.1.2.3');
  t.equal(table('ipv6').key('2001:DB8::1'), '2001:db8::1');
  t.equal(table('ipv6').key('nope'), undefined);
  t.equal(table('integer').key('+42'), '42');
  t.equal(table('integer').key('4294967296'), undefined, 'beyond 32 bits');
  t.equal(table('integer').key('abc'), undefined);
  t.equal(table('string', 4).key('abcdef'), 'abcd', 'truncated to len');
  t.equal(table('string').key(''), undefined);
  t.equal(table('string').key(undefined), undefined);
});
