// One benchmark matrix: every contender through every workload, measured with wrk while
// reading the proxy's CPU time, then printed as tables with ratios to HAProxy.
import { cpuSeconds, fmt, printTable, ratio, runWrk } from './common.js';

export const MIB = 1024 * 1024;

/** Measures one workload (after a warm-up) against one running contender. */
export async function measure(c, w, { seconds, warmup }) {
  const load = { port: c.port, path: w.path, connections: w.connections, close: w.close, uploadBytes: w.uploadBytes };
  if (warmup > 0) await runWrk({ ...load, seconds: warmup });
  const cpu0 = c.pid ? cpuSeconds(c.pid) : undefined;
  const r = await runWrk({ ...load, seconds });
  const cpu = c.pid ? cpuSeconds(c.pid) - cpu0 : undefined;
  const payload = w.payload ?? 0;
  // Payload MiB moved (response or upload bodies); for small GETs, the bytes wrk read.
  const mib = payload ? (r.requests * payload) / MIB : r.bytes / MIB;
  const e = r.errors;
  return {
    rps: r.requests / r.seconds,
    p50: r.p50Ms,
    p99: r.p99Ms,
    mibps: mib / r.seconds,
    cpuPct: cpu === undefined ? undefined : (cpu / r.seconds) * 100,
    reqPerCpuS: cpu ? r.requests / cpu : undefined,
    mibPerCpuS: cpu ? mib / cpu : undefined,
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    errorDetail: e,
    requests: r.requests,
  };
}

const median = (xs) => {
  const v = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return v.length === 0 ? undefined : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/**
 * Runs every workload against every (already started) contender, interleaved so that noise
 * from a shared machine hits all contenders alike, `rounds` times; each figure is the
 * median over the rounds. Returns results[workloadId][contenderName].
 */
export async function runRounds(started, workloads, opts) {
  const runs = {};
  for (let round = 0; round < opts.rounds; round++) {
    for (const w of workloads) {
      for (const c of started) {
        const r = await measure(c, w, opts);
        ((runs[w.id] ??= {})[c.name] ??= []).push(r);
        console.error(logLine(c.name, w, r) + (opts.rounds > 1 ? ` [round ${round + 1}]` : ''));
      }
    }
  }
  const results = {};
  for (const [wid, byName] of Object.entries(runs)) {
    for (const [name, list] of Object.entries(byName)) {
      const out = {};
      for (const key of ['rps', 'p50', 'p99', 'mibps', 'cpuPct', 'reqPerCpuS', 'mibPerCpuS']) out[key] = median(list.map((r) => r[key]));
      out.errors = list.reduce((n, r) => n + r.errors, 0);
      out.rounds = list;
      (results[wid] ??= {})[name] = out;
    }
  }
  return results;
}

export function logLine(name, w, r) {
  const errs = r.errors ? `, ${r.errors} errors ${JSON.stringify(r.errorDetail)}` : '';
  return `  ${name} ${w.id}: ${fmt(r.rps)} req/s, p99 ${fmt(r.p99, 2)} ms, ${fmt(r.mibps, 1)} MiB/s, proxy CPU ${r.cpuPct === undefined ? '-' : fmt(r.cpuPct)}%${errs}`;
}

/** results[workloadId][contenderName] → tables, one per workload. */
export function printResults(workloads, results, rateLabel = 'req/s') {
  for (const w of workloads) {
    const rows = results[w.id] ?? {};
    const base = rows.HAProxy;
    console.log(`${w.title} (${w.connections} connections; ratios to HAProxy in this run)`);
    printTable(
      ['proxy', w.rateLabel ?? rateLabel, 'p99 ms', 'MiB/s', 'proxy CPU', w.payload ? 'MiB per CPU-s' : `${w.unit ?? 'req'} per CPU-s`, 'errors'],
      Object.entries(rows).map(([name, r]) => [
        name,
        fmt(r.rps) + ratio(r.rps, base?.rps),
        fmt(r.p99, 2) + ratio(r.p99, base?.p99),
        fmt(r.mibps, 1) + ratio(r.mibps, base?.mibps),
        r.cpuPct === undefined ? '-' : `${fmt(r.cpuPct)}%`,
        w.payload ? fmt(r.mibPerCpuS, 1) + ratio(r.mibPerCpuS, base?.mibPerCpuS) : fmt(r.reqPerCpuS) + ratio(r.reqPerCpuS, base?.reqPerCpuS),
        String(r.errors),
      ]),
    );
    console.log('');
  }
}

export const CPU_NOTE = 'note: per proxy CPU-second = requests (or payload MiB) / proxy utime+stime from /proc/PID/stat; on two cores the load generator can saturate before a fast proxy does, so read this column beside the raw one.';
