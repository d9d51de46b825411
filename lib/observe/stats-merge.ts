// The whole of several workers' statistics (`nbthread N` / `--workers N`): each worker counts
// what it served; the primary merges their snapshots into the one HAProxy would show for its
// threads. Each column says how it combines: HAProxy's threads share one counter where limpet's
// workers hold one each.
import type { StickTableStatus } from '../persist/stick-runtime.js';
import type { StatColumn, StatRow, StatsSnapshot } from './stats-data.js';

/** Counts and current levels: the whole is the sum of the parts. */
const SUMMED: readonly StatColumn[] = [
  'qcur', 'scur', 'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'econ', 'eresp', 'wretr', 'wredis', 'lbtot', 'rate',
  'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other', 'hanafail', 'req_rate', 'req_tot',
  'cli_abrt', 'srv_abrt', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp', 'conn_rate', 'conn_tot', 'intercepted',
  'dcon', 'dses', 'wrew', 'connect', 'reuse', 'cache_lookups', 'cache_hits', 'srv_icur', 'eint', 'idle_conn_cur',
  'safe_conn_cur', 'used_conn_cur', 'need_conn_est', 'sess_other', 'h1sess', 'h2sess', 'h3sess', 'req_other',
  'h1req', 'h2req', 'h3req',
];

/**
 * Peaks of a level (sessions, queue, rates). The workers' peaks need not have happened at the
 * same moment, so their sum would overstate the peak (and could exceed a limit the cluster
 * enforces); the largest one, raised to the current total, is a peak that really happened.
 */
const PEAKS: ReadonlyArray<[peak: StatColumn, level: StatColumn]> = [
  ['qmax', 'qcur'], ['smax', 'scur'], ['rate_max', 'rate'], ['req_rate_max', 'req_rate'], ['conn_rate_max', 'conn_rate'],
];

/** The longest time any worker saw is the longest of all. */
const LARGEST: readonly StatColumn[] = ['qtime_max', 'ctime_max', 'rtime_max', 'ttime_max'];

/** Averages over each worker's sessions: weighted by how many sessions each one counted. */
const AVERAGED: readonly StatColumn[] = ['qtime', 'ctime', 'rtime', 'ttime'];

// Every other column is the first worker's: configuration (limits, weights, addresses, ids),
// and state (status, checks, last change), alike in every worker: the runtime API sets it in
// all of them, and one worker runs the health checks and passes their results to the others
// (lib/cluster/health-*), so a sum of check columns would count one check once per worker.

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const rowKey = (r: StatRow) => `${r.type}\0${r.pxname}\0${r.svname}`;

function mergeRows(parts: StatRow[][]): StatRow[] {
  const [first, ...others] = parts;
  if (!first) return [];
  const byKey = others.map((rows) => new Map(rows.map((r) => [rowKey(r), r])));
  return first.map((base) => {
    const same = [base, ...byKey.map((m) => m.get(rowKey(base))).filter((r): r is StatRow => r !== undefined)];
    const row: StatRow = { ...base };
    // (written through the column map: pxname, svname and type are never merged)
    const out = row as Partial<Record<StatColumn, string | number>>;
    for (const col of SUMMED) {
      if (num(base[col]) === undefined) continue;
      out[col] = same.reduce((sum, r) => sum + (num(r[col]) ?? 0), 0);
    }
    for (const [peak, level] of PEAKS) {
      if (num(base[peak]) === undefined) continue;
      out[peak] = Math.max(num(out[level]) ?? 0, ...same.map((r) => num(r[peak]) ?? 0));
    }
    for (const col of LARGEST) {
      if (num(base[col]) === undefined) continue;
      out[col] = Math.max(...same.map((r) => num(r[col]) ?? 0));
    }
    const weights = same.map((r) => num(r.stot) ?? 0);
    const total = weights.reduce((a, b) => a + b, 0);
    for (const col of AVERAGED) {
      if (num(base[col]) === undefined || total === 0) continue;
      out[col] = Math.round(same.reduce((sum, r, i) => sum + (num(r[col]) ?? 0) * weights[i]!, 0) / total);
    }
    // Seconds since the last session: the most recent of any worker (-1: none ever).
    if (num(base.lastsess) !== undefined) {
      const seen = same.map((r) => num(r.lastsess) ?? -1).filter((s) => s >= 0);
      out.lastsess = seen.length > 0 ? Math.min(...seen) : -1;
    }
    return row;
  });
}

function mergeStick(parts: StickTableStatus[][]): StickTableStatus[] {
  const [first, ...others] = parts;
  if (!first) return [];
  return first.map((base) => {
    const same = [base, ...others.map((list) => list.find((s) => s.table === base.table)).filter((s): s is StickTableStatus => s !== undefined)];
    const sum = (f: (s: StickTableStatus) => number) => same.reduce((a, s) => a + f(s), 0);
    const links = same.map((s) => s.redis).filter((r) => r !== undefined);
    return {
      table: base.table,
      // Every worker holds every entry of a table (they are shared through the primary or
      // Redis): a sum would count each entry once per worker.
      entries: Math.max(...same.map((s) => s.entries)),
      size: base.size,
      counters: {
        localHits: sum((s) => s.counters.localHits),
        redisHits: sum((s) => s.counters.redisHits),
        misses: sum((s) => s.counters.misses),
        timeouts: sum((s) => s.counters.timeouts),
      },
      ...(base.redis && {
        redis: {
          name: base.redis.name,
          // Up only when every worker reaches it: one that cannot places its clients by hashing.
          up: links.every((r) => r.up),
          roundTrips: links.reduce((a, r) => a + r.roundTrips, 0),
          roundTripMs: links.reduce((a, r) => a + r.roundTripMs, 0),
          recentRoundTripMs: Math.max(...links.map((r) => r.recentRoundTripMs)),
        },
      }),
    };
  });
}

/**
 * The workers' snapshots (in worker order; the first one's configuration and states are the
 * ones shown) as one; `pid` and `startedAt` are the primary's, `nbthread` the number of workers.
 */
export function mergeSnapshots(parts: StatsSnapshot[], whole: { pid: number; startedAt: number; workers: number }): StatsSnapshot {
  const sum = (f: (s: StatsSnapshot) => number) => parts.reduce((a, s) => a + f(s), 0);
  return {
    rows: mergeRows(parts.map((p) => p.rows)),
    process: {
      pid: whole.pid,
      nbthread: whole.workers,
      startedAt: whole.startedAt,
      actconn: sum((s) => s.process.actconn),
      cumConns: sum((s) => s.process.cumConns),
      cumReq: sum((s) => s.process.cumReq),
    },
    stick: mergeStick(parts.map((p) => p.stick)),
  };
}
