// `retry-on`: a response failure before anything reached the client is retried (on another
// server with `option redispatch`), for idempotent requests only; without retry-on the client
// gets HAProxy's 502/503/504.
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/free-port.js';
import { request } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const cfg = (port: number, bad: number, good: number, lines: string) => `
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 400ms
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    balance first
    retries 2
${lines}
    server bad 127.0.0.1:${bad} id 1
    server good 127.0.0.1:${good} id 2
`;

/** An origin that misbehaves in one way: a status, closing at once, or never answering. */
async function badOrigin(t: Test, how: 'status503' | 'close' | 'silent'): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  if (how === 'status503') {
    const o = await startOrigin({ name: 'bad', t, handler: (_q, res) => { hits++; res.statusCode = 503; res.end('busy\n'); } });
    return { port: o.port, hits: () => hits };
  }
  const server = createServer((sock) => {
    sock.once('data', () => {
      hits++;
      if (how === 'close') sock.destroy();
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  t.teardown(() => server.close());
  return { port, hits: () => hits };
}

const who = (body: string) => /server (\S+)/.exec(body)?.[1] ?? body.trim().slice(0, 40);

for (const [how, retryOn, failStatus] of [['status503', 'retry-on 503', 503], ['close', 'retry-on empty-response', 502], ['silent', 'retry-on response-timeout', 504]] as const) {
  t.test(`${retryOn}`, async (t) => {
    const bad = await badOrigin(t, how);
    const good = await startOrigin({ name: 'good', t });
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    await startProxy(t, cfg(p1, bad.port, good.port, `    ${retryOn}\n    option redispatch`), { waitPorts: [p1] });
    await startProxy(t, cfg(p2, bad.port, good.port, `    ${retryOn}`), { waitPorts: [p2] });
    await startProxy(t, cfg(p3, bad.port, good.port, ''), { waitPorts: [p3] });

    const r = await request(p1, { path: '/x' });
    t.equal(r.status, 200, 'retried on the other server (option redispatch)');
    t.equal(who(r.body), 'good');
    const before = bad.hits();
    const post = await request(p1, { path: '/x', method: 'POST', body: 'a=1' });
    t.equal(post.status, failStatus, 'a POST is never sent twice');
    t.equal(bad.hits() - before, 1, 'the failing server saw the POST once');

    const same = bad.hits();
    const r2 = await request(p2, { path: '/y' });
    t.equal(r2.status, failStatus, 'without redispatch the same server is asked again, and fails again');
    t.equal(bad.hits() - same, 3, 'one try and two retries (retries 2)');

    const r3 = await request(p3, { path: '/z' });
    t.equal(r3.status, failStatus, `without retry-on: ${failStatus}`);
    t.equal(good.requests.length, 1, 'only the retried GET reached the good server');
  });
}
