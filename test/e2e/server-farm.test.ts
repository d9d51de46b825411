// Servers that behave like HAProxy's, over real sockets: weight 0 drains (persistent traffic
// only), backups (first only, or all with `option allbackups`), `disabled`, maxconn with
// `maxqueue` (a full queue redispatches) and `timeout queue` (503), `option httpchk` with
// `http-check expect`, and `option persist` with `option redispatch`.
import t, { type Test } from 'tap';
import { freePort } from '../helpers/free-port.js';
import { get, request } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/wait-for.js';

const head = (port: number) => `
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    retries 1
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
`;

const who = (body: string) => /server (\S+)/.exec(body)?.[1] ?? `?${body.slice(0, 60)}`;
const names = async (port: number, n: number, headers: Record<string, string> = {}) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(who((await request(port, { path: '/', headers })).body));
  return out;
};
const slowOrigin = (name: string, t: Test, ms: number) =>
  startOrigin({
    name,
    t,
    handler: (_req, res) => setTimeout(() => res.end(`This is HTTP server ${name}\n`), ms),
  });

t.test('weight 0 drains: no new clients, persistent ones still served', async (t) => {
  const [a, b] = await Promise.all([startOrigin({ name: 'a', t }), startOrigin({ name: 'b', t })]);
  const port = await freePort();
  await startProxy(t, `${head(port)}    cookie S insert
    server a 127.0.0.1:${a.port} cookie a
    server b 127.0.0.1:${b.port} cookie b weight 0
`, { waitPorts: [port] });
  t.same(new Set(await names(port, 6)), new Set(['a']), 'balanced requests avoid the drained server');
  t.same(await names(port, 3, { cookie: 'S=b' }), ['b', 'b', 'b'], 'its cookie still reaches it');
});

t.test('backups: only when no active server is left; the first one, or all with allbackups', async (t) => {
  const [b1, b2] = await Promise.all([startOrigin({ name: 'b1', t }), startOrigin({ name: 'b2', t })]);
  const dead = await freePort();
  for (const allbackups of [false, true]) {
    const port = await freePort();
    await startProxy(t, `${head(port)}${allbackups ? '    option allbackups\n' : ''}    server act 127.0.0.1:${dead} check inter 100ms fall 1 rise 1
    server b1 127.0.0.1:${b1.port} backup
    server b2 127.0.0.1:${b2.port} backup
    server off 127.0.0.1:${b1.port} disabled
`, { waitPorts: [port] });
    await waitFor('the active server to be seen down', async () => (await get(port, '/')).status === 200);
    const seen = await names(port, 6);
    if (allbackups) t.same(new Set(seen), new Set(['b1', 'b2']), 'allbackups: every backup takes traffic');
    else t.same(new Set(seen), new Set(['b1']), 'only the first backup takes traffic');
  }
});

t.test('maxqueue: a full server queue redispatches to another server', async (t) => {
  const [a, b] = await Promise.all([slowOrigin('a', t, 400), slowOrigin('b', t, 10)]);
  const port = await freePort();
  // Every request carries a's cookie: persistence assigns it to a, whose queue holds one.
  await startProxy(t, `${head(port)}    cookie S insert
    timeout queue 3s
    server a 127.0.0.1:${a.port} cookie a maxconn 1 maxqueue 1
    server b 127.0.0.1:${b.port} cookie b maxconn 1 maxqueue 1
`, { waitPorts: [port] });
  const results = await Promise.all([0, 1, 2].map(async (i) => {
    await new Promise((r) => setTimeout(r, i * 60)); // in order: served, queued, redispatched
    const res = await request(port, { path: `/${i}`, headers: { cookie: 'S=a' } });
    return `${who(res.body)}${res.headers.some(([n, v]) => n.toLowerCase() === 'set-cookie' && v.startsWith('S=b')) ? '+cookie' : ''}`;
  }));
  t.same(results, ['a', 'a', 'b+cookie'], 'served on a, queued on a, the third redispatched to b (and given b\'s cookie)');
});

t.test('timeout queue: a request waiting too long for a slot gets 503', async (t) => {
  const a = await slowOrigin('a', t, 800);
  const port = await freePort();
  await startProxy(t, `${head(port)}    timeout queue 150ms
    server a 127.0.0.1:${a.port} maxconn 1
`, { waitPorts: [port] });
  const first = request(port, { path: '/1' });
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  const second = await request(port, { path: '/2' });
  t.equal(second.status, 503, 'the queued request is refused');
  t.ok(Date.now() - started < 700, `after the queue timeout, not the server's answer (${Date.now() - started} ms)`);
  t.equal((await first).status, 200, 'the request holding the slot completes');
  t.equal(a.requests.length, 1, 'the refused request never reached the server');
});

t.test('http-check expect: status, string and negation decide health; transitions are logged', async (t) => {
  let bHealth = 'OK';
  const a = await startOrigin({ name: 'a', t });
  const b = await startOrigin({
    name: 'b',
    t,
    handler: (req, res) => {
      if (req.url === '/health') return void res.end(`state: ${bHealth}\n`);
      res.end('This is HTTP server b\n');
    },
  });
  const port = await freePort();
  const proxy = await startProxy(t, `${head(port)}    option httpchk GET /health
    http-check expect ! string MAINT
    server a 127.0.0.1:${a.port} check inter 80ms fall 2 rise 2
    server b 127.0.0.1:${b.port} check inter 80ms fall 2 rise 2
`, { waitPorts: [port] });
  await waitFor('both servers in use', async () => new Set(await names(port, 4)).size === 2);
  bHealth = 'MAINT';
  await waitFor('b to be taken down', () => /Server be\/b is DOWN/.test(proxy.stdout() + proxy.stderr()));
  t.same(new Set(await names(port, 6)), new Set(['a']), 'a server failing its check gets no traffic');
  t.match(proxy.stdout() + proxy.stderr(), /Server be\/b is DOWN, reason: Layer7 wrong status.*HTTP content check matched unwanted content/);
  bHealth = 'OK';
  await waitFor('b to come back', () => /Server be\/b is UP/.test(proxy.stdout() + proxy.stderr()));
  await waitFor('b in use again', async () => (await names(port, 4)).includes('b'));
});

t.test('http-check expect status: a range of codes', async (t) => {
  const a = await startOrigin({ name: 'a', t });
  const b = await startOrigin({
    name: 'b',
    t,
    handler: (req, res) => {
      res.statusCode = req.url === '/health' ? 302 : 200;
      res.end('This is HTTP server b\n');
    },
  });
  const port = await freePort();
  const proxy = await startProxy(t, `${head(port)}    option httpchk GET /health
    http-check expect status 200-299
    server a 127.0.0.1:${a.port} check inter 80ms fall 1 rise 1
    server b 127.0.0.1:${b.port} check inter 80ms fall 1 rise 1
`, { waitPorts: [port] });
  await waitFor('b down on 302', () => /Server be\/b is DOWN, reason: Layer7 wrong status, code: 302/.test(proxy.stdout() + proxy.stderr()));
  t.same(new Set(await names(port, 4)), new Set(['a']));
});

t.test('option persist: a cookie for a down server still goes there; redispatch rescues it', async (t) => {
  const a = await startOrigin({ name: 'a', t });
  const dead = await freePort();
  const port = await freePort();
  await startProxy(t, `${head(port)}    cookie S insert
    option persist
    option redispatch
    retries 2
    server a 127.0.0.1:${a.port} cookie a
    server gone 127.0.0.1:${dead} cookie g check inter 100ms fall 1 rise 1
`, { waitPorts: [port] });
  await new Promise((r) => setTimeout(r, 300)); // let the check take `gone` down
  const res = await request(port, { path: '/', headers: { cookie: 'S=g' } });
  t.equal(res.status, 200);
  t.equal(who(res.body), 'a', 'the connection to the down server failed, the retry went elsewhere');
  for (const [options, expect] of [['option persist', 503], ['', 200]] as const) {
    const p2 = await freePort();
    await startProxy(t, `${head(p2)}    cookie S insert
    ${options}
    server a 127.0.0.1:${a.port} cookie a
    server gone 127.0.0.1:${dead} cookie g check inter 100ms fall 1 rise 1
`, { waitPorts: [p2] });
    await new Promise((r) => setTimeout(r, 300));
    const r2 = await request(p2, { path: '/', headers: { cookie: 'S=g' } });
    t.equal(r2.status, expect, options ? 'persist without redispatch: the down server is tried, and fails (503)' : 'without persist: balanced to a live server');
  }
});

t.test('ignore-persist and force-persist with ACLs', async (t) => {
  const [a, b] = await Promise.all([startOrigin({ name: 'a', t }), startOrigin({ name: 'b', t })]);
  const port = await freePort();
  await startProxy(t, `${head(port)}    cookie S insert
    acl static path_beg /static/
    acl admin hdr(X-Admin) -m found
    ignore-persist if static
    force-persist if admin
    server a 127.0.0.1:${a.port} cookie a
    server b 127.0.0.1:${b.port} cookie b disabled
`, { waitPorts: [port] });
  const setCookies = (r: { headers: [string, string][] }) => r.headers.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v);
  const plain = await request(port, { path: '/page' });
  t.same(setCookies(plain), ['S=a; path=/'], 'a normal request gets a cookie');
  const stat = await request(port, { path: '/static/x.css' });
  t.same(setCookies(stat), [], 'ignore-persist: no cookie inserted');
  t.equal(who((await request(port, { path: '/static/x.css', headers: { cookie: 'S=b' } })).body), 'a', 'ignore-persist: the cookie is not used');
  t.equal(who((await request(port, { path: '/page', headers: { cookie: 'S=b' } })).body), 'a', 'b is disabled: its cookie is not honoured');
  t.equal(who((await request(port, { path: '/page', headers: { cookie: 'S=b', 'x-admin': '1' } })).body), 'b', 'force-persist reaches the disabled server');
});
