// The cost of sharing a stick table through Redis, in one run, as ratios to a table kept in
// memory:
// - hit path: keep-alive requests per second through limpet with `stick on src` (wrk sends
//   from one address, so after the first request each lookup is a local hit and the Redis
//   refresh is rare), with the table in memory, shared through a live redis-server, and shared
//   through a Redis that has gone away (the instance serves from its local table);
// - miss path: every request a new client. A Node loop opens one connection per request, each
//   bound to a 127.x.y.z address never used before (all of 127/8 reaches lo on Linux), so
//   every lookup misses and, with Redis, waits for a claim round trip. Beside it, the same
//   loop over 199 addresses already in the table (127.0.0.2 .. 127.0.0.200): the same
//   connection cost, but local hits, which isolates what the round trip adds. limpet's own
//   metrics (limpet_redis_round_trip_seconds_total / limpet_redis_round_trips_total) give the
//   mean round trip it measured.
//
//   node scripts/bench/stick-table.js [--seconds 3] [--warmup 1] [--rounds 3] [--connections 32] [--clients 32] [--json out.json]
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { cleanupDir, cliPath, fmt, freePort, hasWrk, LOAD_CPU, parseArgs, pinning, printTable, PROXY_CPU, runWrk, startPinned, stopAll, stopChild, tempDir, waitForPort, which } from './common.js';
import { startOrigin } from './proxies.js';

const opts = parseArgs(process.argv.slice(2), { seconds: 3, warmup: 1, connections: 32, clients: 32, rounds: 3, json: '' });

const config = ({ port, originPort, redisPort, statsPort }) => `
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
listen stats
    bind 127.0.0.1:${statsPort}
    stats uri /
`;

async function startLimpet(dir, name, originPort, redisPort) {
  const port = await freePort();
  const statsPort = await freePort();
  const cfg = join(dir, `${name}.cfg`);
  writeFileSync(cfg, config({ port, originPort, redisPort, statsPort }));
  const child = startPinned(PROXY_CPU, process.execPath, [cliPath, '-f', cfg]);
  await waitForPort(port);
  await waitForPort(statsPort);
  return { port, statsPort, child };
}

// Source addresses for new clients: 127.1.0.1 onwards, never reused within a run of the script.
let nextClient = 0;
function freshAddress() {
  const i = nextClient++;
  const n = i % 254;
  const rest = Math.floor(i / 254);
  return `127.${1 + Math.floor(rest / 256)}.${rest % 256}.${n + 1}`;
}
const KNOWN = Array.from({ length: 199 }, (_, i) => `127.0.0.${i + 2}`);

/** One GET on a new connection from `localAddress`, closed by the proxy; resolves with ms, or -1 on failure. */
function oneRequest(port, localAddress) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let head = '';
    socket.setEncoding('latin1');
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.write('GET /small HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d) => {
      if (head.length < 16) head += d;
    });
    socket.on('close', () => resolve(head.startsWith('HTTP/1.1 200') ? Number(process.hrtime.bigint() - started) / 1e6 : -1));
    socket.on('error', () => {});
  });
}

/** `clients` loops issuing one-connection requests for `seconds`; addresses from `address()`. */
async function newClientLoad(port, seconds, address) {
  const deadline = Date.now() + seconds * 1000;
  const times = [];
  let errors = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: Number(opts.clients) }, async () => {
    while (Date.now() < deadline) {
      const ms = await oneRequest(port, address());
      if (ms < 0) errors++;
      else times.push(ms);
    }
  }));
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { requests: times.length, seconds: (Date.now() - started) / 1000, p50Ms: at(0.5), p99Ms: at(0.99), errors: { failed: errors } };
}

async function measureNewClients(port, known) {
  let k = 0;
  const address = known ? () => KNOWN[k++ % KNOWN.length] : freshAddress;
  if (opts.warmup > 0) await newClientLoad(port, Number(opts.warmup), address);
  return newClientLoad(port, Number(opts.seconds), address);
}

/** limpet's own view of its Redis round trips (the Prometheus exposition of its stats page). */
async function redisMetrics(statsPort) {
  const text = await new Promise((resolve, reject) => {
    const s = net.connect({ port: statsPort, host: '127.0.0.1' });
    let out = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET /;prometheus HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'));
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
  const value = (re) => Number(re.exec(text)?.[1] ?? NaN);
  const trips = value(/^limpet_redis_round_trips_total\{[^}]*\} (\S+)/m);
  const secs = value(/^limpet_redis_round_trip_seconds_total\{[^}]*\} (\S+)/m);
  const timeouts = value(/^limpet_stick_table_redis_timeouts_total\{[^}]*\} (\S+)/m);
  return { roundTrips: trips, meanRoundTripMs: (secs / trips) * 1000, timeouts };
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
    const runs = { memory: [], redis: [], down: [], missMemory: [], missRedis: [], knownMemory: [], knownRedis: [] };
    // Miss path first, so that every hit-path run below sees the same tables (and sockets in
    // TIME_WAIT). The known addresses are placed once first, so those runs are local hits.
    await measureNewClients(memory.port, true);
    await measureNewClients(shared.port, true);
    for (let i = 0; i < Number(opts.rounds); i++) {
      runs.missMemory.push(await measureNewClients(memory.port, false));
      runs.missRedis.push(await measureNewClients(shared.port, false));
      runs.knownMemory.push(await measureNewClients(memory.port, true));
      runs.knownRedis.push(await measureNewClients(shared.port, true));
    }
    const metrics = await redisMetrics(shared.statsPort);
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
    const base = median(runs.knownMemory);
    const missRows = [
      ['known client, memory', base],
      ['known client, Redis', median(runs.knownRedis)],
      ['new client, memory', median(runs.missMemory)],
      ['new client, Redis', median(runs.missRedis)],
    ];
    console.log(`\nmiss path: one new connection per request, ${opts.clients} at a time (${nextClient} distinct new client addresses used)`);
    printTable(['lookup', 'req/s', 'vs known/memory', 'p50 ms', 'p99 ms', 'errors'], missRows.map(([name, r]) => [
      name,
      fmt(r.requests / r.seconds),
      `${(r.requests / r.seconds / (base.requests / base.seconds)).toFixed(2)}×`,
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      String(r.errors.failed),
    ]));
    console.log(`limpet measured ${metrics.roundTrips} Redis round trips, mean ${metrics.meanRoundTripMs.toFixed(3)} ms; ${metrics.timeouts} lookups over the 50 ms budget`);
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ ...Object.fromEntries(rows), ...Object.fromEntries(missRows), redisMetrics: metrics }, null, 2));
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
