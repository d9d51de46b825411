// Stick tables in memory (no Redis), through the built CLI: `stick on src` in HTTP and TCP
// mode, JSESSIONID learned from responses, cookie persistence winning over stick rules,
// entries expiring, and expressions with converters (HTTP and TCP), a response header
// learned by store-response, and a fetch only the rules engine answers.
import net from 'node:net';
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
      res.setHeader('X-Session', `${name}-token`);
      res.end(name);
    },
  });

const servers = (origins: Origin[], cookies = false) =>
  origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}${cookies ? ` cookie ${o.name}` : ''}`).join('\n');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HTTP/1.0 request over a connection from `localAddress` (127/8 all reaches lo); the body, within 3 s. */
function getFrom(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${localAddress} within 3 s`)), 3000);
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(text.slice(text.indexOf('\r\n\r\n') + 4));
    });
  });
}

t.test('stick tables in memory', async (t) => {
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t)];
  const [src, tcp, jsession, cookie, failover, lowered, tcpmask, learned, fename] = await freePorts(9);
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
listen lowered
    mode http
    bind :${lowered}
    stick-table type string len 16 size 100 expire 1m
    stick on req.hdr(x-user),lower
${servers(origins)}
listen tcpmask
    mode tcp
    bind :${tcpmask}
    stick-table type ip size 100 expire 1m
    stick on src,ipmask(24)
${servers(origins)}
listen learned
    mode http
    bind :${learned}
    stick-table type string len 32 size 100 expire 1m
    stick store-response res.hdr(X-Session)
    stick match req.hdr(x-session)
${servers(origins)}
listen fename
    mode http
    bind :${fename}
    stick-table type string size 100 expire 1m
    stick on fe_name
${servers(origins)}
`, { waitPorts: [src!, tcp!, jsession!, cookie!, failover!, lowered!, tcpmask!, learned!, fename!] });

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

  await t.test('stick on req.hdr(x-user),lower: the converter makes one key of every spelling', async (t) => {
    const alice: string[] = [];
    for (const user of ['Alice', 'ALICE', 'alice', 'aLiCe']) alice.push((await get(lowered!, '/', { 'X-User': user })).body);
    const bob = (await get(lowered!, '/', { 'X-User': 'Bob' })).body;
    t.equal(new Set(alice).size, 1, `every spelling of alice on one server: ${alice}`);
    t.not(bob, alice[0], 'round robin placed bob elsewhere');
    t.equal((await get(lowered!, '/', { 'X-User': 'BOB' })).body, bob, 'and BOB is bob');
  });

  await t.test('TCP stick on src,ipmask(24): clients of one /24 share a server', async (t) => {
    const seen: string[] = [];
    for (const last of [2, 3, 4, 5, 6, 7]) seen.push(await getFrom(tcpmask!, `127.0.0.${last}`));
    t.ok(seen.every((b) => origins.some((o) => o.name === b)), `each answered by a server: ${seen}`);
    t.equal(new Set(seen).size, 1, `six addresses of 127.0.0.0/24, one server: ${seen}`);
  });

  await t.test('stick store-response res.hdr(X-Session): the header the server sent routes the requests that carry it', async (t) => {
    const tokens = new Set<string>();
    for (let i = 0; i < 3; i++) tokens.add(headerValues((await get(learned!, '/')).headers, 'x-session')[0]!);
    t.equal(tokens.size, 3, `three servers told their token: ${[...tokens]}`);
    for (const token of tokens) {
      for (let i = 0; i < 3; i++) t.equal((await get(learned!, '/', { 'X-Session': token })).body, token.replace(/-token$/, ''), `${token} stays`);
    }
  });

  await t.test('stick on fe_name: a fetch only the rules engine answers still reads its value', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await get(fename!, '/', undefined, { host: i % 2 ? '::1' : '127.0.0.1' })).body);
    t.equal(new Set(seen).size, 1, `one frontend, one server: ${seen}`);
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
