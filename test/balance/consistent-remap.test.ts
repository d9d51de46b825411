// Consistent hashing: taking one of N servers out remaps about 1/N of the keys, all of them
// keys that were on that server; bringing it back restores the original mapping. Map-based
// hashing, by contrast, moves most keys.
import t from 'tap';
import { makeFarm } from './farm.js';

const N = 5;
const KEYS = 10000;
const specs = Array.from({ length: N }, (_, i) => ({ name: `s${i + 1}` }));
const ctx = (i: number) => ({ uri: `/user/${i}` });

t.test('removing one of N servers moves only its keys, about 1/N', async (t) => {
  const f = makeFarm('uri', [], specs, { lookup: 'consistent', fn: 'sdbm', avalanche: true });
  const before = Array.from({ length: KEYS }, (_, i) => f.pick(ctx(i))!.name);
  f.servers[2]!.health = 'down';
  f.refresh();
  const after = Array.from({ length: KEYS }, (_, i) => f.pick(ctx(i))!.name);
  let moved = 0;
  let movedFromOthers = 0;
  for (let i = 0; i < KEYS; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (before[i] !== 's3') movedFromOthers++;
  }
  t.equal(movedFromOthers, 0, 'no key of a remaining server moved');
  t.ok(Math.abs(moved / KEYS - 1 / N) < 0.05, `moved ${(moved / KEYS).toFixed(3)} of keys, expected about ${1 / N}`);
  t.notOk(after.includes('s3'));
  f.servers[2]!.health = 'up';
  f.refresh();
  t.same(Array.from({ length: KEYS }, (_, i) => f.pick(ctx(i))!.name), before, 'back up: the same mapping as before');
});

t.test('map-based hashing remaps most keys (why consistent exists)', async (t) => {
  const f = makeFarm('uri', [], specs);
  const before = Array.from({ length: KEYS }, (_, i) => f.pick(ctx(i))!.name);
  f.servers[2]!.health = 'down';
  f.refresh();
  const moved = before.filter((b, i) => f.pick(ctx(i))!.name !== b).length;
  t.ok(moved / KEYS > 0.5, `map-based moved ${(moved / KEYS).toFixed(2)} of keys`);
});

t.test('hash-key addr gives the same ring whatever the server ids', async (t) => {
  const mk = (ids: number[]) =>
    makeFarm('uri', [], specs.map((s, i) => ({ ...s, id: ids[i], host: `10.0.0.${i + 1}`, hashKey: 'addr' as const })), { lookup: 'consistent', fn: 'sdbm', avalanche: true });
  const x = mk([1, 2, 3, 4, 5]);
  const y = mk([50, 40, 30, 20, 10]);
  const same = Array.from({ length: 2000 }, (_, i) => x.pick(ctx(i))!.name === y.pick(ctx(i))!.name).every(Boolean);
  t.ok(same, 'two instances numbering servers differently agree');
  const z = makeFarm('uri', [], specs.map((s, i) => ({ ...s, id: [50, 40, 30, 20, 10][i] })), { lookup: 'consistent', fn: 'sdbm', avalanche: true });
  t.notOk(Array.from({ length: 2000 }, (_, i) => x.pick(ctx(i))!.name === z.pick(ctx(i))!.name).every(Boolean), 'with hash-key id they would not');
});

t.test('hash-balance-factor bounds a server to its share of the load', async (t) => {
  const f = makeFarm('uri', [], specs, { lookup: 'consistent', fn: 'sdbm', avalanche: true }, 125);
  // Every request has the same key: without bounded loads one server would take them all.
  for (let i = 0; i < 100; i++) f.pick({ uri: '/hot' })!.take();
  const max = Math.max(...f.servers.map((s) => s.active));
  t.ok(max <= Math.ceil((100 * 1.25) / N) + 1, `the busiest server holds ${max} of 100 (bound ${Math.ceil((100 * 1.25) / N)})`);
});
