// Health checks under `--workers 2` on real sockets: one worker checks each server (not every
// worker), its UP/DOWN and log-health-checks lines are logged once, and the other worker follows
// the states it sees (no request to a down server from either worker, none failing); when the
// checking worker is SIGKILLed, checks go on in another worker and its replacement starts with
// the states already known.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { runtimeCommand } from '../helpers/runtime-command.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { waitFor } from '../helpers/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTER_MS = 200;

/** An origin on a fixed port that can be stopped and started again; counts the connections it accepts. */
async function toggleOrigin(t: TeardownHost, name: string) {
  const port = await freePort();
  let server: http.Server | undefined;
  let connections = 0;
  const sockets = new Set<Socket>();
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer((_req, res) => res.writeHead(200, { 'X-Origin': name, 'Content-Length': '2' }).end('ok'));
      s.on('connection', (socket: Socket) => {
        connections++;
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server = undefined;
    });
  t.teardown(stop);
  await start();
  return { port, start, stop, get connections() { return connections; } };
}

/** The primary's live children: its workers (a zombie counts as gone). */
function workersOf(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.filter((k) => {
      try {
        const stat = readFileSync(`/proc/${k}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

interface Round {
  /** `worker pid -> origins it sent to` */
  byWorker: Map<number, Set<string>>;
  failed: number;
  total: number;
}

/** Rounds of 16 concurrent fresh connections until every pid in `want` answered (bounded), or `rounds` at least. */
async function traffic(port: number, want: number[], rounds = 5, ms = 8000): Promise<Round> {
  const r: Round = { byWorker: new Map(), failed: 0, total: 0 };
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && (i < rounds || !want.every((p) => r.byWorker.has(p))); i++) {
    const answers = await Promise.all(Array.from({ length: 16 }, () => get(port, '/').catch(() => undefined)));
    for (const a of answers) {
      r.total++;
      if (a?.status !== 200) {
        r.failed++;
        continue;
      }
      const pid = Number(headerValues(a.headers, 'x-worker')[0]);
      if (!r.byWorker.has(pid)) r.byWorker.set(pid, new Set());
      r.byWorker.get(pid)!.add(headerValues(a.headers, 'x-origin')[0] ?? '?');
    }
  }
  return r;
}

const linesWith = (text: string, what: string) => text.split('\n').filter((l) => l.includes(what));
const pidOfLine = (line: string) => Number(/\((\d+)\)/.exec(line)?.[1]);
/** `show stat`'s row of server app/s2 (the primary merges the workers' rows; states are the first worker's). */
async function s2Stat(api: number): Promise<Record<string, string>> {
  const [head, ...rows] = (await runtimeCommand(api, 'show stat')).trim().split('\n');
  const cols = head!.replace(/^# /, '').split(',');
  const row = rows.map((l) => l.split(',')).find((r) => r[0] === 'app' && r[1] === 's2') ?? [];
  return Object.fromEntries(cols.map((c, i) => [c, row[i] ?? '']));
}

const show = (r: Round) => [...r.byWorker].map(([pid, o]) => `${pid}: ${[...o].join('+')}`).join(', ');

t.test('--workers 2: servers are checked once, states reach both workers, a killed checker is replaced', async (t) => {
  const s1 = await toggleOrigin(t, 's1');
  const s2 = await toggleOrigin(t, 's2');
  const port = await freePort();
  const api = await freePort();
  const seen = new Set<number>();
  t.teardown(() => {
    for (const pid of seen) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  const proxy = await startProxy(t, `
global
    log stdout format raw local0
    stats socket ipv4@127.0.0.1:${api} level admin
defaults
    mode http
    log global
    timeout connect 300ms
    timeout check 300ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${port}
    http-response set-header X-Worker %pid
    default_backend app
backend app
    option log-health-checks
    server s1 127.0.0.1:${s1.port} check inter ${INTER_MS} fall 1 rise 1
    server s2 127.0.0.1:${s2.port} check inter ${INTER_MS} fall 1 rise 1
`, { waitPorts: [port], extraArgs: ['--workers', '2'] });
  const workers = () => {
    const pids = workersOf(proxy.pid);
    for (const p of pids) seen.add(p);
    return pids;
  };
  const context = () => `stderr:\n${proxy.stderr()}\nstdout:\n${proxy.stdout()}`;
  await waitFor('the start', () => proxy.stderr().includes('limpet started') && workers().length === 2, 8000, { context });
  const down = () => linesWith(proxy.stderr(), 'Server app/s2 is DOWN');
  const up = () => linesWith(proxy.stderr(), 'Server app/s2 is UP');
  const failedLines = () => linesWith(proxy.stdout(), 'Health check for server app/s2 failed');
  const succeededLines = () => linesWith(proxy.stdout(), 'Health check for server app/s2 succeeded');

  // Checks: one worker's worth. Per worker they would be about twice 2000/INTER_MS = 20 per origin.
  await sleep(300);
  const before = [s1.connections, s2.connections];
  await sleep(2000);
  const checks = [s1.connections - before[0]!, s2.connections - before[1]!];
  t.ok(checks.every((n) => n >= 5 && n <= 14), `check connections per origin over 2 s: ${checks.join(', ')} (one checker: ~10; one per worker: ~20)`);

  const pids = workers();
  const r0 = await traffic(port, pids);
  t.equal(r0.failed, 0, 'no request fails with both servers up');
  t.same([...r0.byWorker.keys()].sort(), [...pids].sort(), `both workers serve (${show(r0)})`);

  // s2 stops: one DOWN line, and neither worker sends it anything.
  await s2.stop();
  await waitFor('the DOWN line', () => down().length > 0, 5000, { context });
  await sleep(3 * INTER_MS);
  t.equal(down().length, 1, 'exactly one "Server app/s2 is DOWN" line');
  t.equal(failedLines().length, 1, 'exactly one "Health check ... failed" line (log-health-checks)');
  const checker = pidOfLine(down()[0]!);
  t.ok(pids.includes(checker), `a worker logged it (pid ${checker})`);
  const r1 = await traffic(port, pids);
  t.equal(r1.failed, 0, `no request fails while s2 is down (${r1.total} sent)`);
  t.same([...r1.byWorker.keys()].sort(), [...pids].sort(), 'both workers serve');
  t.ok([...r1.byWorker.values()].every((o) => !o.has('s2') && o.has('s1')), `no worker sends to s2 (${show(r1)})`);
  const st1 = await s2Stat(api);
  t.match({ status: st1.status, check_status: st1.check_status }, { status: 'DOWN', check_status: 'L4CON' }, 'show stat: s2 DOWN, L4CON');

  // s2 is back: one UP line, both workers send to it again.
  await s2.start();
  await waitFor('the UP line', () => up().length > 0, 5000, { context });
  await sleep(3 * INTER_MS);
  t.equal(up().length, 1, 'exactly one "Server app/s2 is UP" line');
  t.equal(succeededLines().length, 1, 'exactly one "Health check ... succeeded" line');
  const r2 = await traffic(port, pids);
  t.equal(r2.failed, 0, 'no request fails');
  t.ok(pids.every((p) => r2.byWorker.get(p)?.has('s2')), `both workers send to s2 again (${show(r2)})`);

  // s2 down again, then the checking worker is killed: its replacement must know s2 is down,
  // and the worker that checks now must not see it as a change (no new line).
  await s2.stop();
  await waitFor('the second DOWN line', () => down().length === 2, 5000, { context });
  const checker2 = pidOfLine(down()[1]!);
  process.kill(checker2, 'SIGKILL');
  await waitFor('a replacement worker', () => {
    const now = workers();
    return now.length === 2 && !now.includes(checker2);
  }, 10_000, { context });
  await waitFor('the replacement ready', () => proxy.stderr().includes('replaced (pid'), 10_000, { context });
  const after = workers();
  const r3 = await traffic(port, after);
  t.equal(r3.failed, 0, `no request fails after the checker was killed (${r3.total} sent)`);
  t.same([...r3.byWorker.keys()].sort(), [...after].sort(), 'both workers (one a replacement) serve');
  t.ok([...r3.byWorker.values()].every((o) => !o.has('s2')), `no worker sends to s2 (${show(r3)})`);
  // No traffic now: what reaches s1 is checks.
  const s1Before = s1.connections;
  await sleep(1000);
  const checksLater = s1.connections - s1Before;
  t.ok(checksLater >= 3 && checksLater <= 7, `checks go on, once (${checksLater} connections at s1 in 1 s; ~5 expected)`);
  t.equal(down().length, 2, 'no new DOWN line from the worker that took the checks over');
  const st2 = await s2Stat(api);
  t.match({ status: st2.status, check_status: st2.check_status }, { status: 'DOWN', check_status: 'L4CON' }, 'show stat after the replacement: s2 DOWN, L4CON');

  await s2.start();
  await waitFor('the second UP line', () => up().length === 2, 5000, { context });
  t.not(pidOfLine(up()[1]!), checker2, 'a live worker logged it');
  await sleep(3 * INTER_MS);
  t.equal(up().length, 2, 'one UP line for the comeback');
  const r4 = await traffic(port, after);
  t.equal(r4.failed, 0, 'no request fails');
  t.ok(after.every((p) => r4.byWorker.get(p)?.has('s2')), `both workers send to s2 again (${show(r4)})`);
  const st3 = await s2Stat(api);
  t.match({ status: st3.status, check_status: st3.check_status }, { status: 'UP', check_status: 'L4OK' }, 'show stat: s2 UP, L4OK');

  // A reload while s2 is down: the new configuration's servers start down in both workers.
  await s2.stop();
  await waitFor('the third DOWN line', () => down().length === 3, 5000, { context });
  proxy.signal('SIGUSR2');
  await waitFor('the reload', () => proxy.stderr().includes('Reload done: new configuration running in 2/2 workers'), 10_000, { context });
  const r5 = await traffic(port, after);
  t.equal(r5.failed, 0, `no request fails after the reload (${r5.total} sent)`);
  t.ok([...r5.byWorker.values()].every((o) => !o.has('s2')), `no worker sends to s2 after the reload (${show(r5)})`);
  await sleep(3 * INTER_MS);
  t.same([down().length, up().length], [3, 2], 'the reload logs no DOWN or UP line again');

  const exit = await proxy.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit status 0');
});
