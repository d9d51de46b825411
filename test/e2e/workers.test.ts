// `--workers N` / `nbthread N` on real sockets: N worker processes share the listener and all
// serve; a reload reaches every worker (one log line each, one summary from the primary) with
// no client error, a bad file is rejected everywhere; a killed worker is replaced; SIGTERM,
// SIGUSR1 and hard-stop-after stop every worker as in a single process; a worker that cannot
// bind fails the start; workers whose primary is SIGKILLed exit.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { get, headerValues, keepAliveConnection, type SimpleResponse } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { runCli, startProxy, writeTempConfig, type ProxyProcess, type StartProxyOptions } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { waitFor } from '../helpers/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `context` (e.g. the proxy's stderr) goes into the error when time runs out. */
/** A live process (a zombie, exited but not yet reaped, counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The primary's live children: its workers. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number).filter(alive);
  } catch {
    return [];
  }
}

/** Workers left behind are killed by PID, and only if they still run limpet (no PID reuse). */
function killLeftovers(t: TeardownHost, pids: Set<number>): void {
  t.teardown(() => {
    for (const pid of pids) {
      try {
        if (alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

const config = (port: number, originPort: number, opts: { global?: string; extra?: string } = {}) => `
global
${opts.global ?? ''}
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 10s
    timeout http-keep-alive 5s
frontend www
    bind 127.0.0.1:${port}
    http-response set-header X-Worker %pid
${opts.extra ?? ''}
    default_backend app
backend app
    server s1 127.0.0.1:${originPort}
`;

interface Workers {
  proxy: ProxyProcess;
  port: number;
  /** every worker pid seen so far (for the teardown) */
  seen: Set<number>;
  /** the workers running now */
  current(): number[];
}

/** Starts limpet with several workers and waits until `count` of them run and are ready. */
async function startWorkers(t: TeardownHost, text: (port: number) => string, count: number, opts: StartProxyOptions = {}): Promise<Workers> {
  const port = await freePort();
  const seen = new Set<number>();
  killLeftovers(t, seen);
  const proxy = await startProxy(t, text(port), { waitPorts: [port], ...opts });
  const current = () => {
    const pids = childrenOf(proxy.pid);
    for (const p of pids) seen.add(p);
    return pids;
  };
  await waitFor(`${count} workers`, () => current().length === count, 8000, { context: proxy.stderr });
  // Forked is not ready: a worker killed before it listens fails the whole start, as it should.
  if (!opts.extraArgs?.includes('-q')) await waitFor('the start', () => proxy.stderr().includes('limpet started'), 8000, { context: proxy.stderr });
  return { proxy, port, seen, current };
}

/** Concurrent fresh connections until every pid in `want` has answered (the kernel spreads them unevenly). */
async function servingPids(port: number, want: number[], ms = 8000): Promise<Set<number>> {
  const served = new Set<number>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !want.every((p) => served.has(p))) {
    const answers = await Promise.all(Array.from({ length: 16 }, () => get(port, '/').catch(() => undefined)));
    for (const a of answers) if (a?.status === 200) served.add(Number(headerValues(a.headers, 'x-worker')[0]));
  }
  return served;
}

const logLines = (stderr: string, text: string) => stderr.split('\n').filter((l) => l.includes(text));
const pidOfLine = (line: string) => Number(/\((\d+)\)/.exec(line)?.[1]);

t.test('--workers 2: two workers serve; -p holds the primary; -d reaches the workers; SIGTERM stops them all', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const pidfile = writeTempConfig(t, '', 'limpet.pid');
  const w = await startWorkers(t, (port) => config(port, origin.port), 2, { extraArgs: ['--workers', '2', '-p', pidfile, '-d'] });
  const pids = w.current();
  await waitFor('the pid file', () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').length > 0);
  t.equal(readFileSync(pidfile, 'utf8').trim(), String(w.proxy.pid), 'the pid file holds the primary');
  const served = await servingPids(w.port, pids);
  t.same([...served].sort(), [...pids].sort(), `both workers served (${[...served].join(', ')})`);
  t.notOk(served.has(w.proxy.pid), 'the primary serves nothing itself');
  for (const pid of pids) t.ok(logLines(w.proxy.stderr(), `[DEBUG]    (${pid})`).length > 0, `worker ${pid} logs debug lines (-d)`);

  const exit = await w.proxy.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit status 0');
  t.same(pids.filter(alive), [], 'every worker is gone');
  t.notOk(existsSync(pidfile), 'pid file removed');
});

t.test('nbthread 2 with -q: two workers serve, a reload reaches both, nothing but alerts is logged', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  let port = 0;
  const text = (gen: number) => config(port, origin.port, { global: '    nbthread 2', extra: `    http-response set-header X-Gen ${gen}` });
  const w = await startWorkers(t, (p) => ((port = p), text(1)), 2, { extraArgs: ['-q'] });
  const pids = w.current();
  t.same([...(await servingPids(w.port, pids))].sort(), [...pids].sort(), 'both workers served');

  writeFileSync(w.proxy.configPath, text(2));
  w.proxy.signal('SIGUSR2');
  const onGen2 = new Set<number>();
  await waitFor('both workers on the new configuration', async () => {
    const answers = await Promise.all(Array.from({ length: 16 }, () => get(w.port, '/').catch(() => undefined)));
    for (const a of answers) if (a && headerValues(a.headers, 'x-gen')[0] === '2') onGen2.add(Number(headerValues(a.headers, 'x-worker')[0]));
    return pids.every((p) => onGen2.has(p));
  });
  t.pass('both workers answer with the reloaded configuration');
  t.same(w.proxy.stderr().split('\n').filter((l) => l && !l.startsWith('[ALERT]')), [], '-q: no notice or warning from the primary or the workers');
});

t.test('five reloads under keep-alive and fresh clients across workers: no error; one line per worker and a summary; a bad file is rejected everywhere', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  let port = 0;
  const text = (gen: number | string) => config(port, origin.port, { global: '    nbthread 2', extra: `    http-response set-header X-Gen ${gen}` });
  const w = await startWorkers(t, (p) => ((port = p), text(0)), 2);
  const pids = w.current();
  t.same([...(await servingPids(w.port, pids))].sort(), [...pids].sort(), 'both workers serve');

  let running = true;
  const errors: string[] = [];
  let ok = 0;
  const servedBy = new Set<number>();
  const note = (res: { headers: [string, string][] }) => {
    ok++;
    servedBy.add(Number(headerValues(res.headers, 'x-worker')[0]));
  };
  const keepAliveLoop = async () => {
    while (running) {
      const conn = await keepAliveConnection(w.port);
      try {
        while (running) {
          const res = await conn.send(`GET /ka HTTP/1.1\r\nHost: x\r\n\r\n`);
          if (res.status !== 200 || !res.complete) return void errors.push(`keep-alive: status ${res.status} complete ${res.complete}`);
          note(res);
          if (headerValues(res.headers, 'connection').some((v) => v.toLowerCase() === 'close')) break;
        }
      } catch (err) {
        return void errors.push(`keep-alive: ${(err as Error).message}`);
      } finally {
        conn.close();
      }
    }
  };
  const freshLoop = async () => {
    while (running) {
      try {
        const res = await get(w.port, '/fresh');
        if (res.status !== 200) errors.push(`fresh: status ${res.status}`);
        else note(res);
      } catch (err) {
        errors.push(`fresh: ${(err as Error).message}`);
      }
    }
  };
  const loops = [keepAliveLoop(), keepAliveLoop(), keepAliveLoop(), freshLoop(), freshLoop()];
  for (let i = 1; i <= 5; i++) {
    await sleep(120);
    writeFileSync(w.proxy.configPath, text(i));
    w.proxy.signal('SIGUSR2');
    await waitFor(`reload ${i}`, () => logLines(w.proxy.stderr(), 'Reload done: new configuration running in 2/2 workers').length === i, 8000, { context: w.proxy.stderr });
  }
  await sleep(120);
  running = false;
  await Promise.all(loops);
  t.same(errors, [], 'no client saw an error');
  t.ok(ok > 50, `requests kept flowing (${ok})`);
  t.same([...servedBy].sort(), [...pids].sort(), 'both workers served the clients');
  const done = logLines(w.proxy.stderr(), 'Reload done');
  t.equal(done.length, 15, 'three lines per reload');
  t.same(done.filter((l) => l.includes('workers.')).map(pidOfLine), Array(5).fill(w.proxy.pid), 'one summary per reload, from the primary');
  const perWorker = done.filter((l) => !l.includes('workers.')).map(pidOfLine);
  for (const pid of pids) t.equal(perWorker.filter((p) => p === pid).length, 5, `worker ${pid} logged each of its reloads`);

  writeFileSync(w.proxy.configPath, text(6) + '    bogus_keyword 1\n');
  w.proxy.signal('SIGUSR2');
  await waitFor('the rejection', () => w.proxy.stderr().includes('Reload rejected'), 8000, { context: w.proxy.stderr });
  t.match(w.proxy.stderr(), /bogus_keyword/, 'the error names the keyword');
  t.same(logLines(w.proxy.stderr(), 'Reload rejected').map(pidOfLine), [w.proxy.pid], 'the primary rejects it; no worker is asked');
  const gens = new Map<number, Set<string>>();
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && !pids.every((p) => gens.has(p))) {
    for (const a of await Promise.all(Array.from({ length: 16 }, () => get(w.port, '/')))) {
      const pid = Number(headerValues(a.headers, 'x-worker')[0]);
      gens.set(pid, (gens.get(pid) ?? new Set()).add(headerValues(a.headers, 'x-gen')[0]!));
    }
  }
  for (const pid of pids) t.same([...(gens.get(pid) ?? [])], ['5'], `worker ${pid} still serves the last good configuration`);
});

t.test('a worker killed with SIGKILL is replaced and traffic keeps flowing', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const w = await startWorkers(t, (port) => config(port, origin.port, { global: '    nbthread 2' }), 2);
  const [victim, survivor] = w.current() as [number, number];
  process.kill(victim, 'SIGKILL');
  await waitFor('a replacement', () => w.proxy.stderr().includes('replaced (pid'), 8000, { context: w.proxy.stderr });
  const now = w.current();
  t.equal(now.length, 2, 'two workers again');
  t.ok(now.includes(survivor) && !now.includes(victim), 'the survivor stays, the killed one is gone');
  t.match(w.proxy.stderr(), new RegExp(`worker \\d \\(pid ${victim}\\) exited \\(SIGKILL\\); starting a new one`), 'the primary says so');
  const answers: Array<SimpleResponse | Error> = [];
  for (let i = 0; i < 4; i++) answers.push(...(await Promise.all(Array.from({ length: 10 }, () => get(w.port, '/').catch((e: Error) => e)))));
  t.same(answers.filter((a) => a instanceof Error || a.status !== 200).length, 0, 'no errors after the replacement');
  t.same([...(await servingPids(w.port, now))].sort(), [...now].sort(), 'the new worker serves too');
});

t.test('a replacement worker runs the configuration the primary accepted, not a file edited badly since', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const w = await startWorkers(t, (port) => config(port, origin.port, { global: '    nbthread 2' }), 2);
  writeFileSync(w.proxy.configPath, 'global\n    bogus_keyword 1\n');
  const [victim] = w.current() as [number, number];
  process.kill(victim, 'SIGKILL');
  await waitFor('a replacement', () => w.proxy.stderr().includes('replaced (pid'), 8000, { context: w.proxy.stderr });
  const now = w.current();
  t.equal(now.length, 2, 'two workers again');
  t.notMatch(w.proxy.stderr(), /bogus_keyword/, 'the bad file was not read');
  t.same([...(await servingPids(w.port, now))].sort(), [...now].sort(), 'the replacement serves the accepted configuration');
});

t.test('SIGUSR1 in worker mode: requests in flight finish even past the fast-stop grace, then every worker exits 0', async (t) => {
  const slow = await startOrigin({ name: 'slow', t, handler: (_req, res) => setTimeout(() => res.end('late but complete\n'), 2500) });
  const w = await startWorkers(t, (port) => config(port, slow.port, { global: '    nbthread 2' }), 2);
  const pids = w.current();
  // Enough of them that both workers hold some.
  const pending = Array.from({ length: 8 }, () => get(w.port, '/', undefined, { timeout: 8000 }).catch((e: Error) => e));
  await waitFor('the requests at the origin', () => slow.requests.length === 8, 3000);
  const started = Date.now();
  w.proxy.signal('SIGUSR1');
  await sleep(200);
  await t.rejects(get(w.port, '/', undefined, { timeout: 1000 }), 'no longer accepting');
  const answers = await Promise.all(pending);
  t.same(answers.map((a) => (a instanceof Error ? a.message : a.body)), Array(8).fill('late but complete\n'), 'all 8 finished');
  const exit = await w.proxy.exited;
  t.same(exit, { code: 0, signal: null }, 'exit status 0');
  t.ok(Date.now() - started > 2000, 'the soft stop waited for them');
  t.same(pids.filter(alive), [], 'every worker is gone');
});

t.test('hard-stop-after bounds a soft stop; SIGTERM cuts a request past its grace and lets a short one finish', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res) => setTimeout(() => res.end('done\n'), req.url === '/short' ? 400 : 6000),
  });
  const w = await startWorkers(t, (port) => config(port, origin.port, { global: '    nbthread 2\n    hard-stop-after 500ms' }), 2);
  const long = get(w.port, '/long', undefined, { timeout: 8000 }).catch((e: Error) => e);
  await waitFor('the request at the origin', () => origin.requests.length === 1, 3000);
  const started = Date.now();
  w.proxy.signal('SIGUSR1');
  const exit = await w.proxy.exited;
  const took = Date.now() - started;
  t.same(exit, { code: 0, signal: null }, 'exit status 0');
  t.ok(took >= 450 && took < 3000, `stopped after hard-stop-after, not after the request (${took}ms)`);
  t.ok((await long) instanceof Error, 'the long request was cut');
  // 'exit' may come before the last of stderr has been read.
  await waitFor('the hard-stop line', () => w.proxy.stderr().includes('soft-stop running for too long'), 1000).catch(() => {});
  t.match(w.proxy.stderr(), /hard-stop-after 500ms\): closing 1 connection/, 'the worker holding it says so');

  const w2 = await startWorkers(t, (port) => config(port, origin.port, { global: '    nbthread 2' }), 2);
  const short = get(w2.port, '/short', undefined, { timeout: 8000 }).catch((e: Error) => e);
  const cut = get(w2.port, '/long', undefined, { timeout: 8000 }).catch((e: Error) => e);
  await waitFor('both requests at the origin', () => origin.requests.length === 3, 3000);
  const stopAt = Date.now();
  const exit2 = await w2.proxy.stop('SIGTERM');
  const took2 = Date.now() - stopAt;
  t.same(exit2, { code: 0, signal: null }, 'SIGTERM: exit status 0');
  t.match(await short, { status: 200, body: 'done\n' }, 'the short request finished');
  t.ok((await cut) instanceof Error, 'the long one was cut');
  t.ok(took2 >= 1500 && took2 < 4500, `after the fast-stop grace (${took2}ms)`);
});

t.test('workers exit when their primary is SIGKILLed', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const w = await startWorkers(t, (port) => config(port, origin.port, { global: '    nbthread 2' }), 2);
  const pids = w.current();
  await w.proxy.stop('SIGKILL');
  await waitFor('the workers to exit', () => pids.every((p) => !alive(p)), 5000);
  t.pass('both workers exited');
  await t.rejects(get(w.port, '/', undefined, { timeout: 1000 }), 'nothing listens any more');
});

t.test('a worker that cannot bind fails the start: exit 1 with its alert', async (t) => {
  const busy = net.createServer();
  const port = await freePort();
  await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  const file = writeTempConfig(t, config(port, 9, { global: '    nbthread 2' }));
  const r = await runCli(['-f', file], { timeout: 10_000 });
  t.equal(r.code, 1, 'exit status 1');
  t.notOk(r.timedOut);
  t.match(r.stderr, /worker \d \(pid \d+\) failed to start: Starting frontend www: cannot bind socket \(.*EADDRINUSE/, "the primary repeats the worker's alert");
});
