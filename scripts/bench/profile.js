// Profiles limpet under load: runs dist/cli.js with --cpu-prof on the small keep-alive GET
// and the new-connection-per-request workloads, then prints the top self-time functions
// and a split by origin (limpet code, Node internals, llhttp-wasm, GC).
//
//   node scripts/bench/profile.js [--seconds 5] [--top 25] [--workloads small-ka,small-close] [--keep DIR]
//   node scripts/bench/profile.js --analyse FILE.cpuprofile [--top 25]
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupDir, fmt, requireWrk, parseArgs, printTable, runWrk, sleep, stopAll, tempDir } from './common.js';
import { startLimpet, startOrigin } from './proxies.js';

const WORKLOADS = {
  'small-ka': { title: 'small GET, keep-alive', path: '/small', connections: 50 },
  'small-close': { title: 'small GET, new connection per request', path: '/small', connections: 50, close: true },
  'download-1m': { title: '1 MiB responses, keep-alive', path: '/1m', connections: 8 },
  'upload-1m': { title: '1 MiB uploads, keep-alive', path: '/upload', connections: 8, uploadBytes: 1024 * 1024 },
};

const opts = parseArgs(process.argv.slice(2), { seconds: 5, top: 25, workloads: 'small-ka,small-close', keep: '', analyse: '' });

/** Self time per function (and per origin) from a V8 .cpuprofile. */
export function analyse(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    total += dt;
    const f = node.callFrame;
    const file = f.url ? f.url.replace(/^file:\/\/.*\/(dist|node_modules)\//, '$1/') : '';
    const key = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const busy = total - (self.get('(idle) ') ?? 0);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const origins = new Map();
  for (const [key, us] of self) {
    const o = key.startsWith('(idle)') ? 'idle'
      : key.startsWith('(garbage collector)') ? 'garbage collector'
      : key.startsWith('(program)') ? '(program): native, not attributed'
      : key.includes('llhttp') ? 'llhttp-wasm'
      : key.includes('dist/cli.js') ? 'limpet (dist/cli.js)'
      : key.includes('node:') ? 'Node internals (node:*)'
      : key.includes('node_modules') ? 'other dependencies'
      : 'native builtins (no url)';
    origins.set(o, (origins.get(o) ?? 0) + us);
  }
  return { total, busy, rows, origins };
}

function print(title, a, top) {
  console.log(`\n${title}: ${fmt(a.total / 1000)} ms sampled, ${fmt((a.busy / a.total) * 100)}% busy`);
  printTable(['origin', 'self ms', '% of busy'], [...a.origins.entries()].filter(([o]) => o !== 'idle').sort((x, y) => y[1] - x[1])
    .map(([o, us]) => [o, fmt(us / 1000), fmt((us / a.busy) * 100, 1)]));
  console.log(`\ntop ${top} functions by self time`);
  printTable(['function', 'self ms', '% of busy'], a.rows.filter(([k]) => !k.startsWith('(idle)')).map(([k, us]) => [k, fmt(us / 1000), fmt((us / a.busy) * 100, 1)]));
}

async function profileOne(id) {
  const w = WORKLOADS[id];
  const dir = tempDir('limpet-prof-');
  const origin = await startOrigin();
  const limpet = await startLimpet({ dir, mode: 'http', originPort: origin.port, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    const r = await runWrk({ port: limpet.port, path: w.path, seconds: opts.seconds, connections: w.connections, close: w.close, uploadBytes: w.uploadBytes });
    console.log(`\n== ${w.title}: ${fmt(r.requests / r.seconds)} req/s under the profiler`);
    await limpet.stop(); // SIGTERM: limpet exits through process.exit, and V8 writes the profile
    await sleep(200);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    if (opts.keep) cpSync(join(dir, file), join(opts.keep, `limpet-${id}.cpuprofile`));
    print(w.title, analyse(JSON.parse(readFileSync(join(dir, file), 'utf8')), opts.top), opts.top);
  } finally {
    await limpet.stop();
    await origin.stop();
    cleanupDir(dir);
  }
}

async function main() {
  if (opts.analyse) {
    print(opts.analyse, analyse(JSON.parse(readFileSync(opts.analyse, 'utf8')), opts.top), opts.top);
    return;
  }
  requireWrk();
  for (const id of opts.workloads.split(',')) await profileOne(id);
  await stopAll();
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
