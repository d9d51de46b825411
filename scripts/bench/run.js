// Side-by-side HTTP benchmark (`npm run bench`): direct to the origin, limpet, and whichever
// of HAProxy, nginx and a plain Node keep-alive proxy are installed, on the workloads of the
// issue, with each figure as a ratio to HAProxy in the same run.
//
//   node scripts/bench/run.js [--seconds 5] [--warmup 1] [--rounds 1] [--only limpet,HAProxy]
//                             [--workloads small-ka,small-close,download-1m,upload-1m,idle]
//                             [--idle 1000] [--json out.json]
//
// Needs wrk (scripts/bench/install.sh installs wrk, haproxy and nginx) and a built
// dist/cli.js (`npx tsup`; LIMPET_CLI=path/to/cli.js benchmarks another build). Everything runs on 127.0.0.1 ephemeral ports; every process
// started is killed by PID at the end.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { cleanupDir, cliPath, fmt, requireBuiltCli, requireWrk, parseArgs, pinning, printTable, ratio, rssKiB, sleep, stopAll, tempDir } from './common.js';
import { CPU_NOTE, MIB, printResults, runRounds } from './matrix.js';
import { contenders, startOrigin } from './proxies.js';

export const WORKLOADS = [
  { id: 'small-ka', title: 'small GET, keep-alive', path: '/small', connections: 50 },
  { id: 'small-close', title: 'small GET, new connection per request', path: '/small', connections: 50, close: true },
  { id: 'download-1m', title: '1 MiB responses, keep-alive', path: '/1m', connections: 8, payload: MIB },
  { id: 'upload-1m', title: '1 MiB uploads, keep-alive', path: '/upload', connections: 8, uploadBytes: MIB, payload: MIB },
];

const opts = parseArgs(process.argv.slice(2), {
  seconds: 5, warmup: 1, rounds: 1, only: '', workloads: 'small-ka,small-close,download-1m,upload-1m,idle', idle: 1000, json: '',
});

/** Opens `n` keep-alive connections, one request each, and leaves them idle. */
async function openIdle(port, n) {
  const sockets = [];
  const one = () => new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('idle connection: no response in 5 s')); }, 5000);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('connect', () => s.write('GET /small HTTP/1.1\r\nHost: bench\r\n\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.endsWith('hello world\n')) { clearTimeout(timer); sockets.push(s); resolve(); }
    });
  });
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
  return sockets;
}

/** RSS growth per idle keep-alive client connection, in KiB. */
async function idleMemory(c) {
  // Warm the process first so its baseline includes code and pools, not just startup.
  const warm = await openIdle(c.port, 50);
  for (const s of warm) s.destroy();
  await sleep(1000);
  const before = rssKiB(c.pid);
  const sockets = await openIdle(c.port, opts.idle);
  await sleep(1500);
  const after = rssKiB(c.pid);
  for (const s of sockets) s.destroy();
  await sleep(300);
  return { before, after, perConnKiB: (after - before) / opts.idle };
}

async function main() {
  requireWrk();
  requireBuiltCli();
  const only = opts.only ? new Set(opts.only.split(',')) : undefined;
  const wanted = new Set(opts.workloads.split(','));
  const workloads = WORKLOADS.filter((w) => wanted.has(w.id));
  const list = contenders('http').filter((c) => !only || only.has(c.name));
  const dir = tempDir();
  let results = {}; // results[workload][contender]
  const idle = {};
  const notes = [];
  console.log(`limpet (${cliPath}) HTTP benchmark: ${opts.seconds} s per workload (+${opts.warmup} s warm-up), median of ${opts.rounds} round(s), wrk 1 thread, ${pinning}`);
  // One origin per contender: new-connection workloads leave tens of thousands of
  // TIME_WAIT sockets, and a shared origin port would make later contenders pay for them.
  const origins = [];
  const started = [];
  try {
    for (const entry of list) {
      const origin = await startOrigin();
      origins.push(origin);
      const c = await entry.start({ dir, mode: 'http', originPort: origin.port });
      started.push(c);
      if (c.note) notes.push(`${c.name}: ${c.note}`);
      // Idle memory on a fresh process, before any load has grown its heap.
      if (wanted.has('idle') && c.pid) {
        idle[c.name] = await idleMemory(c);
        console.error(`  ${c.name} idle: ${fmt(idle[c.name].perConnKiB, 2)} KiB per connection`);
      }
    }
    results = await runRounds(started, workloads, opts);
  } finally {
    for (const c of started) await c.stop();
    for (const o of origins) await o.stop();
    await stopAll();
    cleanupDir(dir);
  }

  console.log('');
  printResults(workloads, results);
  if (Object.keys(idle).length > 0) {
    console.log(`memory per idle keep-alive client connection (${opts.idle} connections, one request each, RSS delta / ${opts.idle})`);
    printTable(
      ['proxy', 'RSS before', 'RSS after', 'KiB per connection'],
      Object.entries(idle).map(([name, m]) => [name, `${fmt(m.before / 1024, 1)} MiB`, `${fmt(m.after / 1024, 1)} MiB`, fmt(m.perConnKiB, 2) + ratio(m.perConnKiB, idle.HAProxy?.perConnKiB)]),
    );
    console.log('');
  }
  printTargets(results, idle);
  for (const n of notes) console.log(`note: ${n}`);
  console.log(CPU_NOTE);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results, idle, opts }, null, 2));
}

/** The targets for limpet, as ratios to HAProxy in this run. */
function printTargets(results, idle) {
  const l = (w) => results[w]?.limpet;
  const h = (w) => results[w]?.HAProxy;
  const checks = [];
  const add = (what, value, target, ok) => checks.push([what, value === undefined ? '-' : value, target, value === undefined ? 'n/a' : ok ? 'met' : 'NOT met']);
  const per = (w, key) => (l(w) && h(w) ? l(w)[key] / h(w)[key] : undefined);
  const v1 = per('small-ka', 'reqPerCpuS');
  add('small GET keep-alive, req per CPU-s', v1?.toFixed(2), '>= 0.60x', v1 >= 0.6);
  const v2 = per('small-close', 'reqPerCpuS');
  add('new connection per request, req per CPU-s', v2?.toFixed(2), '>= 0.50x', v2 >= 0.5);
  for (const w of ['download-1m', 'upload-1m']) {
    const v = per(w, 'mibPerCpuS');
    add(`${w}, MiB per CPU-s`, v?.toFixed(2), '>= 0.80x', v >= 0.8);
    const raw = per(w, 'mibps');
    add(`${w}, MiB/s (raw)`, raw?.toFixed(2), '>= 0.80x', raw >= 0.8);
  }
  for (const w of ['small-ka', 'small-close', 'download-1m', 'upload-1m']) {
    const v = per(w, 'p99');
    add(`${w}, p99 latency`, v?.toFixed(2), '<= 2.00x', v <= 2);
  }
  const m = idle.limpet?.perConnKiB;
  add('memory per idle client connection (KiB)', m?.toFixed(2), '<= 8 KB', m <= 8000 / 1024);
  if (checks.every((c) => c[3] === 'n/a')) return;
  console.log('limpet against the targets of the issue (ratio to HAProxy, same run)');
  printTable(['target', 'limpet', 'target', 'status'], checks);
  console.log('');
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
