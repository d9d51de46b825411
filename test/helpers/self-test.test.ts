// Tests of the test helpers themselves, over real sockets and processes.
import { createServer } from 'node:net';
import t from 'tap';
import { freePort, freePorts } from './free-port.js';
import { get, headerValues, keepAliveConnection, rawRequest, sendSequentially } from './http-client.js';
import { defaultOriginBody, startOrigin, startRawOrigin } from './origin.js';
import { runCli, startProxy, writeTempConfig } from './proxy-process.js';
import { haveRedisServer, requireRedis, type RedisTestHost } from './redis-server.js';
import { redisCommand, RespError } from './resp.js';

t.test('freePort gives a port that can be bound', async t => {
  const port = await freePort();
  t.ok(port > 0 && port < 65536, `port ${port}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>(resolve => server.close(() => resolve()));
  const ports = await freePorts(3);
  t.equal(new Set(ports).size, 3, 'freePorts are distinct');
});

t.test('origin answers with its name and records what it received', async t => {
  const origin = await startOrigin({ name: 's1', t });
  const res = await get(origin.port, '/hello?x=1', [['X-Test', 'a'], ['X-Test', 'b']]);
  t.equal(res.status, 200);
  t.equal(res.body, `This is HTTP server s1 (127.0.0.1:${origin.port}).\n`);
  t.equal(res.body, defaultOriginBody('s1', origin.port));
  t.same(headerValues(res.headers, 'content-type'), ['text/html; charset=UTF-8']);
  t.same(headerValues(res.headers, 'content-length'), [String(Buffer.byteLength(res.body))]);
  t.equal(origin.requests.length, 1);
  t.equal(origin.requests[0]?.method, 'GET');
  t.equal(origin.requests[0]?.url, '/hello?x=1');
  t.same(headerValues(pairs(origin.requests[0]?.headers ?? []), 'x-test'), ['a', 'b'], 'raw headers keep repeats');
  t.equal(origin.connections, 1);
  t.match(origin.rawBytes[0]?.toString('latin1'), /^GET \/hello\?x=1 HTTP\/1\.1\r\n/);
  t.match(origin.rawBytes[0]?.toString('latin1'), /\r\nX-Test: a\r\nX-Test: b\r\n/);
});

t.test('origin records request bodies and uses a custom handler', async t => {
  const origin = await startOrigin({
    name: 'echo',
    t,
    handler: (_req, res, body) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(`got ${body.length}`);
    },
  });
  const raw = await rawRequest(
    origin.port,
    'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    { waitClose: true },
  );
  t.equal(raw.status, 200);
  t.equal(raw.body.toString(), 'got 5');
  t.same(headerValues(raw.headers, 'set-cookie'), ['a=1', 'b=2'], 'repeated Set-Cookie visible');
  t.ok(raw.closed, 'server closed after Connection: close');
  t.equal(origin.requests[0]?.body.toString(), 'hello');
  const viaGet = await get(origin.port, '/');
  t.same(headerValues(viaGet.headers, 'set-cookie'), ['a=1', 'b=2']);
});

t.test('keep-alive: several requests over one connection', async t => {
  const origin = await startOrigin({ name: 'ka', t });
  const req = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
  const responses = await sendSequentially(origin.port, [req('/1'), req('/2'), req('/3')]);
  t.equal(responses.length, 3);
  for (const r of responses) {
    t.equal(r.status, 200);
    t.equal(r.body.toString(), defaultOriginBody('ka', origin.port));
    t.ok(r.complete);
  }
  t.equal(origin.connections, 1, 'one connection for three requests');
  t.same(origin.requests.map(r => r.url), ['/1', '/2', '/3']);

  const conn = await keepAliveConnection(origin.port);
  const head = await conn.send('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(head.status, 200);
  t.equal(head.body.length, 0, 'HEAD response has no body');
  const close = await conn.send('GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(close.status, 200);
  t.ok(await conn.waitClose(2000), 'server closes after Connection: close');
  t.ok(conn.closed);
});

t.test('raw client parses chunked, close-delimited and interim responses', async t => {
  const replies = [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 10\r\n\r\nshort',
  ];
  const origin = await startRawOrigin(
    (socket, index) => {
      socket.once('data', () => {
        const reply = replies[index] ?? '';
        // Split every reply in two writes to exercise incremental parsing.
        socket.write(reply.slice(0, 20));
        setTimeout(() => (index === 2 || index === 4 ? socket.end(reply.slice(20)) : socket.write(reply.slice(20))), 10);
      });
    },
    { t },
  );
  const req = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
  const chunked = await rawRequest(origin.port, req);
  t.equal(chunked.status, 200);
  t.equal(chunked.body.toString(), 'hello, world');
  t.ok(chunked.complete);
  t.notOk(chunked.closed);
  t.equal(chunked.raw.toString(), replies[0]);

  const chunked2 = await rawRequest(origin.port, req);
  t.equal(chunked2.body.toString(), 'abc');

  const closeDelimited = await rawRequest(origin.port, req);
  t.equal(closeDelimited.status, 200);
  t.equal(closeDelimited.body.toString(), 'until close');
  t.ok(closeDelimited.closed);

  const interim = await rawRequest(origin.port, req);
  t.equal(interim.status, 201, 'the final response after 100 Continue');
  t.equal(interim.body.toString(), 'ok');

  const truncated = await rawRequest(origin.port, req);
  t.equal(truncated.status, 502);
  t.notOk(truncated.complete, 'body shorter than Content-Length is incomplete');
  t.equal(truncated.body.toString(), 'short');
  t.same(origin.rawBytes.map(b => b.toString()), replies.map(() => req), 'raw origin saw the exact bytes');
});

t.test('raw client: refused connection and timeout', async t => {
  const port = await freePort();
  const refused = await rawRequest(port, 'GET / HTTP/1.1\r\n\r\n', { timeout: 2000 });
  t.ok(refused.closed);
  t.equal(refused.status, undefined);
  t.notOk(refused.timedOut);

  const silent = await startRawOrigin(() => {}, { t });
  const start = Date.now();
  const timedOut = await rawRequest(silent.port, 'GET / HTTP/1.1\r\n\r\n', { timeout: 200 });
  t.ok(timedOut.timedOut);
  t.equal(timedOut.raw.length, 0);
  t.ok(Date.now() - start < 2000, 'bounded by the timeout');
});

// A stand-in for dist/cli.js: reads "listen PORT" lines from the -f file and listens.
const fakeCli = `
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
const args = process.argv.slice(2);
if (args[0] === '-c') { console.log('Configuration file is valid'); process.exit(0); }
const text = readFileSync(args[args.indexOf('-f') + 1], 'utf8');
if (text.includes('fail')) { console.error('[ALERT] parsing error: fail'); process.exit(3); }
for (const m of text.matchAll(/listen (\\d+)/g)) {
  setTimeout(() => createServer(s => s.end('hi')).listen(Number(m[1]), '127.0.0.1'), 100);
}
console.log('started ' + args.join(' '));
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
setInterval(() => {}, 1000);
`;

t.test('startProxy waits for ports, captures output and stops; runCli', async t => {
  const cli = writeTempConfig(t, fakeCli, 'fake-cli.mjs');
  // freePort's ports were free a moment ago; in a full run another process can bind one before
  // the stand-in does (seen twice in ~6 full runs): then it dies with EADDRINUSE, and only then
  // is it tried again on other ports, a bounded number of times.
  let a = 0;
  let b = 0;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  let res: Awaited<ReturnType<typeof rawRequest>> | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    [a, b] = (await freePorts(2)) as [number, number];
    proxy = await startProxy(t, `listen ${a}\nlisten ${b}\n`, { cli, waitPorts: [a, b], extraArgs: ['-d'] });
    res = await rawRequest(b, 'x', { waitClose: true, timeout: 2000 });
    if (res.raw.toString() === 'hi' || !/EADDRINUSE/.test(proxy.stderr())) break;
    t.comment(`attempt ${attempt}: a port was taken before the stand-in bound it; trying other ports`);
    await proxy.stop('SIGKILL');
  }
  t.ok(proxy!.pid > 0);
  t.equal(res!.raw.toString(), 'hi', 'both ports are ready', { stderr: proxy!.stderr(), ports: [a, b] });
  t.match(proxy!.stdout(), /started -f .*limpet\.cfg -d/);
  const exit = await proxy!.stop();
  t.same(exit, { code: 0, signal: null });
  t.match(proxy!.stdout(), /bye/);

  const early = startProxy(t, 'fail\n', { cli, waitPorts: [a] });
  await t.rejects(early, /exited early \(code 3[\s\S]*parsing error: fail/);

  const notReady = startProxy(t, 'nothing\n', { cli, waitPorts: [a], readyTimeout: 300 });
  await t.rejects(notReady, /nothing accepted connections/);

  const check = await runCli(['-c', '-f', '/nonexistent'], { cli });
  t.same({ code: check.code, stdout: check.stdout }, { code: 0, stdout: 'Configuration file is valid\n' });
  const hung = await runCli(['-f', writeTempConfig(t, '')], { cli, timeout: 300 });
  t.ok(hung.timedOut, 'runCli kills a CLI that outlives its timeout');
});

t.test('redis helper starts redis-server, answers PING, stops and restarts', async t => {
  const redis = await requireRedis(t);
  if (!redis) return;
  t.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  t.equal(await redisCommand(redis.port, ['PING']), 'PONG');
  t.equal(await redisCommand(redis.port, ['SET', 'k', 'v']), 'OK');
  t.equal(await redisCommand(redis.port, ['GET', 'k']), 'v');
  t.type(await redisCommand(redis.port, ['NOSUCHCOMMAND']), RespError);
  await redis.stop();
  t.notOk(redis.running);
  await t.rejects(redisCommand(redis.port, ['PING'], { timeout: 500 }));
  await redis.restart();
  t.ok(redis.running);
  t.equal(await redisCommand(redis.port, ['PING']), 'PONG');
  t.equal(await redisCommand(redis.port, ['GET', 'k']), null, 'nothing persisted across restarts');
});

t.test('requireRedis: fails under CI, skips elsewhere, when redis-server is missing', async t => {
  const savedPath = process.env['PATH'];
  const savedCi = process.env['CI'];
  t.teardown(() => {
    process.env['PATH'] = savedPath;
    if (savedCi === undefined) delete process.env['CI'];
    else process.env['CI'] = savedCi;
  });
  const calls: string[] = [];
  const fake: RedisTestHost = {
    teardown: () => {},
    fail: message => calls.push(`fail: ${message}`),
    plan: (n, comment) => calls.push(`plan ${n}: ${comment}`),
  };
  process.env['PATH'] = '/nonexistent';
  t.notOk(haveRedisServer());
  process.env['CI'] = 'true';
  t.equal(await requireRedis(fake), undefined);
  t.match(calls, [/^fail: redis-server is not installed/]);
  calls.length = 0;
  process.env['CI'] = 'false';
  const writes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (writes.push(chunk), true)) as typeof process.stderr.write;
  try {
    t.equal(await requireRedis(fake), undefined);
  } finally {
    process.stderr.write = write;
  }
  t.match(calls, [/^plan 0: skipped/]);
  t.match(writes.join(''), /WARNING: redis-server is not installed/);
});

t.test('redis-server is installed here', { skip: process.env['CI'] === 'true' ? false : !haveRedisServer() && 'no redis-server' }, async t => {
  t.ok(haveRedisServer(), 'redis-server on PATH');
});

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
