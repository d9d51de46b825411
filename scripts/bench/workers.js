// Worker scaling (`npm run bench:workers`): limpet with 1 worker, with 2 (`--workers 2`) and
// with 2 from the file (`nbthread 2`), on small GETs over keep-alive and with a new connection
// per request; req/s, p99, limpet's CPU (primary + every worker) and the 2-worker / 1-worker
// ratio.
//
//   node scripts/bench/workers.js [--seconds 5] [--warmup 1] [--connections 100] [--threads 2] [--json out.json]
//
// Nothing is pinned: two workers need two cores, and wrk and the origin share them. Needs wrk
// and a built dist/cli.js. Everything runs on 127.0.0.1; every process is killed by PID.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchDir, cleanupDir, cliPath, cpuSeconds, fmt, freePort, parseArgs, printTable, requireBuiltCli, requireWrk, sleep, startPinned, stopAll, stopChild, tempDir, waitForPort } from './common.js';
import { haproxyCfg } from './proxies.js';

const opts = parseArgs(process.argv.slice(2), { seconds: 5, warmup: 1, connections: 100, threads: 2, json: '' });
const CPUS = Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1);

const VARIANTS = [
  { name: '1 worker', nbthread: 1, args: [] },
  { name: '2 workers (--workers 2)', nbthread: 1, args: ['--workers', '2'] },
  { name: '2 workers (nbthread 2)', nbthread: 2, args: [] },
];
const WORKLOADS = [
  { id: 'small-ka', title: 'small GET, keep-alive', close: false },
  { id: 'small-close', title: 'small GET, new connection per request', close: true },
];

/** The primary's live children (its workers); none when limpet runs as one process. */
function workerPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const cpuOf = (pids) => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/** wrk, not pinned (see the header), with the shared summary script. */
async function wrk(port, seconds, close) {
  const args = ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', join(benchDir, 'wrk-report.lua')];
  if (close) args.push('-H', 'Connection: close');
  args.push(`http://127.0.0.1:${port}/small`);
  const child = startPinned(undefined, 'wrk', args);
  const killer = setTimeout(() => stopChild(child), (seconds + 15) * 1000);
  await child.exitedPromise;
  clearTimeout(killer);
  const line = child.output().split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${child.output()}`);
  return { ...JSON.parse(line.slice('BENCH_JSON '.length)), pid: child.pid };
}

async function startLimpet(dir, variant, originPort) {
  const port = await freePort();
  const cfg = join(dir, `workers-${variant.nbthread}-${variant.args.join('')}.cfg`);
  writeFileSync(cfg, haproxyCfg({ mode: 'http', port, originPort }).replace('nbthread 1', `nbthread ${variant.nbthread}`));
  const child = startPinned(undefined, process.execPath, [cliPath, '-q', '-f', cfg, ...variant.args]);
  await waitForPort(port, 15000);
  const want = variant.nbthread > 1 || variant.args.length ? 2 : 0;
  const deadline = Date.now() + 10000;
  while (workerPids(child.pid).length < want && Date.now() < deadline) await sleep(50);
  const workers = workerPids(child.pid);
  if (workers.length !== want) throw new Error(`${variant.name}: ${workers.length} workers running, expected ${want}\n${child.output()}`);
  return { child, port, pids: [child.pid, ...workers] };
}

async function main() {
  requireWrk();
  requireBuiltCli();
  const dir = tempDir();
  const results = {};
  console.log(`limpet (${cliPath}) worker scaling: ${opts.seconds} s per run (+${opts.warmup} s warm-up), wrk ${opts.threads} threads x ${opts.connections} connections, ${CPUS} CPU(s), nothing pinned; load average ${loadavg()[0].toFixed(2)} before the start`);
  try {
    for (const v of VARIANTS) {
      // A fresh origin per variant: new-connection runs leave TIME_WAIT sockets behind.
      const originPort = await freePort();
      const origin = startPinned(undefined, process.execPath, [join(benchDir, 'origin.js'), String(originPort)]);
      await waitForPort(originPort, 10000);
      const limpet = await startLimpet(dir, v, originPort);
      try {
        for (const w of WORKLOADS) {
          if (opts.warmup > 0) await wrk(limpet.port, opts.warmup, w.close);
          const proxy0 = cpuOf(limpet.pids);
          const origin0 = cpuSeconds(origin.pid);
          const r = await wrk(limpet.port, opts.seconds, w.close);
          const proxyCpu = cpuOf(limpet.pids) - proxy0;
          const originCpu = cpuSeconds(origin.pid) - origin0;
          const e = r.errors;
          const out = {
            rps: r.requests / r.seconds,
            p99: r.p99Ms,
            proxyCpuPct: (proxyCpu / r.seconds) * 100,
            reqPerCpuS: r.requests / proxyCpu,
            originCpuPct: (originCpu / r.seconds) * 100,
            errors: e.connect + e.read + e.write + e.status + e.timeout,
          };
          (results[w.id] ??= {})[v.name] = out;
          console.error(`  ${v.name.padEnd(24)} ${w.id.padEnd(12)} ${fmt(out.rps)} req/s  p99 ${fmt(out.p99, 2)} ms  limpet CPU ${fmt(out.proxyCpuPct)}%  origin CPU ${fmt(out.originCpuPct)}%  errors ${out.errors}`);
        }
      } finally {
        await stopChild(limpet.child, 8000);
        await stopChild(origin);
      }
    }
  } finally {
    await stopAll();
    cleanupDir(dir);
  }

  console.log('');
  for (const w of WORKLOADS) {
    const byName = results[w.id];
    const base = byName['1 worker'];
    console.log(`${w.title} (${opts.connections} connections)`);
    printTable(
      ['limpet', 'req/s', 'x 1 worker', 'p99 ms', 'limpet CPU % (primary+workers)', 'req per limpet CPU-s', 'origin CPU %', 'errors'],
      VARIANTS.map((v) => {
        const r = byName[v.name];
        return [v.name, fmt(r.rps), (r.rps / base.rps).toFixed(2), fmt(r.p99, 2), fmt(r.proxyCpuPct), fmt(r.reqPerCpuS), fmt(r.originCpuPct), r.errors];
      }),
    );
    console.log('');
  }
  console.log(
    `note: ${CPUS} CPU(s) shared by wrk (${opts.threads} threads), the origin (one Node process) and limpet, nothing pinned. ` +
      (CPUS <= 2
        ? 'Two workers compete with wrk and the origin for the same two cores, so the 2-worker / 1-worker ratio understates what a second worker gives on a machine with cores to spare; the CPU columns show where the time went.'
        : 'With more cores than processes the ratio shows the workers\' scaling itself.'),
  );
  console.log(`note: load average ${loadavg()[0].toFixed(2)} at the end (above ${CPUS} means other processes took CPU from this run too).`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results, opts, cpus: CPUS }, null, 2));
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
