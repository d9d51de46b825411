// maxconn in TCP mode through the built CLI: at a frontend's (or the global) limit, further
// connections wait unread and are served when a slot frees, never dropped; server maxconn
// queues in the backend.
import type net from 'node:net';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { connectTcp, receiveAll, sleep, startTcpOrigin, startTcpProxy } from '../tcp/tcp-test-helpers.js';

/** An origin that tells each connection its arrival index and echoes what it is sent until FIN. */
async function holdingOrigin(t: Parameters<typeof startTcpOrigin>[0]) {
  const payloads: string[] = [];
  const origin = await startTcpOrigin(t, (s, i) => {
    payloads[i] = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (payloads[i] += d));
    s.on('end', () => s.end(`served ${payloads[i]}`));
  });
  return { origin, payloads };
}

async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const open = async (port: number, text: string): Promise<{ c: net.Socket; done: ReturnType<typeof receiveAll> }> => {
  const c = await connectTcp(port);
  const done = receiveAll(c, 10000);
  c.write(text);
  return { c, done };
};

t.test('frontend maxconn: the surplus connection waits, then is served', async (t) => {
  const { origin, payloads } = await holdingOrigin(t);
  const [port] = await freePorts(1);
  await startTcpProxy(
    t,
    `
defaults
    mode tcp
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
listen l4
    bind 127.0.0.1:${port}
    maxconn 2
    server o1 127.0.0.1:${origin.port}
`,
    [port!],
  );
  const a = await open(port!, 'a');
  const b = await open(port!, 'b');
  await waitUntil('two server connections', () => payloads.filter((p) => p.length > 0).length === 2);
  const c = await open(port!, 'c');
  await sleep(300);
  t.equal(origin.accepted, 2, 'the third connection is not forwarded while two are open');
  a.c.end();
  t.equal((await a.done).data.toString(), 'served a');
  await waitUntil('the third connection forwarded', () => payloads.includes('c'));
  b.c.end();
  c.c.end();
  t.equal((await b.done).data.toString(), 'served b');
  t.equal((await c.done).data.toString(), 'served c', 'the waiting connection was served, not dropped');
});

t.test('global maxconn counts connections of every frontend', async (t) => {
  const { origin, payloads } = await holdingOrigin(t);
  const [p1, p2] = await freePorts(2);
  await startTcpProxy(
    t,
    `
global
    maxconn 1
defaults
    mode tcp
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
listen one
    bind 127.0.0.1:${p1}
    server o1 127.0.0.1:${origin.port}
listen two
    bind 127.0.0.1:${p2}
    server o1 127.0.0.1:${origin.port}
`,
    [p1!, p2!],
  );
  const a = await open(p1!, 'one');
  await waitUntil('first forwarded', () => payloads.includes('one'));
  const b = await open(p2!, 'two');
  await sleep(300);
  t.equal(origin.accepted, 1, 'the other frontend waits for the global slot');
  a.c.end();
  await a.done;
  await waitUntil('second forwarded', () => payloads.includes('two'));
  b.c.end();
  t.equal((await b.done).data.toString(), 'served two');
});

t.test('server maxconn: the second connection queues in the backend until the first ends', async (t) => {
  const { origin, payloads } = await holdingOrigin(t);
  const [port] = await freePorts(1);
  await startTcpProxy(
    t,
    `
defaults
    mode tcp
    timeout connect 500ms
    timeout queue 5s
    timeout client 10s
    timeout server 10s
listen l4
    bind 127.0.0.1:${port}
    server o1 127.0.0.1:${origin.port} maxconn 1
`,
    [port!],
  );
  const a = await open(port!, 'a');
  await waitUntil('first forwarded', () => payloads.includes('a'));
  const b = await open(port!, 'b');
  await sleep(300);
  t.equal(origin.accepted, 1, 'one connection at a time on the server');
  a.c.end();
  await a.done;
  await waitUntil('second forwarded', () => payloads.includes('b'));
  b.c.end();
  t.equal((await b.done).data.toString(), 'served b');
});
