// The curl session of ../shared/seed-haproxy-session-persistence.txt, replayed against the
// built CLI over real sockets: alternation without a cookie, stickiness with one, a fresh
// cookie for an unknown value, failover when the cookie's server is gone, and 503 when no
// server is left.
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/wait-for.js';

const seedConfig = (port: number, o1: Origin, o2: Origin, extra = '') => `
global
    maxconn 4096
defaults
    mode http
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
    retries 1
frontend www
    bind 127.0.0.1:${port}
    default_backend websvrs
backend websvrs
    balance roundrobin
    cookie WEBSVR insert
${extra}
    server websvr1 127.0.0.1:${o1.port} weight 1 maxconn 512 cookie 1 check inter 100ms rise 1 fall 1
    server websvr2 127.0.0.1:${o2.port} weight 1 maxconn 512 cookie 2 check inter 100ms rise 1 fall 1
`;

const body = (o: Origin) => `This is HTTP server ${o.name} (127.0.0.1:${o.port}).\n`;

t.test('the seed curl session', async (t) => {
  const o1 = await startOrigin({ name: 'websvr1', t });
  const o2 = await startOrigin({ name: 'websvr2', t });
  const port = await freePort();
  const proxy = await startProxy(t, seedConfig(port, o1, o2), { waitPorts: [port] });

  await t.test('without a cookie, responses alternate and carry Set-Cookie: WEBSVR=N; path=/', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await get(port, '/');
      t.equal(res.status, 200);
      const which = res.body === body(o1) ? 1 : res.body === body(o2) ? 2 : 0;
      t.not(which, 0, `body is one of the two origins: ${JSON.stringify(res.body)}`);
      t.same(headerValues(res.headers, 'set-cookie'), [`WEBSVR=${which}; path=/`], 'one Set-Cookie naming the server, byte for byte');
      seen.push(String(which));
    }
    t.equal(seen.join(''), '121212', 'round robin alternates websvr1 / websvr2');
  });

  await t.test('with WEBSVR=2 every response comes from websvr2 and none carries Set-Cookie', async (t) => {
    for (let i = 0; i < 5; i++) {
      const res = await get(port, '/', { Cookie: 'WEBSVR=2;' });
      t.equal(res.body, body(o2));
      t.same(headerValues(res.headers, 'set-cookie'), [], 'no Set-Cookie for a valid cookie');
    }
    const last = o2.requests.at(-1)!;
    t.match(last.headers.join('\n'), /WEBSVR=2/, 'without indirect, the server sees the persistence cookie');
  });

  await t.test('an unknown value is balanced and given a fresh cookie', async (t) => {
    const res = await get(port, '/', { Cookie: 'WEBSVR=9' });
    t.equal(res.status, 200);
    const which = res.body === body(o1) ? '1' : '2';
    t.same(headerValues(res.headers, 'set-cookie'), [`WEBSVR=${which}; path=/`]);
  });

  await t.test('with websvr2 stopped, WEBSVR=2 is served by websvr1 with a new cookie', async (t) => {
    await o2.close();
    await waitFor('websvr2 marked DOWN', async () => /Server websvrs\/websvr2 is DOWN/.test(proxy.stderr()));
    for (let i = 0; i < 3; i++) {
      const res = await get(port, '/', { Cookie: 'WEBSVR=2' });
      t.equal(res.status, 200);
      t.equal(res.body, body(o1));
      t.same(headerValues(res.headers, 'set-cookie'), ['WEBSVR=1; path=/']);
    }
  });

  await t.test('with both stopped, 503', async (t) => {
    await o1.close();
    await waitFor('websvr1 marked DOWN', async () => /Server websvrs\/websvr1 is DOWN/.test(proxy.stderr()));
    const res = await get(port, '/');
    t.equal(res.status, 503);
    t.match(res.body, /No server is available to handle this request/);
    t.match(proxy.stderr(), /backend websvrs has no server available!/);
  });

  const exit = await proxy.stop('SIGTERM');
  t.equal(exit.code, 0, 'SIGTERM stops limpet with status 0');
});

t.test('a dead server without health checks: retries, then redispatch or 503', async (t) => {
  const o1 = await startOrigin({ name: 'websvr1', t });
  const o2 = await startOrigin({ name: 'websvr2', t });
  const deadPort = o2.port;
  await o2.close();
  const cfg = (port: number, redispatch: boolean) => `
defaults
    mode http
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
    retries 2
    ${redispatch ? 'option redispatch' : ''}
listen www
    bind 127.0.0.1:${port}
    cookie WEBSVR insert
    server websvr1 127.0.0.1:${o1.port} cookie 1
    server websvr2 127.0.0.1:${deadPort} cookie 2
`;
  const p1 = await freePort();
  await startProxy(t, cfg(p1, true), { waitPorts: [p1] });
  const redispatched = await get(p1, '/', { Cookie: 'WEBSVR=2' });
  t.equal(redispatched.status, 200, 'option redispatch: the last retry goes to another server');
  t.equal(redispatched.body, body(o1));
  t.same(headerValues(redispatched.headers, 'set-cookie'), ['WEBSVR=1; path=/'], 'and the client is given that server\'s cookie');

  const p2 = await freePort();
  await startProxy(t, cfg(p2, false), { waitPorts: [p2] });
  const refused = await get(p2, '/', { Cookie: 'WEBSVR=2' });
  t.equal(refused.status, 503, 'without redispatch, a persistent request to a dead server ends in 503');
});
