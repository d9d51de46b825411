// The cost of sharing a stick table through Redis: keep-alive requests per second through
// limpet with `stick on src` kept in memory, shared through a live redis-server, and shared
// through a Redis that has gone away (the instance serves from its local table), as ratios
// to the memory run, in one run. Every request hits the table (wrk sends from one address,
// so after the first request each lookup is a local hit and the Redis refresh is rare).
//
//   node scripts/bench/stick-table.js [--seconds 3] [--warmup 1] [--rounds 3] [--connections 32] [--json out.json]
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupDir, cliPath, fmt, freePort, hasWrk, LOAD_CPU, parseArgs, pinning, printTable, PROXY_CPU, runWrk, startPinned, stopAll, stopChild, tempDir, waitForPort, which } from './common.js';
import { startOrigin } from './proxies.js';

const opts = parseArgs(process.argv.slice(2), { seconds: 3, warmup: 1, connections: 32, rounds: 3, json: '' });

const config = ({ port, originPort, redisPort }) => `
${redisPort ? `redis shared\n    server 127.0.0.1:${redisPort}\n    timeout 50ms\n` : ''}
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:${port}
    default_backend app
backend app
    stick-table type ip size 1m expire 30m${redisPort ? ' redis shared' : ''}
    stick on src
    server s1 127.0.0.1:${originPort}
    server s2 127.0.0.1:${originPort}
`;

async function startLimpet(dir, name, originPort, redisPort) {
  const port = await freePort();
  const cfg = join(dir, `${name}.cfg`);
  writeFileSync(cfg, config({ port, originPort, redisPort }));
  const child = startPinned(PROXY_CPU, process.execPath, [cliPath, '-f', cfg]);
  await waitForPort(port);
  return { port, child };
}

async function measure(port) {
  if (opts.warmup > 0) await runWrk({ port, path: '/small', seconds: Number(opts.warmup), connections: Number(opts.connections) });
  return runWrk({ port, path: '/small', seconds: Number(opts.seconds), connections: Number(opts.connections) });
}

async function main() {
  if (!hasWrk()) return fail('wrk is not installed: run scripts/bench/install.sh');
  if (!which('redis-server')) return fail('redis-server is not installed (apt-get install redis-server)');
  if (!existsSync(cliPath)) return fail(`${cliPath} is missing: run \`npx tsup\` first`);
  const dir = tempDir();
  console.log(`limpet stick-table benchmark: keep-alive GET, ${opts.connections} connections, ${opts.seconds} s per run (+${opts.warmup} s warm-up), median of ${opts.rounds} runs each, ${pinning}`);
  try {
    const origin = await startOrigin();
    const redisPort = await freePort();
    const redis = startPinned(LOAD_CPU, 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
    await waitForPort(redisPort);
    const memory = await startLimpet(dir, 'memory', origin.port, undefined);
    const shared = await startLimpet(dir, 'redis', origin.port, redisPort);
    // Runs alternate with the memory baseline and the median of each is kept, so that drift
    // in what else the machine runs hits every column alike.
    const runs = { memory: [], redis: [], down: [] };
    for (let i = 0; i < Number(opts.rounds); i++) {
      runs.memory.push(await measure(memory.port));
      runs.redis.push(await measure(shared.port));
    }
    await stopChild(redis);
    // The instance notices at once (connection closed) and keeps serving from its local table.
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < Number(opts.rounds); i++) {
      runs.down.push(await measure(shared.port));
      runs.memory.push(await measure(memory.port));
    }
    const memoryResult = median(runs.memory);
    const redisResult = median(runs.redis);
    const downResult = median(runs.down);
    const rows = [['memory', memoryResult], ['Redis', redisResult], ['Redis down', downResult]];
    printTable(['table', 'req/s', 'vs memory', 'p50 ms', 'p99 ms', 'errors'], rows.map(([name, r]) => [
      name,
      fmt(r.requests / r.seconds),
      `${(r.requests / r.seconds / (memoryResult.requests / memoryResult.seconds)).toFixed(2)}×`,
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      String(Object.values(r.errors ?? {}).reduce((a, b) => a + b, 0)),
    ]));
    if (opts.json) writeFileSync(opts.json, JSON.stringify(Object.fromEntries(rows), null, 2));
  } finally {
    await stopAll();
    cleanupDir(dir);
  }
}

function median(results) {
  const sorted = [...results].sort((a, b) => a.requests / a.seconds - b.requests / b.seconds);
  return sorted[Math.floor(sorted.length / 2)];
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
