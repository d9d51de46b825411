// Before/after: two builds of limpet side by side (and HAProxy as the yardstick), interleaved
// on the same workloads, medians over rounds. For measuring one change.
//
//   node scripts/bench/ab.js --a before/dist/cli.js --b after/dist/cli.js
//                            [--mode http] [--workloads small-ka,small-close] [--seconds 5] [--rounds 3]
import { cleanupDir, requireWrk, parseArgs, pinning, printTable, stopAll, tempDir, which } from './common.js';
import { MIB, printResults, runRounds } from './matrix.js';
import { startHaproxy, startLimpet, startOrigin } from './proxies.js';

const ALL = {
  'small-ka': { title: 'small GET, keep-alive', path: '/small', connections: 50 },
  'small-close': { title: 'small GET, new connection per request', path: '/small', connections: 50, close: true },
  'download-1m': { title: '1 MiB responses, keep-alive', path: '/1m', connections: 8, payload: MIB },
  'upload-1m': { title: '1 MiB uploads, keep-alive', path: '/upload', connections: 8, uploadBytes: MIB, payload: MIB },
};

const opts = parseArgs(process.argv.slice(2), { a: '', b: '', mode: 'http', workloads: 'small-ka,small-close', seconds: 5, warmup: 1, rounds: 3 });

async function main() {
  if (!opts.a || !opts.b) {
    console.error('usage: node scripts/bench/ab.js --a BEFORE_CLI --b AFTER_CLI [--workloads ...]');
    process.exit(2);
  }
  requireWrk();
  const workloads = opts.workloads.split(',').map((id) => ({ id, ...ALL[id] }));
  const dir = tempDir();
  console.log(`A/B: A=${opts.a} B=${opts.b}, mode ${opts.mode}, ${opts.seconds} s per run, median of ${opts.rounds} rounds, ${pinning}`);
  const origin = await startOrigin();
  const started = [];
  let results;
  try {
    // One origin each, so that TIME_WAIT sockets towards one origin port do not tax the others.
    const origin2 = await startOrigin();
    const origin3 = await startOrigin();
    started.push(await startLimpet({ dir, mode: opts.mode, originPort: origin.port, cli: opts.a, name: 'A' }));
    started.push(await startLimpet({ dir, mode: opts.mode, originPort: origin2.port, cli: opts.b, name: 'B' }));
    if (which('haproxy')) started.push(await startHaproxy({ dir, mode: opts.mode, originPort: origin3.port }));
    results = await runRounds(started, workloads, opts);
  } finally {
    for (const c of started) await c.stop();
    await origin.stop();
    await stopAll();
    cleanupDir(dir);
  }
  console.log('');
  printResults(workloads, results);
  printTable(['workload', 'B/A req/s', 'B/A per CPU-s', 'B/A p99'], workloads.map((w) => {
    const a = results[w.id].A;
    const b = results[w.id].B;
    const key = w.payload ? 'mibPerCpuS' : 'reqPerCpuS';
    return [w.id, (b.rps / a.rps).toFixed(3), (b[key] / a[key]).toFixed(3), (b.p99 / a.p99).toFixed(3)];
  }));
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
