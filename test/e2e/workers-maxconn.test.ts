// maxconn under `--workers 2`, on real sockets: a server's maxconn holds for both workers
// together (the origin never sees more requests at once), surplus requests queue and are all
// served, slots move to the worker that needs them (lib/cluster/slot-leases.ts), a killed
// worker's slots come back, a reload and `set maxconn server` change the limit of the whole,
// requests in the backend's queue wait for any server's slot, TCP mode alike, and a
// frontend's maxconn is split between workers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { runtimeCommand } from '../helpers/runtime-command.js';
import { connectTcp, receiveAll, startTcpOrigin } from '../tcp/tcp-test-helpers.js';

const HOLD_MS = 150;

/** An origin that holds each request HOLD_MS and counts how many it holds at once. */
async function countingOrigin(t: TeardownHost) {
  const load = { now: 0, max: 0, total: 0 };
  const origin = await startOrigin({
    name: 'o1',
    t,
    handler: (_req, res) => {
      load.now++;
      load.total++;
      load.max = Math.max(load.max, load.now);
      setTimeout(() => {
        load.now--;
        res.end('ok');
      }, HOLD_MS);
    },
  });
  return { origin, load, reset: () => ((load.max = 0), (load.total = 0)) };
}

interface Answer {
  status: number;
  worker: string;
}

/** One GET; `agent` false opens a new connection, else the agent's kept-alive one. */
function get(port: number, agent: http.Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: agent ? {} : { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-worker']) }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
  });
}

const count = (answers: Answer[]) => {
  const byWorker: Record<string, number> = {};
  for (const a of answers) byWorker[a.worker] = (byWorker[a.worker] ?? 0) + 1;
  return { ok: answers.filter((a) => a.status === 200).length, byWorker };
};

/** `n` requests at once, each on a new connection (the kernel spreads them over the workers). */
const burst = (port: number, n: number) => Promise.all(Array.from({ length: n }, () => get(port, false)));

function config(originPort: number, fePort: number, maxconn: number, extraGlobal = ''): string {
  return `
global
${extraGlobal}
defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout queue 15s
frontend fe
    bind 127.0.0.1:${fePort}
    http-response set-header X-Worker %pid
    default_backend be
backend be
    server s1 127.0.0.1:${originPort} maxconn ${maxconn}
`;
}

/** Sends `line` to the runtime API and reads the answer until it closes. */
async function waitFor(what: string, cond: () => boolean, proxy: ProxyProcess, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- proxy's output ---\n${proxy.stdout()}${proxy.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Kept-alive connections, one per agent, grouped by the worker that accepted each. */
async function pinnedConnections(t: TeardownHost, port: number, perWorker: number): Promise<Map<string, http.Agent[]>> {
  const byWorker = new Map<string, http.Agent[]>();
  const enough = () => byWorker.size === 2 && [...byWorker.values()].every((a) => a.length >= perWorker);
  for (let round = 0; round < 8 && !enough(); round++) {
    const agents = Array.from({ length: 12 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    t.teardown(() => agents.forEach((a) => a.destroy()));
    const answers = await Promise.all(agents.map((a) => get(port, a)));
    answers.forEach((a, i) => byWorker.set(a.worker, [...(byWorker.get(a.worker) ?? []), agents[i]!]));
  }
  if (!enough()) throw new Error(`connections did not reach both workers: ${[...byWorker].map(([w, a]) => `${w}: ${a.length}`).join(', ')}`);
  // One more connection than needed per worker keeps its queue non-empty, and the test short.
  for (const [w, agents] of byWorker) byWorker.set(w, agents.slice(0, perWorker + 1));
  return byWorker;
}

/** Two requests on each of these connections at once: up to one in flight per connection. */
const pinnedLoad = (port: number, agents: http.Agent[]) => Promise.all(agents.flatMap((a) => [get(port, a), get(port, a)]));

t.test('server maxconn 3 holds for two workers together; slots move between them', async (t) => {
  const { origin, load, reset } = await countingOrigin(t);
  const [fePort] = await freePorts(1);
  const proxy = await startProxy(t, config(origin.port, fePort!, 3), { extraArgs: ['--workers', '2'], waitPorts: [fePort!] });

  // New connections from 40 clients at once, until both workers have served some.
  const seen: Record<string, number> = {};
  for (let round = 0; round < 3 && Object.keys(seen).length < 2; round++) {
    reset();
    const answers = await burst(fePort!, 40);
    const { ok, byWorker } = count(answers);
    Object.assign(seen, byWorker);
    t.equal(ok, 40, `round ${round + 1}: every queued request was served (${JSON.stringify(byWorker)})`);
    t.ok(load.max <= 3, `round ${round + 1}: the origin never saw more than 3 at once (saw ${load.max})`);
    t.equal(load.max, 3, `round ${round + 1}: and the limit was used`);
  }
  t.equal(Object.keys(seen).length, 2, `both workers served requests: ${JSON.stringify(seen)}`);

  // Traffic to one worker at a time: it reaches 3 in flight although it started with 1 or 2.
  const pinned = await pinnedConnections(t, fePort!, 3);
  const [first, second] = [...pinned.keys()];
  for (const worker of [first!, second!]) {
    reset();
    const answers = await pinnedLoad(fePort!, pinned.get(worker)!);
    t.ok(answers.every((a) => a.status === 200 && a.worker === worker), `all served by worker ${worker}`);
    t.equal(load.max, 3, `worker ${worker} alone reached 3 in flight`);
  }

  // The worker loaded last holds all 3 slots: killed, they come back to the pool.
  process.kill(Number(second), 'SIGKILL');
  await waitFor('the replacement worker', () => /worker \d+ \(pid \d+\) exited/.test(proxy.stderr() + proxy.stdout()), proxy);
  reset();
  const answers = await pinnedLoad(fePort!, pinned.get(first!)!);
  t.equal(count(answers).ok, answers.length, 'every request on the surviving worker was served');
  t.equal(load.max, 3, "the surviving worker reached 3 in flight with the dead worker's slots");
});

t.test('a reload and set maxconn server change the limit of both workers together', async (t) => {
  const { origin, load, reset } = await countingOrigin(t);
  const [fePort] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'limpet-maxconn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'api.sock');
  const stats = `    stats socket ${sock} level admin`;
  const proxy: ProxyProcess = await startProxy(t, config(origin.port, fePort!, 3, stats), { extraArgs: ['--workers', '2'], waitPorts: [fePort!] });

  // The primary takes signals once every worker is ready (before that SIGUSR2 would end it).
  await waitFor('the start', () => /limpet started/.test(proxy.stderr() + proxy.stdout()), proxy);
  writeFileSync(proxy.configPath, config(origin.port, fePort!, 5, stats));
  proxy.signal('SIGUSR2');
  await waitFor('the reload', () => /Reload done/.test(proxy.stderr() + proxy.stdout()), proxy);
  reset();
  let answers = await burst(fePort!, 40);
  t.equal(count(answers).ok, 40, 'every request served after the reload');
  t.ok(load.max <= 5, `never more than the new maxconn 5 at once (saw ${load.max})`);
  t.equal(load.max, 5, 'the new limit was used');

  // Raised at run time: the primary's pool must grow, no worker's own count alone reaches 8.
  t.equal(await runtimeCommand(sock, 'set maxconn server be/s1 8'), '\n', 'set maxconn server 8 accepted');
  reset();
  answers = await burst(fePort!, 48);
  t.equal(count(answers).ok, 48, 'every request served after raising maxconn');
  t.ok(load.max <= 8, `never more than 8 at once (saw ${load.max})`);
  t.equal(load.max, 8, 'the raised limit was used');

  t.equal(await runtimeCommand(sock, 'set maxconn server be/s1 2'), '\n', 'set maxconn server 2 accepted');
  reset();
  answers = await burst(fePort!, 16);
  t.equal(count(answers).ok, 16, 'every request served after set maxconn server');
  t.ok(load.max <= 2, `never more than 2 at once after set maxconn server (saw ${load.max})`);
  t.equal(load.max, 2, 'the runtime limit was used');
});

t.test('the backend queue: each server of two keeps its own maxconn across workers', async (t) => {
  const a = await countingOrigin(t);
  const b = await countingOrigin(t);
  const [fePort] = await freePorts(1);
  await startProxy(
    t,
    `
defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout queue 15s
frontend fe
    bind 127.0.0.1:${fePort}
    http-response set-header X-Worker %pid
    default_backend be
backend be
    balance leastconn
    server s1 127.0.0.1:${a.origin.port} maxconn 2
    server s2 127.0.0.1:${b.origin.port} maxconn 1
`,
    { extraArgs: ['--workers', '2'], waitPorts: [fePort!] },
  );
  const answers = await burst(fePort!, 24);
  t.equal(count(answers).ok, 24, `every request waited its turn in the backend's queue (${JSON.stringify(count(answers).byWorker)})`);
  t.ok(a.load.max <= 2 && b.load.max <= 1, `neither server saw more than its maxconn (s1 ${a.load.max}/2, s2 ${b.load.max}/1)`);
  t.same([a.load.max, b.load.max], [2, 1], 'both servers were used to their limit');
});

t.test('TCP mode: server maxconn holds for both workers, every connection is forwarded in turn', async (t) => {
  const load = { now: 0, max: 0 };
  // Each connection is held HOLD_MS, answered with its own text, then closed.
  const origin = await startTcpOrigin(t, (s) => {
    load.now++;
    load.max = Math.max(load.max, load.now);
    s.once('data', (d) =>
      setTimeout(() => {
        load.now--;
        s.end(`served ${d.toString()}`);
      }, HOLD_MS),
    );
  });
  const [port] = await freePorts(1);
  await startProxy(
    t,
    `
defaults
    mode tcp
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout queue 15s
listen l4
    bind 127.0.0.1:${port}
    server o1 127.0.0.1:${origin.port} maxconn 2
`,
    { extraArgs: ['--workers', '2'], waitPorts: [port!] },
  );
  const texts = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const c = await connectTcp(port!);
      const done = receiveAll(c, 15_000, true);
      c.write(`c${i}`);
      return (await done).data.toString();
    }),
  );
  t.same(texts, Array.from({ length: 16 }, (_, i) => `served c${i}`), 'every connection was forwarded and answered');
  t.ok(load.max <= 2, `never more than 2 server connections at once (saw ${load.max})`);
  t.equal(load.max, 2, 'the limit was used');
});

t.test('frontend maxconn is split between the workers', async (t) => {
  const { origin, load } = await countingOrigin(t);
  const [fePort] = await freePorts(1);
  await startProxy(
    t,
    `
defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
frontend fe
    bind 127.0.0.1:${fePort}
    maxconn 4
    http-response set-header X-Worker %pid
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port}
`,
    { extraArgs: ['--workers', '2'], waitPorts: [fePort!] },
  );
  // Each worker admits 2: the origin sees at most 2 per worker that took connections.
  const answers = await burst(fePort!, 16);
  const { ok, byWorker } = count(answers);
  const workers = Object.keys(byWorker).length;
  t.equal(ok, 16, `every connection was served in turn (${JSON.stringify(byWorker)})`);
  t.ok(load.max <= 2 * workers, `at most 2 connections at once per worker, 4 in all (saw ${load.max} with ${workers} worker(s) serving)`);
  t.ok(load.max >= 2, 'connections were admitted concurrently');
});
