// `if` / `unless` on stick rules, through the built CLI on real sockets: a match rule that
// applies only when a request header is present, a store rule skipped by `unless` a named
// ACL, a store-response rule whose condition reads the response, and the same with a
// frontend that switches to the backend (the condition is evaluated for the backend's rules);
// and a conditional `stick on` over a table shared through a real redis-server.
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';
import { redisCommand } from '../helpers/resp.js';
import type { TeardownHost } from '../helpers/teardown.js';

// Each origin answers its name; `/keep/TOKEN` and `/drop/TOKEN` hand out session TOKEN, and
// only `/keep/` marks the response with `x-keep` (what the store-response condition reads).
const origin = (name: string, t: TeardownHost) =>
  startOrigin({
    name,
    t,
    handler: (req, res) => {
      const m = /^\/(keep|drop)\/(\w+)/.exec(req.url ?? '');
      if (m) {
        res.setHeader('x-session', m[2]!);
        if (m[1] === 'keep') res.setHeader('x-keep', '1');
      }
      res.end(name);
    },
  });

t.test('stick rules with if/unless conditions', async (t) => {
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t)];
  const servers = origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');
  const [reqPort, resPort, fePort] = await freePorts(3);
  await startProxy(t, `
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen byheader
    bind 127.0.0.1:${reqPort}
    acl nostore req.hdr(x-nostore) -m found
    stick-table type string len 32 size 100 expire 1m
    stick match req.hdr(x-user) if { req.hdr(x-sticky) -m found }
    stick store-request req.hdr(x-user) unless nostore
${servers}
listen byresponse
    bind 127.0.0.1:${resPort}
    stick-table type string len 32 size 100 expire 1m
    stick store-response res.hdr(x-session) if { res.hdr(x-keep) -m found }
    stick match req.hdr(x-session)
${servers}
frontend fe
    bind 127.0.0.1:${fePort}
    default_backend app
backend app
    acl api path_beg /api
    stick-table type string len 32 size 100 expire 1m
    stick on req.hdr(x-user) unless api
${servers}
`, { waitPorts: [reqPort!, resPort!, fePort!] });

  const serve = async (port: number, path: string, headers: Record<string, string>) => {
    const r = await get(port, path, headers);
    t.equal(r.status, 200, `${path} ${JSON.stringify(headers)} answered`);
    return r.body;
  };
  const series = async (n: number, port: number, path: string, headers: Record<string, string>) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await serve(port, path, headers));
    return out;
  };

  await t.test('stick match ... if { req.hdr(x-sticky) -m found }: only marked requests stick', async (t) => {
    const first = await serve(reqPort!, '/', { 'x-user': 'carol', 'x-sticky': '1' });
    t.same(await series(4, reqPort!, '/', { 'x-user': 'carol', 'x-sticky': '1' }), Array(4).fill(first), 'marked requests keep the first server');
    const unmarked = await series(3, reqPort!, '/', { 'x-user': 'carol' });
    t.equal(new Set(unmarked).size, 3, `unmarked requests are balanced round robin despite the entry: ${unmarked}`);
    // store-request (no condition met to skip it) moved the entry to the last server used
    t.equal(await serve(reqPort!, '/', { 'x-user': 'carol', 'x-sticky': '1' }), unmarked[2], 'the entry follows the last stored server');
  });

  await t.test('stick store-request ... unless ACL: the named ACL skips the store', async (t) => {
    const skipped = await serve(reqPort!, '/', { 'x-user': 'dave', 'x-sticky': '1', 'x-nostore': '1' });
    const stored = await serve(reqPort!, '/', { 'x-user': 'dave', 'x-sticky': '1' });
    t.not(stored, skipped, 'nothing was stored for dave by the x-nostore request, so the balancer chose again');
    t.same(await series(3, reqPort!, '/', { 'x-user': 'dave', 'x-sticky': '1' }), Array(3).fill(stored), 'then dave sticks');
  });

  await t.test('stick store-response ... if { res.hdr(x-keep) -m found }: the condition reads the response', async (t) => {
    const kept = await get(resPort!, '/keep/k1');
    t.same(headerValues(kept.headers, 'x-session'), ['k1']);
    t.same(await series(4, resPort!, '/', { 'x-session': 'k1' }), Array(4).fill(kept.body), 'session k1 sticks to the server that issued it');
    const dropped = await get(resPort!, '/drop/k2');
    t.same(headerValues(dropped.headers, 'x-session'), ['k2']);
    const k2 = await series(3, resPort!, '/', { 'x-session': 'k2' });
    t.equal(new Set(k2).size, 3, `session k2 was not stored (no x-keep): balanced round robin ${k2}`);
  });

  await t.test('stick on ... unless ACL in a backend reached through a frontend', async (t) => {
    const first = await serve(fePort!, '/', { 'x-user': 'erin' });
    t.same(await series(3, fePort!, '/page', { 'x-user': 'erin' }), Array(3).fill(first), 'erin sticks outside /api');
    const api = await series(3, fePort!, '/api/x', { 'x-user': 'erin' });
    t.equal(new Set(api).size, 3, `/api requests neither match nor store: ${api}`);
    t.equal(await serve(fePort!, '/', { 'x-user': 'erin' }), first, 'the /api requests did not move the entry');
  });
});

t.test('a conditional stick on with a table shared through Redis claims only when the condition holds', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const origins = [await origin('s1', t), await origin('s2', t)];
  const [web, stats] = await freePorts(2);
  const prefix = `limpet-cond-${process.pid}`;
  await startProxy(t, `
redis shared
    server 127.0.0.1:${redis.port}
    prefix ${prefix}
    timeout 500ms
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:${web}
    stick-table type string len 32 size 100 expire 1m redis shared
    stick on req.hdr(x-user) if { req.hdr(x-sticky) -m found }
${origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n')}
listen stats
    bind 127.0.0.1:${stats}
    stats uri /
`, { waitPorts: [web!, stats!] });
  // a request before the link is ready would be placed by hashing: wait for it
  for (let i = 0; i < 100 && !/limpet_redis_up\{[^}]*\} 1/.test((await get(stats!, '/;prometheus')).body); i++) await new Promise((r) => setTimeout(r, 50));
  const plain = await get(web!, '/', { 'x-user': 'frank' });
  t.equal(plain.status, 200);
  t.equal(await redisCommand(redis.port, ['GET', `${prefix}:app:frank`]), null, 'no entry for a request without x-sticky');
  const sticky = await get(web!, '/', { 'x-user': 'grace', 'x-sticky': '1' });
  t.equal(await redisCommand(redis.port, ['GET', `${prefix}:app:grace`]), sticky.body, `grace -> ${sticky.body} claimed in Redis`);
  for (let i = 0; i < 3; i++) t.equal((await get(web!, '/', { 'x-user': 'grace', 'x-sticky': '1' })).body, sticky.body, 'grace sticks');
});
