// Memory stick tables under `--workers 2` behave as one table: what one worker learns routes
// the other's requests, concurrent first requests in both workers agree, a respawned worker
// and a reload keep the entries, expiry slides across workers, and `show table` lists what
// both learned. Each request says which worker served it (`X-Worker: %pid`); the kernel
// spreads connections unevenly, so checks that need both workers send bursts of concurrent
// connections until both answered (bounded). Last, a table shared through Redis works the
// same from every worker.
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';
import { redisCommand } from '../helpers/resp.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { runtimeCommand } from '../helpers/runtime-command.js';

interface Hit {
  server: string;
  pid: string;
  /** the SID the origin set, if it set one */
  sid?: string;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Origins answer their name and set SID=<name>-<n> when the request carries no SID. */
const origin = (name: string, t: TeardownHost) => {
  let n = 0;
  return startOrigin({
    name,
    t,
    handler: (req, res) => {
      if (!/\bSID=/.test(req.headers.cookie ?? '')) res.setHeader('Set-Cookie', `SID=${name}-${++n}; Path=/`);
      res.end(name);
    },
  });
};

async function hit(port: number, headers?: Record<string, string>): Promise<Hit> {
  try {
    const r = await get(port, '/', headers, { timeout: 3000 });
    const sid = /SID=([^;]+)/.exec(headerValues(r.headers, 'set-cookie')[0] ?? '')?.[1];
    return { server: r.body, pid: headerValues(r.headers, 'x-worker')[0] ?? '?', ...(sid ? { sid } : {}) };
  } catch (err) {
    return { server: '', pid: '', error: (err as Error).message };
  }
}

const burst = (port: number, n: number, headers?: Record<string, string>) => Promise.all(Array.from({ length: n }, () => hit(port, headers)));

/** Bursts of concurrent connections until `enough` holds of all answers so far (at most `rounds` bursts). */
async function until(port: number, enough: (hits: Hit[]) => boolean, headers?: Record<string, string>, rounds = 25): Promise<Hit[]> {
  const all: Hit[] = [];
  for (let i = 0; i < rounds && !enough(all); i++) all.push(...(await burst(port, 24, headers)));
  return all;
}

const pids = (hits: Hit[]) => new Set(hits.map((h) => h.pid));
const servers = (hits: Hit[]) => [...new Set(hits.map((h) => h.server))];
const errors = (hits: Hit[]) => hits.filter((h) => h.error).map((h) => h.error);
const bothWorkers = (hits: Hit[]) => pids(hits).size >= 2;

/** Sends `line` to the stats socket and reads until it closes. */
async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

t.test('memory stick tables shared by two workers through the primary', async (t) => {
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t), await origin('s4', t)];
  const srv = (n: number) => '    http-response set-header X-Worker %pid\n' + origins.slice(0, n).map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');
  const [cookie, bysrc, first, sliding, api] = await freePorts(5);
  const proxy: ProxyProcess = await startProxy(t, `
global
    stats socket 127.0.0.1:${api} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen cookie
    bind 127.0.0.1:${cookie}
    balance roundrobin
    stick-table type string len 64 size 1000 expire 1m
    stick store-response res.cook(SID)
    stick match req.cook(SID)
${srv(2)}
listen bysrc
    bind 127.0.0.1:${bysrc}
    balance roundrobin
    stick-table type ip size 100 expire 1m
    stick on src unless { req.hdr(x-warm) -m found }
${srv(3)}
listen first
    bind 127.0.0.1:${first}
    balance random
    stick-table type string len 32 size 1000 expire 1m
    stick on req.hdr(x-client)
${srv(4)}
listen sliding
    bind 127.0.0.1:${sliding}
    balance roundrobin
    stick-table type string len 64 size 100 expire 1200ms
    stick store-response res.cook(SID)
    stick match req.cook(SID)
${srv(2)}
`, { extraArgs: ['--workers', '2'], waitPorts: [cookie!, bysrc!, first!, sliding!, api!] });

  // A SID learned from s2 by one worker (roundrobin: s2 within a few requests).
  let s2sid: Hit | undefined;
  for (let i = 0; i < 8 && !s2sid; i++) {
    const h = await hit(cookie!);
    if (h.server === 's2' && h.sid) s2sid = h;
  }

  await t.test('a SID learned from s2 in one worker routes to s2 in both', async (t) => {
    t.ok(s2sid, 'roundrobin placed a new client on s2 within 8 requests');
    if (!s2sid) return;
    const hits = await until(cookie!, bothWorkers, { cookie: `SID=${s2sid.sid}` });
    t.same(errors(hits), [], 'no request failed');
    t.ok(bothWorkers(hits), `both workers served (pids ${[...pids(hits)]}; learned in ${s2sid.pid})`);
    t.same(servers(hits), ['s2'], `all ${hits.length} requests went to s2`);
  });

  await t.test('stick on src with roundrobin: one server for 127.0.0.1 whichever worker takes it', async (t) => {
    // Unstuck requests first, until the two workers' roundrobin would pick different servers
    // next: without one shared table, each worker would then stick the client elsewhere.
    const order = ['s1', 's2', 's3'];
    const last = new Map<string, string>();
    const diverged = () => {
      const next = [...last.values()].map((s) => order[(order.indexOf(s) + 1) % 3]);
      return next.length === 2 && next[0] !== next[1];
    };
    for (let i = 0; i < 60 && !diverged(); i++) {
      const h = await hit(bysrc!, { 'x-warm': '1' });
      if (!h.error) last.set(h.pid, h.server);
    }
    t.ok(diverged(), `the workers' roundrobin points at different servers (${[...last].join(', ')})`);
    const hits = await until(bysrc!, bothWorkers);
    t.same(errors(hits), [], 'no request failed');
    t.ok(bothWorkers(hits), `both workers served (pids ${[...pids(hits)]})`);
    t.equal(servers(hits).length, 1, `all ${hits.length} requests on one server: ${servers(hits)}`);
  });

  await t.test('concurrent first requests in both workers agree on one server (first writer wins)', async (t) => {
    // balance random over 4 servers: two workers placing a new key on their own would disagree 3 times in 4.
    let contested = 0;
    for (let round = 0; round < 40 && contested < 5; round++) {
      const hits = await burst(first!, 16, { 'x-client': `client-${round}` });
      t.same(errors(hits), [], `round ${round}: no request failed`);
      if (servers(hits).length !== 1) t.fail(`round ${round}: client-${round} placed on ${servers(hits)} (pids ${[...pids(hits)]})`);
      if (bothWorkers(hits)) contested++;
    }
    t.ok(contested >= 5, `${contested} new keys met both workers in their first burst`);
  });

  await t.test('a sliding expiry kept alive in either worker, and expired when unused', async (t) => {
    let h: Hit | undefined;
    for (let i = 0; i < 8 && !h; i++) {
      const x = await hit(sliding!);
      if (x.server === 's2' && x.sid) h = x;
    }
    if (!t.ok(h, 'a SID from s2')) return;
    // Used for three times `expire` (1200ms) in bursts that land in both workers: it must live on.
    const used: Hit[] = [];
    const end = Date.now() + 3600;
    while (Date.now() < end) {
      used.push(...(await burst(sliding!, 6, { cookie: `SID=${h!.sid}` })));
      await sleep(150);
    }
    t.same(errors(used), [], 'no request failed');
    t.ok(bothWorkers(used), `both workers served (pids ${[...pids(used)]})`);
    t.same(servers(used), ['s2'], `all ${used.length} requests over 3.6 s went to s2`);
    // Unused for longer than expire: gone from every worker's copy and from the primary.
    await sleep(1700);
    const after = await until(sliding!, (hs) => bothWorkers(hs) && hs.length >= 24, { cookie: `SID=${h!.sid}` });
    t.same(errors(after), [], 'no request failed');
    t.same(servers(after).sort(), ['s1', 's2'], 'after expiry the SID no longer sticks: roundrobin again');
  });

  await t.test('show table lists entries learned in both workers', async (t) => {
    const learned = await until(cookie!, (hs) => new Set(hs.filter((h) => h.sid).map((h) => h.pid)).size >= 2);
    const sids = learned.filter((h) => h.sid);
    t.ok(new Set(sids.map((h) => h.pid)).size >= 2, `SIDs learned in both workers (${sids.length})`);
    await sleep(100);
    const out = await runtimeCommand(api!, 'show table cookie');
    const missing = sids.filter((h) => !out.includes(`key=${h.sid} `) || !new RegExp(`key=${h.sid} .*server_key=${h.server}\\b`).test(out));
    t.same(missing.map((h) => `${h.sid}@${h.pid}`), [], `every learned SID listed with its server\n${out.slice(0, 600)}`);
    const cleared = await runtimeCommand(api!, `clear table cookie key ${s2sid?.sid}`);
    t.equal(cleared.trim(), '', 'clear table answers nothing');
    await sleep(100);
    // The entry is gone everywhere: the SID no longer sticks to s2 in either worker.
    const hits = await until(cookie!, (hs) => bothWorkers(hs) && servers(hs).length > 1, { cookie: `SID=${s2sid?.sid}` });
    t.same(servers(hits).sort(), ['s1', 's2'], `after clear table the SID is balanced (pids ${[...pids(hits)]})`);
  });

  await t.test('a SIGKILLed worker is replaced and its replacement routes known keys', async (t) => {
    let sid: Hit | undefined;
    for (let i = 0; i < 8 && !sid; i++) {
      const h = await hit(cookie!);
      if (h.server === 's2' && h.sid) sid = h;
    }
    if (!t.ok(sid, 'a SID from s2')) return;
    const before = await until(cookie!, bothWorkers, { cookie: `SID=${sid!.sid}` });
    const old = [...pids(before)];
    t.equal(old.length, 2, 'two workers');
    t.not(Number(old[0]), proxy.pid, 'a worker, not the primary (which serves no traffic)');
    process.kill(Number(old[0]), 'SIGKILL');
    // Until the replacement has served enough (the survivor serves meanwhile), within 15 s.
    const fresh = (hs: Hit[]) => hs.filter((h) => h.pid !== '' && !old.includes(h.pid));
    const after: Hit[] = [];
    const by = Date.now() + 15_000;
    while (fresh(after).length < 10 && Date.now() < by) {
      after.push(...(await burst(cookie!, 24, { cookie: `SID=${sid!.sid}` })));
      if (fresh(after).length === 0) await sleep(100);
    }
    const served = fresh(after).length;
    t.ok(served >= 10, `the replacement served ${served} requests (pids ${[...pids(after)]})${served >= 10 ? '' : `\n${proxy.stderr().slice(-800)}`}`);
    t.same(servers(after.filter((h) => !h.error)), ['s2'], `every request went to s2 (${errors(after).length} failed around the kill)`);
  });

  await t.test('a reload keeps the entries (same table name and type)', async (t) => {
    const learned = await until(cookie!, (hs) => hs.some((h) => h.server === 's2' && h.sid));
    const sid = learned.find((h) => h.server === 's2' && h.sid)!;
    const reloads = (proxy.stderr().match(/Reload done/g) ?? []).length;
    proxy.signal('SIGUSR2');
    await waitFor('Reload done', () => (proxy.stderr().match(/Reload done/g) ?? []).length > reloads, 10_000);
    const hits = await until(cookie!, bothWorkers, { cookie: `SID=${sid.sid}` });
    t.same(errors(hits), [], 'no request failed');
    t.ok(bothWorkers(hits), `both workers served (pids ${[...pids(hits)]})`);
    t.same(servers(hits), ['s2'], `all ${hits.length} requests went to s2 after the reload`);
  });
});

t.test('a Redis-backed table under --workers 2 shares through Redis from every worker', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t), await origin('s4', t)];
  const srv = (n: number) => '    http-response set-header X-Worker %pid\n' + origins.slice(0, n).map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');
  const [cookie, first] = await freePorts(2);
  await startProxy(t, `
redis shared
    server 127.0.0.1:${redis.port}
    prefix limpet-workers
    timeout 500ms
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen cookie
    bind 127.0.0.1:${cookie}
    balance roundrobin
    stick-table type string len 64 size 1000 expire 1m redis shared
    stick store-response res.cook(SID)
    stick match req.cook(SID)
${srv(2)}
listen first
    bind 127.0.0.1:${first}
    balance random
    stick-table type string len 32 size 1000 expire 1m redis shared
    stick on req.hdr(x-client)
${srv(4)}
`, { extraArgs: ['--workers', '2'], waitPorts: [cookie!, first!] });
  // Each worker connects to Redis in the background, a command and a subscriber connection
  // each; clients that come before are placed as during an outage.
  const clients = async () => String(await redisCommand(redis.port, ['CLIENT', 'LIST'])).split('\n').filter((l) => l.includes('cmd=') && !l.includes('cmd=client')).length;
  const connectBy = Date.now() + 5000;
  while ((await clients()) < 4 && Date.now() < connectBy) await sleep(20);
  t.ok((await clients()) >= 4, 'both workers connected to Redis');
  await sleep(200);

  let sid: Hit | undefined;
  for (let i = 0; i < 8 && !sid; i++) {
    const h = await hit(cookie!);
    if (h.server === 's2' && h.sid) sid = h;
  }
  if (!t.ok(sid, 'a SID from s2')) return;
  const deadline = Date.now() + 3000;
  while ((await redisCommand(redis.port, ['GET', `limpet-workers:cookie:${sid!.sid}`])) !== 's2' && Date.now() < deadline) await sleep(20);
  t.equal(await redisCommand(redis.port, ['GET', `limpet-workers:cookie:${sid!.sid}`]), 's2', 'Redis holds the SID learned by one worker');
  const hits = await until(cookie!, bothWorkers, { cookie: `SID=${sid!.sid}` });
  t.same(errors(hits), [], 'no request failed');
  t.ok(bothWorkers(hits), `both workers served (pids ${[...pids(hits)]}; learned in ${sid!.pid})`);
  t.same(servers(hits), ['s2'], `all ${hits.length} requests went to s2`);

  let contested = 0;
  for (let round = 0; round < 40 && contested < 3; round++) {
    const hs = await burst(first!, 16, { 'x-client': `client-${round}` });
    t.same(errors(hs), [], `round ${round}: no request failed`);
    if (servers(hs).length !== 1) t.fail(`round ${round}: client-${round} placed on ${servers(hs)} (pids ${[...pids(hs)]})`);
    if (bothWorkers(hs)) contested++;
  }
  t.ok(contested >= 3, `${contested} new keys met both workers in their first burst`);
});
