// The server side of keep-alive: the idle connection pool under each `http-reuse` mode,
// `pool-max-conn`, `option http-server-close` and `option httpclose`, and a server that closes
// an idle pooled connection (or closes it just as a request is sent) costing the client nothing.
import t from 'tap';
import type { Socket } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { headerValues, keepAliveConnection, rawRequest } from '../helpers/http-client.js';
import { startOrigin, startRawOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';

const H = 'Host: example\r\n';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config = (port: number, originPort: number, backendExtra = '', serverExtra = '') => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
${backendExtra}
    server s1 127.0.0.1:${originPort} ${serverExtra}
`;

async function setup(t: TeardownHost, backendExtra = '', serverExtra = ''): Promise<{ port: number; origin: Origin }> {
  const origin = await startOrigin({ name: 'o', t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port, backendExtra, serverExtra), { waitPorts: [port] });
  return { port, origin };
}

/** Two requests on one client connection, then one on another. */
async function twoClients(port: number): Promise<void> {
  const a = await keepAliveConnection(port);
  await a.send(`GET /a1 HTTP/1.1\r\n${H}\r\n`);
  await a.send(`GET /a2 HTTP/1.1\r\n${H}\r\n`);
  const b = await keepAliveConnection(port);
  await b.send(`GET /b1 HTTP/1.1\r\n${H}\r\n`);
  await b.send(`GET /b2 HTTP/1.1\r\n${H}\r\n`);
  a.close();
  b.close();
}

t.test('http-reuse safe (default): a first request takes a fresh connection, later ones the pool', async (t) => {
  const { port, origin } = await setup(t);
  await twoClients(port);
  t.equal(origin.requests.length, 4);
  t.equal(origin.connections, 2, "each client's first request opened a connection, the second reused one");
});

t.test('http-reuse always: even a first request takes an idle connection', async (t) => {
  const { port, origin } = await setup(t, '    http-reuse always');
  await twoClients(port);
  t.equal(origin.connections, 1, 'one server connection carried both clients');
});

t.test('http-reuse aggressive: a first request takes only a connection already reused', async (t) => {
  const { port, origin } = await setup(t, '    http-reuse aggressive');
  const a = await keepAliveConnection(port);
  await a.send(`GET /a1 HTTP/1.1\r\n${H}\r\n`); // one idle connection, used once: not proven
  const b = await keepAliveConnection(port);
  await b.send(`GET /b1 HTTP/1.1\r\n${H}\r\n`);
  t.equal(origin.connections, 2, 'an unproven idle connection is not given to a first request');
  await b.send(`GET /b2 HTTP/1.1\r\n${H}\r\n`); // b's own connection (or a's) is now reused: proven
  const c = await keepAliveConnection(port);
  await c.send(`GET /c1 HTTP/1.1\r\n${H}\r\n`);
  t.equal(origin.connections, 2, 'a proven one is');
  for (const x of [a, b, c]) x.close();
});

t.test('http-reuse never: connections are never shared between clients', async (t) => {
  const { port, origin } = await setup(t, '    http-reuse never');
  const a = await keepAliveConnection(port);
  await a.send(`GET /a1 HTTP/1.1\r\n${H}\r\n`);
  await a.send(`GET /a2 HTTP/1.1\r\n${H}\r\n`);
  t.equal(origin.connections, 1, "a client's own connection serves its next request");
  const b = await keepAliveConnection(port);
  await b.send(`GET /b1 HTTP/1.1\r\n${H}\r\n`);
  t.equal(origin.connections, 2, 'another client gets its own, although one is idle');
  a.close();
  for (let i = 0; i < 40 && origin.openConnections > 1; i++) await pause(25);
  t.equal(origin.openConnections, 1, "a client's connection closes with it");
  b.close();
});

t.test('pool-max-conn bounds the idle connections kept', async (t) => {
  const { port, origin } = await setup(t, '', 'pool-max-conn 1');
  const clients = await Promise.all([0, 1, 2].map(() => keepAliveConnection(port)));
  // Three first requests at once: three fresh server connections.
  const slow = clients.map((c, i) => c.send(`GET /x${i} HTTP/1.1\r\n${H}\r\n`));
  await Promise.all(slow);
  for (let i = 0; i < 40 && origin.openConnections > 1; i++) await pause(25);
  t.equal(origin.connections, 3);
  t.equal(origin.openConnections, 1, 'only one idle connection is kept');
  for (const c of clients) c.close();
});

t.test('option http-server-close: the client keeps its connection, the server does not', async (t) => {
  const { port, origin } = await setup(t, '    option http-server-close');
  const c = await keepAliveConnection(port);
  for (let i = 0; i < 3; i++) {
    const r = await c.send(`GET /sc${i} HTTP/1.1\r\n${H}\r\n`);
    t.equal(r.status, 200);
    t.same(headerValues(r.headers, 'connection'), [], 'the client is kept alive');
  }
  t.notOk(c.closed);
  c.close();
  t.equal(origin.connections, 3, 'one server connection per request');
  t.ok(origin.rawBytes.every((b) => /\r\nConnection: close\r\n/.test(b.toString('latin1'))), 'each request told the server to close');
});

t.test('option httpclose: both sides close after each request', async (t) => {
  const { port, origin } = await setup(t, '    option httpclose');
  const r = await rawRequest(port, `GET /hc HTTP/1.1\r\n${H}\r\n`, { waitClose: true });
  t.equal(r.status, 200);
  t.same(headerValues(r.headers, 'connection'), ['close']);
  t.ok(r.closed, 'client connection closed');
  for (let i = 0; i < 40 && origin.openConnections > 0; i++) await pause(25);
  t.equal(origin.openConnections, 0, 'server connection closed');
});

t.test('a server closing pooled connections costs the client nothing', async (t) => {
  // Answers keep-alive, but: on /idle-close it closes 30 ms after answering (while idle in the
  // pool); on any second request of a connection it closes without answering (the race where
  // the close crosses the request on the wire).
  const origin = await startRawOrigin((socket: Socket) => {
    let got = Buffer.alloc(0);
    let served = 0;
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      for (;;) {
        const text = got.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) return;
        const len = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (got.length < end + 4 + len) return;
        const path = /^\w+ (\S+)/.exec(text)![1]!;
        got = got.subarray(end + 4 + len);
        if (served++ > 0) return void socket.destroy();
        const body = `${path} ${len}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        if (path === '/idle-close') setTimeout(() => socket.end(), 30);
      }
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  const c = await keepAliveConnection(port);
  const first = await c.send(`GET /idle-close HTTP/1.1\r\n${H}\r\n`);
  t.equal(first.status, 200);
  await pause(100);
  const second = await c.send(`GET /after-idle-close HTTP/1.1\r\n${H}\r\n`);
  t.equal(second.status, 200, 'a connection the server closed while idle was not used');
  t.equal(second.body.toString(), '/after-idle-close 0');
  // The pooled connection is now open but will die on its next request: the proxy replays.
  const third = await c.send(`POST /raced HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`);
  t.equal(third.status, 200, 'a request lost on a stale pooled connection is sent again');
  t.equal(third.body.toString(), '/raced 5', 'with its body');
  const fourth = await c.send(`GET /raced-get HTTP/1.1\r\n${H}\r\n`);
  t.equal(fourth.status, 200);
  t.notOk(c.closed, 'the client never saw an error or a close');
  c.close();
  t.ok(origin.connections >= 4, `fresh connections were opened as needed (${origin.connections})`);
});

t.test('a request body that arrives while the request waits for a server slot is forwarded whole', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res, body) => {
      const answer = () => res.end(`${req.url} ${body.length} ${body.subarray(0, 4).toString()}${body.subarray(-4).toString()}`);
      if (req.url === '/hold') setTimeout(answer, 300);
      else answer();
    },
  });
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    timeout queue 3s', 'maxconn 1'), { waitPorts: [port] });
  const holder = rawRequest(port, `GET /hold HTTP/1.1\r\n${H}\r\n`);
  await pause(50);
  const big = 'head' + 'x'.repeat(60000) + 'tail';
  const chunked = `10\r\n${'c'.repeat(16)}\r\n0\r\n\r\n`;
  const [held, queued, queuedChunked] = await Promise.all([
    holder,
    rawRequest(port, `POST /queued HTTP/1.1\r\n${H}Content-Length: ${big.length}\r\n\r\n${big}`),
    rawRequest(port, `POST /queued-chunked HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunked}`),
  ]);
  t.equal(held.status, 200);
  t.equal(queued.body.toString(), `/queued ${big.length} headtail`, 'the whole body, in order');
  t.equal(queuedChunked.body.toString(), '/queued-chunked 16 cccccccc');
});

t.test('without pool-max-conn the idle pool is still bounded (256 per server)', async (t) => {
  const { port, origin } = await setup(t);
  // One-request clients: under http-reuse safe each first request opens a connection, and
  // each is parked afterwards where no first request may take it.
  for (let batch = 0; batch < 6; batch++) {
    const res = await Promise.all(Array.from({ length: 50 }, (_, i) => rawRequest(port, `GET /b${batch}-${i} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)));
    t.ok(res.every((r) => r.status === 200), `batch ${batch} answered`);
  }
  for (let i = 0; i < 40 && origin.openConnections > 256; i++) await pause(25);
  t.equal(origin.connections, 300);
  t.equal(origin.openConnections, 256, 'the connections beyond 256 were closed, not kept idle');
});
