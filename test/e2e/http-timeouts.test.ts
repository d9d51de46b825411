// Timeouts with HAProxy's answers: `timeout http-request` (408, slow-header clients included),
// `timeout client` during an upload, `timeout server` (504) on fresh and pooled connections,
// connection failures with `retries` (503), and the quiet end of an idle keep-alive connection.
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, freePorts } from '../helpers/free-port.js';
import { keepAliveConnection, rawRequest } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const H = 'Host: example\r\n';

t.test('timeouts', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res) => {
      const delay = /\/slow(\d+)/.exec(req.url ?? '')?.[1];
      const answer = () => {
        if (!res.destroyed) res.writeHead(200, { 'Content-Length': '2' }).end('ok');
      };
      if (delay) setTimeout(answer, Number(delay));
      else answer();
    },
  });
  const [port, deadPort, refused] = (await freePorts(3)) as [number, number, number];
  await startProxy(t, `
defaults
    mode http
    timeout connect 200ms
    timeout client 400ms
    timeout server 300ms
    timeout http-request 300ms
    timeout http-keep-alive 200ms
    retries 2
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port}
frontend fe2
    bind 127.0.0.1:${deadPort}
    default_backend dead
backend dead
    server gone 127.0.0.1:${refused}
`, { waitPorts: [port] });

  await t.test('a slow-header client gets 408 at timeout http-request, even while sending', async (t) => {
    const before = origin.requests.length;
    const socket = connect({ port, host: '127.0.0.1' });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    const start = Date.now();
    const head = `GET /drip HTTP/1.1\r\n${H}X-Long: ${'a'.repeat(40)}\r\n\r\n`;
    let closedAt = 0;
    socket.on('close', () => (closedAt = Date.now()));
    for (let i = 0; i < head.length - 2 && !closedAt; i++) {
      socket.write(head[i]!);
      await new Promise((r) => setTimeout(r, 20));
    }
    t.match(got, /^HTTP\/1\.1 408 Request Time-out\r\n/, '408');
    t.ok(closedAt > 0 && closedAt - start >= 250 && closedAt - start < 1500, `closed at ${closedAt - start} ms`);
    t.equal(origin.requests.length, before, 'nothing reached the origin');
    socket.destroy();
  });

  await t.test('a connection that sends nothing gets 408', async (t) => {
    const r = await rawRequest(port, Buffer.alloc(0), { timeout: 2000 });
    t.equal(r.status, 408);
  });

  await t.test('an upload that stalls is cut at timeout client', async (t) => {
    const r = await rawRequest(port, `POST /upload HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\npartial`, { timeout: 3000, waitClose: true });
    t.ok(r.closed, 'the proxy closed the connection');
    t.notOk(r.timedOut, 'well before the test limit');
    t.equal(r.status, 408, 'with 408 since no response had started');
  });

  await t.test('timeout server gives 504 on a fresh connection', async (t) => {
    const r = await rawRequest(port, `GET /slow1000 HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
    t.equal(r.status, 504);
  });

  await t.test('timeout server also applies on a connection taken from the pool', async (t) => {
    const c = await keepAliveConnection(port);
    const before = origin.connections;
    const first = await c.send(`GET /fast HTTP/1.1\r\n${H}\r\n`);
    t.equal(first.status, 200);
    const start = Date.now();
    const second = await c.send(`GET /slow1000 HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
    t.equal(second.status, 504, '504 on the reused connection');
    t.ok(Date.now() - start < 900, 'at timeout server, not at the origin\'s answer');
    t.equal(origin.connections - before, 1, 'the second request did use the pooled connection');
    c.close();
  });

  await t.test('an idle keep-alive connection closes quietly at timeout http-keep-alive', async (t) => {
    const c = await keepAliveConnection(port);
    const r = await c.send(`GET /fast HTTP/1.1\r\n${H}\r\n`);
    t.equal(r.status, 200);
    const start = Date.now();
    t.ok(await c.waitClose(2000), 'closed');
    t.ok(Date.now() - start >= 150, 'not before timeout http-keep-alive');
    const again = await c.send('', { timeout: 100 });
    t.equal(again.raw.length, 0, 'no 408 for an idle connection');
  });

  await t.test('connection refused: retries, then 503', async (t) => {
    const start = Date.now();
    const r = await rawRequest(deadPort, `GET / HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
    t.equal(r.status, 503);
    // Two retries, each after a turn-around of min(timeout connect, 1s) = 200 ms.
    t.ok(Date.now() - start >= 350, `after the retries (${Date.now() - start} ms)`);
  });
});

t.test('timeout connect: a server that never completes the handshake, retries, then 503', async (t) => {
  // A listener with a full accept queue (backlog 0, never accepting): further SYNs are dropped,
  // so a connect hangs until `timeout connect`. Python holds it; it is killed by PID.
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void py.kill('SIGKILL'));
  const blackhole = await new Promise<number>((resolve, reject) => {
    py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    py.once('error', reject);
  });
  const fillers = Array.from({ length: 3 }, () => connect({ port: blackhole, host: '127.0.0.1' }).on('error', () => {}));
  t.teardown(() => fillers.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 200));
  const port = await freePort();
  await startProxy(t, `
defaults
    mode http
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
    retries 1
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server hole 127.0.0.1:${blackhole}
`, { waitPorts: [port] });
  const start = Date.now();
  const r = await rawRequest(port, `GET / HTTP/1.1\r\n${H}\r\n`, { timeout: 5000 });
  const took = Date.now() - start;
  t.equal(r.status, 503, '503 once the retries are spent');
  // attempt (200) + turn-around (200) + attempt (200)
  t.ok(took >= 550 && took < 3000, `after two connect timeouts and a turn-around (${took} ms)`);
});
