// mode tcp through the built CLI: byte-exact bulk transfer both ways at once, half-close in
// each direction, aborts on either side, server death mid-stream, and connect failures
// (retries, then the client is closed with nothing sent; redispatch to a live server).
// LIMPET_TCP_BULK_MB raises the bulk size for a soak run (default 64 MiB each way).
import { once } from 'node:events';
import net from 'node:net';
import t from 'tap';
import { freePort, freePorts } from '../helpers/free-port.js';
import {
  connectTcp,
  hashUntilEnd,
  receiveAll,
  receiveBytes,
  sendRandom,
  sleep,
  startTcpOrigin,
  startTcpProxy,
} from '../tcp/tcp-test-helpers.js';

const BULK = Number(process.env.LIMPET_TCP_BULK_MB ?? 64) * 1024 * 1024;

/** `p`, or a rejection naming `what()` after `ms`: a stall fails the test at once, with details. */
function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

const tcpConfig = (port: number, servers: string, extra = '') => `
defaults
    mode tcp
    timeout connect 300ms
    timeout client 20s
    timeout server 20s
    retries 2
listen l4
    bind 127.0.0.1:${port}
${extra}
${servers}
`;

t.test('bulk random payloads both ways at once arrive byte-exact', async (t) => {
  // The origin's side, once the proxy connects (a small BULK may be sent whole before that).
  let onOrigin!: (side: { saw: Promise<{ hash: string; bytes: number }>; sent: Promise<string> }) => void;
  const originConnected = new Promise<{ saw: Promise<{ hash: string; bytes: number }>; sent: Promise<string> }>((resolve) => (onOrigin = resolve));
  const origin = await startTcpOrigin(t, (s) => onOrigin({ saw: hashUntilEnd(s, 120000), sent: sendRandom(s, BULK) }));
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`), [port]);
  const client = await connectTcp(port);
  const clientSaw = hashUntilEnd(client, 120000);
  const clientSent = await sendRandom(client, BULK);
  const originSide = await originConnected;
  const [down, up] = await Promise.all([clientSaw, originSide.saw]);
  t.equal(origin.accepted, 1, 'one server connection');
  t.equal(up.bytes, BULK, 'origin received every byte');
  t.equal(up.hash, clientSent, 'client→server bytes identical');
  t.equal(down.bytes, BULK, 'client received every byte');
  t.equal(down.hash, await originSide.sent, 'server→client bytes identical');
  client.destroy();
});

t.test('half-close: the client FIN is passed on and the server can still answer', async (t) => {
  const origin = await startTcpOrigin(t, (s) => {
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    // Answers only after the client's FIN, which proves the response direction stayed open.
    s.on('end', () => s.end(`you said ${Buffer.concat(got).toString()}`));
  });
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`), [port]);
  const client = await connectTcp(port);
  const result = receiveAll(client);
  client.end('hello');
  const r = await result;
  t.equal(r.data.toString(), 'you said hello');
  t.ok(r.ended, 'client got the FIN after the answer');
  t.equal(r.error, undefined);
});

t.test('half-close: after the server FIN the client can keep sending', async (t) => {
  let received: Promise<Received2> | undefined;
  type Received2 = { data: string; ended: boolean };
  const origin = await startTcpOrigin(t, (s) => {
    s.end('bye early\n');
    received = new Promise((resolve) => {
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.on('end', () => resolve({ data: Buffer.concat(got).toString(), ended: true }));
    });
  });
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`), [port]);
  const client = await connectTcp(port);
  const result = receiveAll(client);
  await within(new Promise<void>((resolve) => client.once('end', () => resolve())), 5000, () => 'no FIN from the proxy');
  // The client's write side is still open: these bytes must reach the server.
  client.write('still ');
  await sleep(50);
  client.end('talking');
  const r = await result;
  t.equal(r.data.toString(), 'bye early\n');
  t.same(await received, { data: 'still talking', ended: true });
});

t.test('client abort (RST) closes the server connection', async (t) => {
  let serverClosed!: Promise<Buffer>;
  const origin = await startTcpOrigin(t, (s) => {
    serverClosed = new Promise((resolve) => {
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.on('close', () => resolve(Buffer.concat(got)));
    });
  });
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`), [port]);
  const client = await connectTcp(port);
  client.write('partial upload');
  for (let i = 0; i < 100 && origin.accepted === 0; i++) await sleep(20);
  await sleep(100);
  client.resetAndDestroy();
  const got = await Promise.race([serverClosed, sleep(5000).then(() => 'still open')]);
  t.equal(got.toString(), 'partial upload', 'server saw the bytes, then its connection closed');
});

t.test('server abort (RST) mid-stream closes the client with only what the server sent', async (t) => {
  const sent = Buffer.alloc(256 * 1024, 'x');
  const origin = await startTcpOrigin(t, (s) => {
    s.write(sent, () => setTimeout(() => s.resetAndDestroy(), 100));
  });
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`), [port]);
  const client = await connectTcp(port);
  const r = await receiveAll(client);
  t.ok(r.data.length <= sent.length, `client got ${r.data.length} bytes, no more than sent`);
  t.ok(sent.subarray(0, r.data.length).equals(r.data), 'and exactly a prefix of them');
  t.equal(r.error, 'ECONNRESET', 'the server reset reaches the client as a reset, not a clean FIN');
});

t.test('server process dies mid-stream: the client connection closes', async (t) => {
  // The origin runs in a child process killed by PID, the way a crashed server disappears.
  const { spawn } = await import('node:child_process');
  const oport = await freePort();
  const child = spawn(process.execPath, ['-e', `
    require('net').createServer((s) => { s.write(Buffer.alloc(65536, 'y')); }).listen(${oport}, '127.0.0.1', () => console.log('ready'));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${oport}`), [port]);
  const client = await connectTcp(port);
  const first = await receiveBytes(client, 65536);
  t.equal(first.length, 65536, 'streaming started');
  const result = receiveAll(client);
  // The dead process's kernel closes its socket with a FIN, which reaches the client as one;
  // the client's answering FIN then ends the session.
  client.once('end', () => client.end());
  child.kill('SIGKILL');
  const r = await result;
  t.ok(r.ended, 'the client saw the FIN');
  t.equal(r.error, undefined);
  t.equal(r.data.length, 0, 'nothing more after the server died');
});

t.test('connect failure: retries, then the client is closed with nothing sent', async (t) => {
  const [port, dead] = await freePorts(2);
  const proxy = await startTcpProxy(t, tcpConfig(port!, `    server gone 127.0.0.1:${dead}`), [port!]);
  const client = await connectTcp(port!);
  const started = Date.now();
  client.write('hello?');
  const r = await receiveAll(client, 10000, true);
  const elapsed = Date.now() - started;
  t.equal(r.data.length, 0, 'the client received nothing');
  // retries 2: three attempts separated by two turn-around pauses of min(timeout connect, 1s).
  t.ok(elapsed >= 500, `closed after the retries (${elapsed} ms)`);
  t.match(proxy.stderr(), /retries/, 'the debug log says why');
});

t.test('connect failure with option redispatch: the last retry goes to a live server', async (t) => {
  const origin = await startTcpOrigin(t, (s) => s.end('from the live one'));
  const [port, dead] = await freePorts(2);
  // The dead server comes first in round robin order, so the first connection tries it.
  await startTcpProxy(t, tcpConfig(port!, `    server gone 127.0.0.1:${dead}\n    server live 127.0.0.1:${origin.port}`, '    option redispatch'), [port!]);
  const client = await connectTcp(port!);
  const r = await receiveAll(client, 10000, true);
  t.equal(r.data.toString(), 'from the live one');
});

t.test('client idle past timeout client: both connections close', async (t) => {
  let serverClosed!: () => void;
  const serverSide = new Promise<void>((resolve) => (serverClosed = resolve));
  const origin = await startTcpOrigin(t, (s) => {
    s.on('end', () => s.end());
    s.on('close', () => serverClosed());
  });
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`).replace('timeout client 20s', 'timeout client 300ms'), [port]);
  const client = await connectTcp(port);
  const r = await receiveAll(client, 5000, true);
  t.equal(r.data.length, 0);
  await within(serverSide, 5000, () => `server connection still open (origin accepted ${origin.accepted})`);
  t.pass('server connection closed too');
});


t.test('timeout client-fin: a client that never answers the server FIN is closed early', async (t) => {
  let serverClosed!: () => void;
  const serverSide = new Promise<void>((resolve) => (serverClosed = resolve));
  const origin = await startTcpOrigin(t, (s) => {
    s.on('close', () => serverClosed());
    s.on('error', () => {});
    s.end('bye');
  });
  const port = await freePort();
  const cfg = tcpConfig(port, `    server o1 127.0.0.1:${origin.port}`).replace('timeout client 20s', 'timeout client 20s\n    timeout client-fin 300ms');
  const proxy = await startTcpProxy(t, cfg, [port]);
  const started = Date.now();
  // Every wait is bounded (well below timeout client, 20 s): a stall fails at once with the
  // proxy's debug log instead of hanging until the file's timeout.
  const stalled = (what: string) => () => `${what} after ${Date.now() - started} ms (origin accepted ${origin.accepted}); proxy log:\n${proxy.stderr()}`;
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => void client.destroy());
  const got: Buffer[] = [];
  let error: string | undefined;
  client.on('data', (c: Buffer) => got.push(c));
  client.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const fin = new Promise<void>((resolve) => client.once('end', () => resolve()));
  await within(once(client, 'connect'), 5000, stalled('client not connected'));
  // Half-open client: it gets the FIN and says nothing more, so the session waits on the
  // client side, under client-fin (300 ms) rather than timeout client (20 s).
  await within(fin, 5000, () => stalled(`no FIN from the proxy (client got ${JSON.stringify(Buffer.concat(got).toString())}, error ${error})`)());
  t.equal(Buffer.concat(got).toString(), 'bye', 'the client got what the server sent, then the FIN');
  const closed = await within(serverSide.then(() => true), 3000, stalled('server connection still open')).catch((e: Error) => (t.comment(e.message), false));
  t.ok(closed, `session closed by client-fin (${Date.now() - started} ms)`);
  t.equal(error, undefined, 'no reset');
});
