// When idle connections end, on both sides: a pooled server connection expires at
// min(pool-purge-delay, timeout server) counted from its last use, and limpet closes
// server connections the server has not closed with a reset, as HAProxy does, so that no
// TIME_WAIT is left on the proxy's side. A
// keep-alive client is kept for as long as it sends requests within timeout http-keep-alive,
// and `timeout http-request` still bounds a head started after a keep-alive wait.
import t from 'tap';
import net from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { keepAliveConnection } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';

const H = 'Host: example\r\n';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SeenConnection {
  openedAt: number;
  /** 'end': the proxy sent a FIN; 'reset': ECONNRESET; undefined while open */
  closedBy?: 'end' | 'reset';
  closedAt?: number;
}

/** A keep-alive origin on raw sockets that records how each connection ended. */
async function rawOrigin(t: TeardownHost): Promise<{ port: number; seen: SeenConnection[] }> {
  const seen: SeenConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const c: SeenConnection = { openedAt: Date.now() };
    seen.push(c);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
    const ended = (how: 'end' | 'reset') => {
      if (c.closedBy) return;
      c.closedBy = how;
      c.closedAt = Date.now();
    };
    socket.on('end', () => {
      ended('end');
      socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => ended(err.code === 'ECONNRESET' ? 'reset' : 'end'));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as net.AddressInfo).port, seen };
}

const config = (port: number, originPort: number, defaults: string, serverExtra = '') => `
defaults
    mode http
    timeout connect 1s
${defaults}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${originPort} ${serverExtra}
`;

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await pause(10);
  return cond();
}

t.test('an idle pooled connection expires at timeout server, counted from its last use, with a reset', async (t) => {
  const origin = await rawOrigin(t);
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    timeout client 5s\n    timeout server 400ms'), { waitPorts: [port] });
  const c = await keepAliveConnection(port);
  t.teardown(() => c.close());
  // Requests 250 ms apart on one client connection: the second and third take the pooled
  // connection back before it expires, so each use pushes its expiry on.
  for (let i = 0; i < 3; i++) {
    t.equal((await c.send(`GET /r${i} HTTP/1.1\r\n${H}\r\n`)).status, 200);
    if (i < 2) await pause(250);
  }
  const lastUse = Date.now();
  t.equal(origin.seen.length, 1, 'one server connection carried the three requests');
  t.notOk(origin.seen[0]!.closedBy, 'still open after 500 ms of use in all (each use restarted its expiry)');
  t.ok(await waitFor(() => origin.seen[0]!.closedBy !== undefined, 3000), 'closed once idle for timeout server');
  const idleFor = origin.seen[0]!.closedAt! - lastUse;
  t.ok(idleFor >= 300 && idleFor < 1500, `closed ${idleFor} ms after its last use (timeout server 400ms)`);
  t.equal(origin.seen[0]!.closedBy, 'reset', 'closed with a reset: no TIME_WAIT on the proxy side');
  t.notOk(c.closed, 'the client connection is not affected');
});

t.test('a connection beyond pool-max-conn is closed with a reset, the one kept stays open', async (t) => {
  const origin = await rawOrigin(t);
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    timeout client 5s\n    timeout server 5s', 'pool-max-conn 1'), { waitPorts: [port] });
  const clients = await Promise.all([0, 1].map(() => keepAliveConnection(port)));
  t.teardown(() => clients.forEach((c) => c.close()));
  // Two first requests at once: two server connections, one of which the pool cannot keep.
  const answers = await Promise.all(clients.map((c, i) => c.send(`GET /x${i} HTTP/1.1\r\n${H}\r\n`)));
  t.same(answers.map((a) => a.status), [200, 200]);
  t.equal(origin.seen.length, 2);
  t.ok(await waitFor(() => origin.seen.some((s) => s.closedBy), 2000), 'one connection is closed');
  await pause(100);
  t.same(origin.seen.map((s) => s.closedBy ?? 'open').sort(), ['open', 'reset'], 'the one beyond the pool was reset, the other kept');
});

t.test('a keep-alive client sending within timeout http-keep-alive stays; an idle one closes at it', async (t) => {
  const origin = await rawOrigin(t);
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    timeout client 5s\n    timeout server 5s\n    timeout http-keep-alive 400ms'), { waitPorts: [port] });
  const c = await keepAliveConnection(port);
  t.teardown(() => c.close());
  // Six requests 250 ms apart: 1.5 s in all, each wait below the 400 ms keep-alive timeout.
  for (let i = 0; i < 6; i++) {
    const r = await c.send(`GET /k${i} HTTP/1.1\r\n${H}\r\n`);
    t.equal(r.status, 200, `request ${i} answered`);
    await pause(250);
    t.notOk(c.closed, `still open 250 ms after request ${i}`);
  }
  const start = Date.now();
  t.ok(await c.waitClose(3000), 'closed once idle');
  const idleFor = Date.now() - start;
  t.ok(idleFor < 1000, `closed ${idleFor + 250} ms after the last response (timeout http-keep-alive 400ms)`);
});

t.test('timeout http-request bounds a head begun after a longer keep-alive wait', async (t) => {
  const origin = await rawOrigin(t);
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    timeout client 5s\n    timeout server 5s\n    timeout http-keep-alive 3s\n    timeout http-request 300ms'), { waitPorts: [port] });
  const c = await keepAliveConnection(port);
  t.teardown(() => c.close());
  t.equal((await c.send(`GET /first HTTP/1.1\r\n${H}\r\n`)).status, 200);
  await pause(100);
  // A head that never ends: 408 at timeout http-request (300 ms), not at the 3 s keep-alive one.
  const start = Date.now();
  const r = await c.send(`GET /slow HTTP/1.1\r\n${H}`, { timeout: 3000 });
  const took = Date.now() - start;
  t.equal(r.status, 408, 'answered 408');
  t.ok(took >= 200 && took < 1500, `after ${took} ms (timeout http-request 300ms)`);
});
