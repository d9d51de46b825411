// Shared pieces of the benchmarks: ports, child processes pinned to a CPU, /proc readings,
// wrk runs and table printing. Plain Node ESM, no build step, no dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..', '..');
/** The limpet under test: dist/cli.js, or LIMPET_CLI (e.g. a build of another commit). */
export const cliPath = process.env.LIMPET_CLI ? resolve(process.env.LIMPET_CLI) : join(repoRoot, 'dist', 'cli.js');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const PAGE_KB = (Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim()) || 4096) / 1024;
const CPUS = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
const TASKSET = which('taskset');

/** CPU for the proxy under test, CPU for the load generator and origin (same one on a 1-core box). */
export const PROXY_CPU = 0;
export const LOAD_CPU = CPUS > 1 ? 1 : 0;
export const pinning = TASKSET ? (CPUS > 1 ? `proxy on CPU ${PROXY_CPU}, load generator and origin on CPU ${LOAD_CPU}` : 'one CPU: nothing pinned apart') : 'taskset missing: not pinned';

/** Temp directory removed by cleanup(). */
export function tempDir(prefix = 'limpet-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

export async function waitForPort(port, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((r) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not listening after ${ms} ms`);
}

const children = new Set();

/**
 * Spawns `cmd args` pinned to `cpu` (via taskset when present). Output is kept (bounded) for
 * error messages. The child is killed by PID in cleanup().
 */
export function startPinned(cpu, cmd, args, opts = {}) {
  const argv = TASKSET && cpu !== undefined ? [TASKSET, ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  const child = spawn(argv[0], argv[1], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env } });
  let out = '';
  const keep = (d) => { out = (out + d).slice(-8000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = () => out;
  child.exitedPromise = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops one child by PID: SIGTERM, then SIGKILL after `ms`. */
export async function stopChild(child, ms = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, ms);
  await child.exitedPromise;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stopChild(c)));
}

// Whatever happens, leave no process behind.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
    process.exit(130);
  });
}
process.on('exit', () => {
  for (const c of children) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** utime + stime of a process in seconds (from /proc/PID/stat). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces: fields start after the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in KiB (from /proc/PID/statm). */
export function rssKiB(pid) {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return Number(statm[1]) * PAGE_KB;
}

const WRK_LUA = join(benchDir, 'wrk-report.lua');

/**
 * Runs wrk pinned to the load CPU and returns its JSON summary (see wrk-report.lua):
 * { requests, bytes, seconds, p50Ms, p99Ms, errors }.
 */
export async function runWrk({ port, path, seconds, connections, close = false, uploadBytes = 0 }) {
  const args = ['-t', '1', '-c', String(connections), '-d', `${Math.max(1, Math.round(seconds))}s`, '--timeout', '5s', '-s', WRK_LUA];
  if (close) args.push('-H', 'Connection: close');
  args.push(`http://127.0.0.1:${port}${path}`);
  const child = startPinned(LOAD_CPU, 'wrk', args, { env: { BENCH_UPLOAD_BYTES: String(uploadBytes) } });
  const killer = setTimeout(() => stopChild(child), (seconds + 15) * 1000);
  await child.exitedPromise;
  clearTimeout(killer);
  const line = child.output().split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${child.output()}`);
  return JSON.parse(line.slice('BENCH_JSON '.length));
}

export const hasWrk = () => Boolean(which('wrk'));

/** Exits with a hint when the load generator is missing (every benchmark needs it). */
export function requireWrk() {
  if (hasWrk()) return;
  console.error('wrk is not installed: run scripts/bench/install.sh (apt-get install wrk haproxy nginx)');
  process.exit(2);
}

/** Exits with a hint when limpet has not been built. */
export function requireBuiltCli() {
  if (existsSync(cliPath)) return;
  console.error(`${cliPath} is missing: run \`npx tsup\` first`);
  process.exit(2);
}

// ---- table printing ----

export function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '-';
  if (!Number.isFinite(n)) return '∞';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const ratio = (v, base) => (v === undefined || base === undefined || !base ? '' : ` (${(v / base).toFixed(2)}×)`);

export function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function cleanupDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Parses `--name value` and `--flag` arguments. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (typeof defaults[key] === 'boolean') out[key] = true;
    else if (next !== undefined) { out[key] = typeof defaults[key] === 'number' ? Number(next) : next; i++; }
  }
  return out;
}
