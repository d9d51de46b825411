// Stick tables in memory (no Redis), through the built CLI: `stick on src` in HTTP and TCP
// mode, JSESSIONID learned from responses, cookie persistence winning over stick rules, and
// entries expiring.
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';

const origin = (name: string, t: TeardownHost) =>
  startOrigin({
    name,
    t,
    handler: (req, res) => {
      if (!/JSESSIONID=/.test(req.headers.cookie ?? '')) res.setHeader('Set-Cookie', `JSESSIONID=${name}-${Math.random().toString(36).slice(2)}; Path=/`);
      res.end(name);
    },
  });

const servers = (origins: Origin[], cookies = false) =>
  origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}${cookies ? ` cookie ${o.name}` : ''}`).join('\n');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('stick tables in memory', async (t) => {
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t)];
  const [src, tcp, jsession, cookie, failover] = await freePorts(5);
  const spare = [await origin('f1', t), await origin('f2', t)];
  await startProxy(t, `
defaults
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen bysrc
    mode http
    bind :${src}
    stick-table type ipv6 size 100 expire 1m
    stick on src
${servers(origins)}
listen tcpsrc
    mode tcp
    bind :${tcp}
    stick-table type ip size 100 expire 1m
    stick on src
${servers(origins)}
listen jsession
    mode http
    bind :${jsession}
    stick-table type string len 64 size 100 expire 400ms
    stick store-response res.cook(JSESSIONID)
    stick match req.cook(JSESSIONID)
${servers(origins)}
listen cookiewins
    mode http
    bind :${cookie}
    cookie SRV insert indirect nocache
    stick-table type string len 64 size 100 expire 1m
    stick store-response res.cook(JSESSIONID)
    stick match req.cook(JSESSIONID)
${servers(origins, true)}
listen failover
    mode http
    bind :${failover}
    stick-table type ip size 100 expire 1m
    stick on src
${spare.map((o) => `    server ${o.name} 127.0.0.1:${o.port} check inter 100ms fall 1 rise 1`).join('\n')}
`, { waitPorts: [src!, tcp!, jsession!, cookie!, failover!] });

  await t.test('HTTP stick on src: each client address keeps its server', async (t) => {
    const v4: string[] = [];
    const v6: string[] = [];
    for (let i = 0; i < 4; i++) {
      v4.push((await get(src!, '/', undefined, { host: '127.0.0.1' })).body);
      v6.push((await get(src!, '/', undefined, { host: '::1' })).body);
    }
    t.same(new Set(v4).size, 1, `127.0.0.1 always on one server: ${v4}`);
    t.same(new Set(v6).size, 1, `::1 always on one server: ${v6}`);
    t.not(v4[0], v6[0], 'round robin placed the two clients on different servers');
  });

  await t.test('TCP stick on src: each client address keeps its server', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await get(tcp!, '/', undefined, { host: '127.0.0.1' });
      t.equal(r.status, 200);
      seen.push(r.body);
    }
    t.same(new Set(seen).size, 1, `one server: ${seen}`);
  });

  await t.test('JSESSIONID learned from the response routes later requests, until it expires', async (t) => {
    const sessions: Array<[string, string]> = [];
    for (let i = 0; i < 3; i++) {
      const r = await get(jsession!, '/');
      sessions.push([/JSESSIONID=([^;]+)/.exec(headerValues(r.headers, 'set-cookie')[0]!)![1]!, r.body]);
    }
    t.equal(new Set(sessions.map(([, s]) => s)).size, 3, 'three sessions on three servers');
    for (const [id, server] of sessions) {
      for (let i = 0; i < 3; i++) {
        t.equal((await get(jsession!, '/', { Cookie: `JSESSIONID=${id}` })).body, server, `${id} stays on ${server}`);
      }
    }
    await sleep(600);
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add((await get(jsession!, '/', { Cookie: `JSESSIONID=${sessions[0]![0]}` })).body);
    t.ok(after.size > 1, `after expiry the session is balanced again: ${[...after]}`);
  });

  await t.test('a valid persistence cookie wins over the stick table', async (t) => {
    const first = await get(cookie!, '/');
    const id = /JSESSIONID=([^;]+)/.exec(headerValues(first.headers, 'set-cookie').join(';'))![1]!;
    const other = origins.find((o) => o.name !== first.body)!.name;
    for (let i = 0; i < 3; i++) {
      const r = await get(cookie!, '/', { Cookie: `SRV=${other}; JSESSIONID=${id}` });
      t.equal(r.body, other, 'the SRV cookie decides');
    }
    const r = await get(cookie!, '/', { Cookie: `JSESSIONID=${id}` });
    t.equal(r.body, first.body, 'without it the stick table does');
  });

  await t.test('a sticky server that goes down: the client is balanced elsewhere and the entry follows', async (t) => {
    const first = (await get(failover!, '/')).body;
    const dead = spare.find((o) => o.name === first)!;
    const alive = spare.find((o) => o.name !== first)!;
    await dead.close();
    await sleep(400);
    for (let i = 0; i < 4; i++) {
      const r = await get(failover!, '/');
      t.equal(`${r.status} ${r.body}`, `200 ${alive.name}`, 'served by the remaining server');
    }
  });
});
