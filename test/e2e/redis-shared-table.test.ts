// Three limpet instances sharing one stick table through a real redis-server: what one
// instance learns routes the client on the others (HTTP JSESSIONID learned from responses,
// and TCP `stick on src`), concurrent first requests through two instances meet on one server,
// Redis stopping breaks nothing a client sees, and Redis restarting gets the table back.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { redisCommand } from '../helpers/resp.js';
import { waitFor } from '../helpers/wait-for.js';

const config = (redisPort: number, http: number, tcp: number, claim: number, origins: Origin[]) => `
redis shared
    server 127.0.0.1:${redisPort}
    prefix limpet-test
    timeout 200ms
defaults
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
frontend web
    mode http
    bind :${http}
    default_backend app
frontend tcpfe
    mode tcp
    bind :${tcp}
    default_backend tcpapp
frontend claimfe
    mode http
    bind :${claim}
    default_backend byclient
backend app
    mode http
    balance roundrobin
    stick-table type string len 64 size 1m expire 30m redis shared
    stick store-response res.cook(JSESSIONID)
    stick match req.cook(JSESSIONID)
${servers(origins)}
backend tcpapp
    mode tcp
    balance roundrobin
    stick-table type ipv6 size 1k expire 30m redis shared
    stick on src
${servers(origins)}
backend byclient
    mode http
    balance roundrobin
    stick-table type string size 1k expire 30m redis shared
    stick on url_param(client)
${servers(origins)}
`;

const servers = (origins: Origin[]) => origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');

interface Instance {
  proxy: ProxyProcess;
  http: number;
  tcp: number;
  claim: number;
}

/** The origin answers with its name and hands out a JSESSIONID to clients that have none. */
const origin = (name: string, t: TeardownHost) =>
  startOrigin({
    name,
    t,
    handler: (req, res) => {
      if (!/JSESSIONID=/.test(req.headers.cookie ?? '')) res.setHeader('Set-Cookie', `JSESSIONID=${name}-${randomBytes(6).toString('hex')}; Path=/`);
      res.end(name);
    },
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cookieOf = (setCookie: string[]) => /JSESSIONID=([^;]+)/.exec(setCookie[0] ?? '')?.[1];

t.test('three instances share one stick table through Redis', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t)];
  const ports = await freePorts(9);
  const instances: Instance[] = [];
  for (let i = 0; i < 3; i++) {
    const [http, tcp, claim] = ports.slice(i * 3, i * 3 + 3) as [number, number, number];
    const proxy = await startProxy(t, config(redis.port, http, tcp, claim, origins), { waitPorts: [http, tcp, claim] });
    instances.push({ proxy, http, tcp, claim });
  }
  const [A, B, C] = instances as [Instance, Instance, Instance];
  // The instances connect to Redis in the background; wait until A's writes reach it.
  await waitFor('instances connected to Redis', async () => {
    const r = await get(A.claim, '/?client=probe');
    return r.status === 200 && (await redisCommand(redis.port, ['EXISTS', 'limpet-test:byclient:probe'])) === 1;
  });
  await sleep(200);

  const sessions: Array<{ cookie: string; server: string }> = [];
  await t.test('JSESSIONID learned from responses on A routes the client on B and C', async (t) => {
    for (let i = 0; i < 3; i++) {
      const r = await get(A.http, '/');
      t.equal(r.status, 200);
      const cookie = cookieOf(headerValues(r.headers, 'set-cookie'));
      t.ok(cookie, `A's response ${i} carries the server's JSESSIONID`);
      sessions.push({ cookie: cookie!, server: r.body });
    }
    t.same(new Set(sessions.map((s) => s.server)).size, 3, 'round robin on A gave the three sessions three servers');
    t.equal(await redisCommand(redis.port, ['GET', `limpet-test:app:${sessions[1]!.cookie}`]), sessions[1]!.server, 'Redis holds the server by name');
    for (const inst of [B, C, A]) {
      for (const s of sessions) {
        for (let i = 0; i < 2; i++) {
          const r = await get(inst.http, '/', { Cookie: `JSESSIONID=${s.cookie}` });
          t.equal(`${r.status} ${r.body}`, `200 ${s.server}`, `session ${s.cookie} stays on ${s.server}`);
        }
      }
    }
  });

  const tcpClients: Array<{ host: string; server: string }> = [];
  await t.test('TCP stick on src: a client learned on A is routed the same by B and C', async (t) => {
    // A may place both clients on one server, legitimately: startProxy's readiness probe is a
    // TCP client from 127.0.0.1 too. When it lands before A's Redis link is ready, it is placed
    // by hashing (s1 for ::ffff:127.0.0.1) without running round robin, whose first pick (for
    // ::1) is s1 as well; when it lands after, round robin placed it (s1) and ::1 gets s2.
    for (const host of ['127.0.0.1', '::1']) {
      const r = await get(A.tcp, '/', undefined, { host });
      t.equal(r.status, 200);
      tcpClients.push({ host, server: r.body });
    }
    for (const c of tcpClients) {
      const key = `limpet-test:tcpapp:${c.host === '::1' ? '::1' : '::ffff:127.0.0.1'}`;
      t.equal(await redisCommand(redis.port, ['GET', key]), c.server, `Redis holds ${c.host} -> ${c.server}`);
    }
    await sleep(100);
    // Without the shared table B and C would balance two new clients onto two different
    // servers (round robin), in reverse order to A's: whatever A learned, one of them would differ.
    for (const inst of [B, C]) {
      for (const c of [...tcpClients].reverse()) {
        const r = await get(inst.tcp, '/', undefined, { host: c.host });
        t.equal(`${r.status} ${r.body}`, `200 ${c.server}`, `${c.host} stays on ${c.server}`);
      }
    }
  });

  const claimed = new Map<string, string>();
  await t.test('concurrent first requests through A and B land on one server', async (t) => {
    const clients = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const results = await Promise.all(
      clients.map((c) => Promise.all([get(A.claim, `/?client=${c}`), get(B.claim, `/?client=${c}`)])),
    );
    for (let i = 0; i < clients.length; i++) {
      const [a, b] = results[i]!;
      t.equal(a.status, 200);
      t.equal(b.status, 200);
      t.equal(a.body, b.body, `client ${clients[i]} went to one server through A and B`);
      claimed.set(clients[i]!, a.body);
    }
    t.ok(new Set(claimed.values()).size > 1, 'the clients were still spread over the servers');
    for (const [c, server] of claimed) {
      const r = await get(C.claim, `/?client=${c}`);
      t.equal(r.body, server, `C routes ${c} to ${server}`);
    }
  });

  await t.test('Redis hanging (SIGSTOP): requests are answered without waiting on it', async (t) => {
    process.kill(redis.pid!, 'SIGSTOP');
    try {
      for (const [c, server] of claimed) {
        const r = await get(B.claim, `/?client=${c}`, undefined, { timeout: 3000 });
        t.equal(`${r.status} ${r.body}`, `200 ${server}`, 'known clients are local hits');
      }
      // New clients wait at most the section's timeout (200ms here), then are placed by hash.
      const rs = await Promise.all([A, B, C].map((inst) => get(inst.claim, '/?client=hung-1', undefined, { timeout: 3000 })));
      t.same(rs.map((r) => r.status), [200, 200, 200], 'new clients are served while Redis hangs');
      t.equal(new Set(rs.map((r) => r.body)).size, 1, 'and the instances agree on their server');
    } finally {
      process.kill(redis.pid!, 'SIGCONT');
    }
    await sleep(200);
  });

  const outage = new Map<string, string>();
  await t.test('Redis stopped: no request fails, known clients stay, new clients agree', async (t) => {
    await redis.stop();
    await sleep(300);
    for (const inst of [A, B, C]) {
      for (const s of sessions) {
        const r = await get(inst.http, '/', { Cookie: `JSESSIONID=${s.cookie}` });
        t.equal(`${r.status} ${r.body}`, `200 ${s.server}`, `session stays on ${s.server} without Redis`);
      }
      for (const c of tcpClients) {
        const r = await get(inst.tcp, '/', undefined, { host: c.host });
        t.equal(`${r.status} ${r.body}`, `200 ${c.server}`, `TCP client ${c.host} stays without Redis`);
      }
      for (const [c, server] of claimed) {
        const r = await get(inst.claim, `/?client=${c}`);
        t.equal(`${r.status} ${r.body}`, `200 ${server}`);
      }
    }
    // New clients: each instance hashes the key over the same servers, so they agree.
    for (let i = 0; i < 8; i++) {
      const c = `down${i}`;
      const rs = await Promise.all([A, B, C].map((inst) => get(inst.claim, `/?client=${c}`)));
      t.same(rs.map((r) => r.status), [200, 200, 200], 'new clients are served');
      t.equal(new Set(rs.map((r) => r.body)).size, 1, `new client ${c} gets one server on all instances`);
      outage.set(c, rs[0]!.body);
    }
    // And new HTTP sessions are learned locally.
    const r = await get(A.http, '/');
    t.equal(r.status, 200);
    const cookie = cookieOf(headerValues(r.headers, 'set-cookie'))!;
    const again = await get(A.http, '/', { Cookie: `JSESSIONID=${cookie}` });
    t.equal(again.body, r.body, 'a session learned during the outage sticks on its instance');
    sessions.push({ cookie, server: r.body });
    for (const inst of instances) {
      t.equal(inst.proxy.stderr().match(/redis shared: unreachable/g)?.length, 1, 'the outage is logged once');
    }
  });

  await t.test('Redis restarted: the instances reconnect and resync', async (t) => {
    await redis.restart();
    // What was learned (before and during the outage) is written back into the empty Redis.
    const last = sessions[sessions.length - 1]!;
    await waitFor('entries written back', async () =>
      (await redisCommand(redis.port, ['GET', `limpet-test:app:${last.cookie}`])) === last.server &&
      (await redisCommand(redis.port, ['GET', 'limpet-test:byclient:down0'])) === outage.get('down0'));
    for (const [c, server] of outage) {
      t.equal(await redisCommand(redis.port, ['GET', `limpet-test:byclient:${c}`]), server, `${c} is back in Redis`);
    }
    // The line is written before the write-back, but reaches this process on another pipe.
    await waitFor('the reconnection logged', () => instances.every((inst) => /redis shared: reachable again/.test(inst.proxy.stderr())), 5000);
    for (const inst of instances) t.match(inst.proxy.stderr(), /redis shared: reachable again/);
    // The session A learned during the outage now reaches B and C through Redis.
    for (const inst of [B, C]) {
      const r = await get(inst.http, '/', { Cookie: `JSESSIONID=${last.cookie}` });
      t.equal(`${r.status} ${r.body}`, `200 ${last.server}`, 'outage session routed by the other instances');
    }
    // And a new one learned on B is routed by A and C (pub/sub resubscribed).
    const first = await get(B.http, '/');
    const fresh = await get(B.http, '/');
    const cookie = cookieOf(headerValues(fresh.headers, 'set-cookie'))!;
    t.not(first.body, '', 'B answers');
    await sleep(100);
    for (const inst of [A, C]) {
      for (let i = 0; i < 2; i++) {
        const r = await get(inst.http, '/', { Cookie: `JSESSIONID=${cookie}` });
        t.equal(`${r.status} ${r.body}`, `200 ${fresh.body}`, 'session learned on B after the restart is shared');
      }
    }
  });
});
