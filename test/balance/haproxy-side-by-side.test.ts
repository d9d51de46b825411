// Side by side with the real HAProxy (skipped when `haproxy` is not installed): for the same
// servers and the same requests, limpet's hash balancers must choose the same server.
import t from 'tap';
import type { HashTypeConfig } from '../../lib/config/types.js';
import { makeFarm, type ServerSpec } from './farm.js';
import { haveHaproxy, startHaproxyFarm } from './haproxy-harness.js';

const SERVERS: ServerSpec[] = [
  { name: 's1', weight: 1 },
  { name: 's2', weight: 2 },
  { name: 's3', weight: 3 },
  { name: 's4', weight: 1, id: 9 },
  { name: 's5', weight: 5 },
];
const serverLines = SERVERS.map((s) => ({ name: s.name, opts: `weight ${s.weight}${s.id ? ` id ${s.id}` : ''}` }));
const URIS = Array.from({ length: 120 }, (_, i) => `/static/${i}/img-${(i * 7919) % 1000}.png?v=${i}`);

const cases: Array<{ title: string; lines: string[]; hashType?: HashTypeConfig }> = [
  { title: 'map-based sdbm (the default)', lines: ['balance uri'] },
  { title: 'map-based djb2', lines: ['balance uri', 'hash-type map-based djb2'], hashType: { lookup: 'map-based', fn: 'djb2', avalanche: false } },
  { title: 'map-based wt6', lines: ['balance uri', 'hash-type map-based wt6'], hashType: { lookup: 'map-based', fn: 'wt6', avalanche: false } },
  { title: 'map-based crc32', lines: ['balance uri', 'hash-type map-based crc32'], hashType: { lookup: 'map-based', fn: 'crc32', avalanche: false } },
  { title: 'map-based sdbm avalanche', lines: ['balance uri', 'hash-type map-based sdbm avalanche'], hashType: { lookup: 'map-based', fn: 'sdbm', avalanche: true } },
  { title: 'map-based crc32 avalanche', lines: ['balance uri', 'hash-type map-based crc32 avalanche'], hashType: { lookup: 'map-based', fn: 'crc32', avalanche: true } },
  { title: 'consistent (sdbm with avalanche by default)', lines: ['balance uri', 'hash-type consistent'], hashType: { lookup: 'consistent', fn: 'sdbm', avalanche: true } },
  { title: 'consistent sdbm', lines: ['balance uri', 'hash-type consistent sdbm'], hashType: { lookup: 'consistent', fn: 'sdbm', avalanche: false } },
  { title: 'consistent djb2', lines: ['balance uri', 'hash-type consistent djb2'], hashType: { lookup: 'consistent', fn: 'djb2', avalanche: false } },
  { title: 'consistent sdbm avalanche', lines: ['balance uri', 'hash-type consistent sdbm avalanche'], hashType: { lookup: 'consistent', fn: 'sdbm', avalanche: true } },
];

t.test('hash balancing picks the server HAProxy picks', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
  for (const c of cases) {
    await t.test(c.title, async (t) => {
      const farm = await startHaproxyFarm(t, c.lines, serverLines);
      const ours = makeFarm('uri', [], SERVERS, c.hashType);
      const differ: string[] = [];
      for (const uri of URIS) {
        const theirs = await farm.pick(`GET ${uri} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        const mine = ours.pick({ uri })?.name;
        if (mine !== theirs) differ.push(`${uri}: haproxy ${theirs}, limpet ${mine}`);
      }
      t.same(differ, [], `all ${URIS.length} URIs on the same server`);
    });
  }
});
