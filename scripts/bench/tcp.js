// Side-by-side TCP (L4) benchmark: direct to the origin, limpet `mode tcp`, HAProxy
// `mode tcp` (the same haproxy.cfg text) and, where installed, nginx's stream module.
// The bytes are HTTP (wrk is the load generator) but the proxies see only a byte stream:
// bulk throughput is 1 MiB bodies on long-lived connections, in each direction; new
// connections per second is one small request per connection, closed by the client side.
//
//   node scripts/bench/tcp.js [--seconds 5] [--warmup 1] [--rounds 1] [--only limpet,HAProxy]
//                             [--workloads bulk-down,bulk-up,new-conn] [--json out.json]
import { writeFileSync } from 'node:fs';
import { cleanupDir, cliPath, requireBuiltCli, requireWrk, parseArgs, pinning, printTable, stopAll, tempDir } from './common.js';
import { CPU_NOTE, MIB, printResults, runRounds } from './matrix.js';
import { contenders, startOrigin } from './proxies.js';

const WORKLOADS = [
  { id: 'bulk-down', title: 'bulk throughput, origin to client (1 MiB bodies, long-lived connections)', path: '/1m', connections: 8, payload: MIB },
  { id: 'bulk-up', title: 'bulk throughput, client to origin (1 MiB bodies, long-lived connections)', path: '/upload', connections: 8, uploadBytes: MIB, payload: MIB },
  { id: 'new-conn', title: 'new connections (one small request per connection)', path: '/small', connections: 50, close: true, rateLabel: 'conn/s', unit: 'conn' },
];

const opts = parseArgs(process.argv.slice(2), { seconds: 5, warmup: 1, rounds: 1, only: '', workloads: 'bulk-down,bulk-up,new-conn', json: '' });

async function main() {
  requireWrk();
  requireBuiltCli();
  const only = opts.only ? new Set(opts.only.split(',')) : undefined;
  const wanted = new Set(opts.workloads.split(','));
  const workloads = WORKLOADS.filter((w) => wanted.has(w.id));
  const list = contenders('tcp').filter((c) => !only || only.has(c.name));
  const dir = tempDir();
  let results = {};
  const notes = new Set();
  console.log(`limpet (${cliPath}) TCP benchmark, mode tcp: ${opts.seconds} s per workload (+${opts.warmup} s warm-up), median of ${opts.rounds} round(s), wrk 1 thread, ${pinning}`);
  // One origin per contender: new-connection workloads leave tens of thousands of
  // TIME_WAIT sockets, and a shared origin port would make later contenders pay for them.
  const origins = [];
  const started = [];
  try {
    for (const entry of list) {
      const origin = await startOrigin();
      origins.push(origin);
      const c = await entry.start({ dir, mode: 'tcp', originPort: origin.port });
      started.push(c);
      if (c.note) notes.add(`${c.name}: ${c.note.replace('nginx.conf', 'nginx.conf stream {} block')}`);
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
  const l = results['new-conn']?.limpet;
  const h = results['new-conn']?.HAProxy;
  if (l && h) {
    printTable(['limpet mode tcp vs HAProxy', 'ratio'], [
      ['bulk down, MiB per CPU-s', results['bulk-down']?.limpet && results['bulk-down']?.HAProxy ? (results['bulk-down'].limpet.mibPerCpuS / results['bulk-down'].HAProxy.mibPerCpuS).toFixed(2) : '-'],
      ['bulk up, MiB per CPU-s', results['bulk-up']?.limpet && results['bulk-up']?.HAProxy ? (results['bulk-up'].limpet.mibPerCpuS / results['bulk-up'].HAProxy.mibPerCpuS).toFixed(2) : '-'],
      ['new connections per CPU-s', (l.reqPerCpuS / h.reqPerCpuS).toFixed(2)],
    ]);
    console.log('');
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(CPU_NOTE);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results, opts }, null, 2));
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
