// How several workers' statistics combine into the whole (lib/observe/stats-merge.ts), column by
// column: counts and levels add up, peaks are the largest seen (never below the current total),
// averages weigh each worker by its sessions, state and configuration are the first worker's.
import t from 'tap';
import type { StickTableStatus } from '../../lib/persist/stick-runtime.js';
import type { StatRow, StatsSnapshot } from '../../lib/observe/stats-data.js';
import { mergeSnapshots } from '../../lib/observe/stats-merge.js';

const server = (over: Partial<StatRow>): StatRow => ({
  pxname: 'farm', svname: 's1', type: 2, qcur: 0, qmax: 0, scur: 0, smax: 0, slim: 10, stot: 0, bin: 0, bout: 0,
  hrsp_2xx: 0, status: 'UP', weight: 1, chkfail: 0, lastsess: -1, ttime: 0, ...over,
});

const stick = (over: Partial<StickTableStatus>): StickTableStatus => ({
  table: 'sticky', entries: 0, size: 100, counters: { localHits: 0, redisHits: 0, misses: 0, timeouts: 0 }, ...over,
});

const snapshot = (rows: StatRow[], actconn: number, cumReq: number, tables: StickTableStatus[] = []): StatsSnapshot => ({
  rows,
  process: { pid: 11, nbthread: 1, startedAt: 5, actconn, cumConns: cumReq, cumReq },
  stick: tables,
});

t.test('rows of two workers', async (t) => {
  const w1 = snapshot([server({ scur: 2, smax: 3, stot: 30, bin: 100, hrsp_2xx: 29, status: 'MAINT', weight: 0, chkfail: 4, lastsess: 7, ttime: 10 })], 2, 40);
  const w2 = snapshot([server({ scur: 3, smax: 4, stot: 10, bin: 50, hrsp_2xx: 10, status: 'UP', weight: 1, chkfail: 4, lastsess: 2, ttime: 50 })], 3, 15);
  const whole = mergeSnapshots([w1, w2], { pid: 99, startedAt: 1, workers: 2 });
  const r = whole.rows[0]!;
  t.equal(r.scur, 5, 'current sessions add up');
  t.equal(r.stot, 40);
  t.equal(r.bin, 150);
  t.equal(r.hrsp_2xx, 39);
  t.equal(r.smax, 5, 'the peak is at least the current total (5), though no worker alone saw more than 4');
  t.equal(r.ttime, 20, 'average time weighted by sessions: (10*30 + 50*10) / 40');
  t.equal(r.lastsess, 2, 'the most recent session of any worker');
  t.equal(r.status, 'MAINT', 'state is the first worker\'s');
  t.equal(r.weight, 0);
  t.equal(r.chkfail, 4, 'each worker checks the server: its failures are not counted twice');
  t.equal(r.slim, 10);
  t.same(whole.process, { pid: 99, nbthread: 2, startedAt: 1, actconn: 5, cumConns: 55, cumReq: 55 });
});

t.test('peaks and unset columns', async (t) => {
  const w1 = snapshot([server({ smax: 9, scur: 0 }), { pxname: 'www', svname: 'FRONTEND', type: 0, lastsess: '', stot: 1 }], 0, 0);
  const w2 = snapshot([server({ smax: 2, scur: 1 }), { pxname: 'www', svname: 'FRONTEND', type: 0, lastsess: '', stot: 2 }], 0, 0);
  const [s1, fe] = mergeSnapshots([w1, w2], { pid: 1, startedAt: 1, workers: 2 }).rows;
  t.equal(s1!.smax, 9, 'the largest peak when it is above the current total');
  t.equal(s1!.lastsess, -1, 'no session anywhere: -1');
  t.equal(fe!.lastsess, '', 'a column the row leaves empty stays empty');
  t.equal(fe!.stot, 3);
});

t.test('a row only one worker has (a reload in progress) is the first worker\'s set', async (t) => {
  const w1 = snapshot([server({ stot: 1 })], 0, 0);
  const w2 = snapshot([server({ svname: 's9', stot: 5 }), server({ stot: 2 })], 0, 0);
  const rows = mergeSnapshots([w1, w2], { pid: 1, startedAt: 1, workers: 2 }).rows;
  t.same(rows.map((r) => `${r.svname}:${r.stot}`), ['s1:3']);
});

t.test('stick tables: counters add up, entries do not (every worker holds every entry)', async (t) => {
  const redis = (up: boolean, rt: number) => ({ name: 'shared', up, roundTrips: rt, roundTripMs: rt * 2, recentRoundTripMs: rt });
  const w1 = snapshot([], 0, 0, [stick({ entries: 7, counters: { localHits: 5, redisHits: 1, misses: 2, timeouts: 0 }, redis: redis(true, 3) })]);
  const w2 = snapshot([], 0, 0, [stick({ entries: 6, counters: { localHits: 4, redisHits: 2, misses: 1, timeouts: 1 }, redis: redis(false, 4) })]);
  const [s] = mergeSnapshots([w1, w2], { pid: 1, startedAt: 1, workers: 2 }).stick;
  t.equal(s!.entries, 7);
  t.equal(s!.size, 100);
  t.same(s!.counters, { localHits: 9, redisHits: 3, misses: 3, timeouts: 1 });
  t.same(s!.redis, { name: 'shared', up: false, roundTrips: 7, roundTripMs: 14, recentRoundTripMs: 4 });
});
