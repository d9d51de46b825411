// Framing and connection semantics of the HTTP engine (RFC 9112), on real sockets: keep-alive
// on both sides, Connection and the other hop-by-hop fields, chunked with extensions and
// trailers, HEAD/204/304, close-delimited responses, 1xx and Expect: 100-continue, HTTP/1.0
// clients and servers, pipelining, a client FIN after its request, and byte-for-byte forwarding.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { headerValues, keepAliveConnection, rawRequest } from '../helpers/http-client.js';
import { startOrigin, startRawOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const config = (port: number, originPort: number, extra = '') => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
${extra}
    server s1 127.0.0.1:${originPort}
`;

const H = 'Host: example\r\n';
const text = (b: Buffer): string => b.toString('latin1');

t.test('with a node:http origin', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res, body) => {
      if (req.url === '/hop') {
        res.setHeader('Keep-Alive', 'timeout=5');
        res.setHeader('X-Resp-Hop', 'secret');
        res.setHeader('Connection', 'keep-alive, X-Resp-Hop');
      }
      if (req.url === '/head') res.setHeader('Content-Length', '100');
      if (req.url === '/204') return void res.writeHead(204).end();
      if (req.url === '/304') return void res.writeHead(304, { ETag: '"x"' }).end();
      if (req.url === '/chunked') {
        res.write('part1-');
        return void setTimeout(() => res.end('part2'), 20);
      }
      if (req.method === 'HEAD') return void res.end();
      const answer = `${req.method} ${req.url} ${body.length} ${body.toString('latin1')}`;
      res.setHeader('Content-Length', Buffer.byteLength(answer));
      res.end(answer);
    },
  });
  const port = await freePort();
  await startProxy(t, config(port, origin.port, '    option forwardfor'), { waitPorts: [port] });

  await t.test('keep-alive on both sides: five requests, one client and one server connection', async (t) => {
    const c = await keepAliveConnection(port);
    const before = origin.connections;
    for (let i = 0; i < 5; i++) {
      const r = await c.send(`GET /ka${i} HTTP/1.1\r\n${H}\r\n`);
      t.equal(r.status, 200);
      t.equal(text(r.body), `GET /ka${i} 0 `);
      t.same(headerValues(r.headers, 'connection'), [], 'no Connection field on a kept-alive HTTP/1.1 response');
    }
    t.notOk(c.closed, 'client connection still open');
    c.close();
    t.equal(origin.connections - before, 1, 'the server connection was reused for all five');
  });

  await t.test('Connection: close from the client closes the client side only', async (t) => {
    const before = origin.connections;
    const r = await rawRequest(port, `GET /close HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, { waitClose: true });
    t.equal(r.status, 200);
    t.same(headerValues(r.headers, 'connection'), ['close'], 'the response says close');
    t.ok(r.closed, 'the client connection was closed');
    const raw = text(origin.rawBytes[origin.rawBytes.length - 1]!);
    t.notOk(/connection: close/i.test(raw), 'the server was not asked to close');
    await new Promise((r) => setTimeout(r, 100));
    t.equal(origin.connections - before, 1);
    t.ok(origin.openConnections >= 1, 'the server connection stays open in the pool');
  });

  await t.test('hop-by-hop fields are not forwarded, on either side', async (t) => {
    const r = await rawRequest(
      port,
      `GET /hop HTTP/1.1\r\n${H}Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=9\r\nProxy-Connection: keep-alive\r\nX-End: 2\r\n\r\n`,
    );
    t.equal(r.status, 200);
    const req = origin.requests[origin.requests.length - 1]!;
    const names = req.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const n of ['connection', 'x-hop', 'keep-alive', 'proxy-connection']) t.notOk(names.includes(n), `origin did not get ${n}`);
    t.ok(names.includes('x-end'), 'end-to-end fields are forwarded');
    const resNames = r.headers.map(([n]) => n.toLowerCase());
    for (const n of ['keep-alive', 'x-resp-hop', 'connection']) t.notOk(resNames.includes(n), `client did not get ${n}`);
  });

  await t.test('unchanged header lines reach the origin byte for byte, non-ASCII included', async (t) => {
    const line = 'x-WeIrD-CaSe:   caf\xe9 \xff\tvalue  ';
    const r = await rawRequest(port, Buffer.from(`GET /bytes HTTP/1.1\r\n${H}${line}\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n`, 'latin1'));
    t.equal(r.status, 200);
    const raw = origin.rawBytes.map(text).join('');
    t.ok(raw.includes(`\r\n${line}\r\n`), `the odd line arrived exactly as sent: ${JSON.stringify(raw.slice(raw.lastIndexOf("GET /bytes")))}`);
    t.ok(raw.includes('GET /bytes HTTP/1.1\r\nHost: example\r\n'), 'request line and Host untouched');
    const req = origin.requests[origin.requests.length - 1]!;
    const xff = req.headers.filter((_, i, a) => i % 2 === 1 && a[i - 1]!.toLowerCase() === 'x-forwarded-for');
    t.same(xff, ['10.0.0.1', '127.0.0.1'], 'option forwardfor appends a field after the existing one');
  });

  await t.test('HEAD, 204 and 304 have no body and the connection goes on', async (t) => {
    const c = await keepAliveConnection(port);
    const head = await c.send(`HEAD /head HTTP/1.1\r\n${H}\r\n`);
    t.equal(head.status, 200);
    t.same(headerValues(head.headers, 'content-length'), ['100'], 'Content-Length of HEAD passed on');
    t.equal(head.body.length, 0);
    const s204 = await c.send(`GET /204 HTTP/1.1\r\n${H}\r\n`);
    t.equal(s204.status, 204);
    const s304 = await c.send(`GET /304 HTTP/1.1\r\n${H}\r\n`);
    t.equal(s304.status, 304);
    const after = await c.send(`GET /after HTTP/1.1\r\n${H}\r\n`);
    t.equal(text(after.body), 'GET /after 0 ', 'the next response is framed right');
    t.equal(after.raw.indexOf('HTTP/1.1 200'), 0, 'no stray body bytes before it');
    c.close();
  });

  await t.test('pipelined requests are answered in order', async (t) => {
    const reqs =
      `GET /p1 HTTP/1.1\r\n${H}\r\n` +
      `POST /p2 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello` +
      `POST /p3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n` +
      `GET /p4 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
    const r = await rawRequest(port, reqs, { waitClose: true });
    const bodies = [...text(r.raw).matchAll(/\r\n\r\n((?:GET|POST) \/p\d \d [a-z]*)/g)].map((m) => m[1]);
    t.same(bodies, ['GET /p1 0 ', 'POST /p2 5 hello', 'POST /p3 3 abc', 'GET /p4 0 '], 'four answers, in order');
    t.ok(r.closed, 'closed after the last (Connection: close)');
  });

  await t.test('a client FIN after a complete request: answered, then closed', async (t) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => socket.once('connect', r));
    socket.end(`GET /fin1 HTTP/1.1\r\n${H}\r\nGET /fin2 HTTP/1.1\r\n${H}\r\n`);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      socket.on('close', () => (clearTimeout(timer), resolve(true)));
    });
    const got = text(Buffer.concat(chunks));
    t.ok(closed, 'the proxy closed its side');
    t.match(got, /GET \/fin1 0 [\s\S]*GET \/fin2 0 /, 'both pipelined requests before the FIN were answered');
    t.match(got.slice(got.lastIndexOf('HTTP/1.1')), /connection: close/i, 'the last response says close');
  });

  await t.test('Expect: 100-continue passes through without deadlock', async (t) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let got = '';
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /expect HTTP/1.1\r\n${H}Content-Length: 4\r\nExpect: 100-continue\r\n\r\n`);
    const saw100 = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      socket.on('data', (d: Buffer) => {
        got += text(d);
        if (got.includes('100 Continue')) (clearTimeout(timer), resolve(true));
      });
    });
    t.ok(saw100, 'the client got 100 Continue before sending its body');
    socket.write('body');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      socket.on('data', () => got.includes('POST /expect 4 body') && (clearTimeout(timer), resolve()));
    });
    t.match(got, /HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/, '100 then the final response');
    t.match(got, /POST \/expect 4 body/);
    socket.destroy();
  });

  await t.test('HTTP/1.0 clients', async (t) => {
    const plain = await rawRequest(port, `GET /ten HTTP/1.0\r\n${H}\r\n`, { waitClose: true });
    t.equal(plain.status, 200);
    t.ok(plain.closed, 'an HTTP/1.0 request without keep-alive is closed after');
    t.same(headerValues(plain.headers, 'connection'), [], 'nothing to say: HTTP/1.0 closes by default');
    const c = await keepAliveConnection(port);
    const a = await c.send(`GET /ten-ka HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`);
    t.same(headerValues(a.headers, 'connection'), ['keep-alive'], 'keep-alive confirmed to the 1.0 client');
    t.equal(text(a.body), 'GET /ten-ka 0 ');
    const b = await c.send(`GET /chunked HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`);
    t.same(headerValues(b.headers, 'transfer-encoding'), [], 'no chunked coding to an HTTP/1.0 client');
    t.equal(text(b.body), 'part1-part2', 'the payload, decoded, delimited by close');
    t.ok(await c.waitClose(2000), 'closed to delimit it');
  });
});

t.test('with a raw origin: exact response bytes', async (t) => {
  const responses: Record<string, string[]> = {
    // chunk extensions and trailers are passed on as sent
    chunkext: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n'],
    // an HTTP/1.0 server: body delimited by close
    close: ['HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close'],
    // an HTTP/1.0 server with a length: its connection closes, the client's need not
    ten: ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    // 103 Early Hints, then the response
    hints: ['HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  };
  const origin = await startRawOrigin((socket: Socket) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += text(d);
      const custom = /^([A-Za-z-]+) \/custom HTTP\/1\.1\r\n/.exec(got);
      if (custom && got.endsWith('abc')) {
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${custom[1]!.length}\r\n\r\n${custom[1]}`);
        return;
      }
      const m = /^(?:GET|POST) \/(\w+) /.exec(got);
      const end = got.indexOf('\r\n\r\n');
      if (!m || end === -1) return;
      if (m[1] === 'early') {
        // answers before the upload is over, without reading it
        socket.end('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig');
        return;
      }
      if (m[1] === 'echo') {
        // a chunked request: wait for its last chunk and trailers, then echo the raw body
        const body = got.slice(end + 4);
        if (!body.endsWith('\r\n\r\n') || !/(^|\r\n)0\r\n/.test(body)) return;
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        return;
      }
      const parts = responses[m[1]!]!;
      got = '';
      let delay = 0;
      for (const p of parts) setTimeout(() => socket.write(p), (delay += 30));
      setTimeout(() => socket.end(), delay + 30);
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });

  const ext = await rawRequest(port, `GET /chunkext HTTP/1.1\r\n${H}\r\n`);
  t.equal(ext.status, 200);
  t.ok(text(ext.raw).endsWith('\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n'), 'chunk extension and trailer reached the client as sent');

  const body = '4;name=value\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n';
  const echo = await rawRequest(port, `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`);
  t.equal(text(echo.body), body, 'request chunk extensions and trailers reached the origin as sent');

  const close = await rawRequest(port, `GET /close HTTP/1.1\r\n${H}\r\n`, { waitClose: true });
  t.equal(close.status, 200);
  t.equal(text(close.body), 'until-close', 'a close-delimited body is relayed whole');
  t.same(headerValues(close.headers, 'connection'), ['close'], 'the 1.1 client is told the connection closes');
  t.ok(close.closed);

  const early = connect({ port, host: '127.0.0.1' });
  let earlyGot = '';
  early.on('data', (d: Buffer) => (earlyGot += text(d)));
  early.on('error', () => {});
  const earlyClosed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 3000);
    early.on('close', () => (clearTimeout(timer), resolve(true)));
  });
  await new Promise((r) => early.once('connect', r));
  early.write(`POST /early HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
  await new Promise((r) => setTimeout(r, 100));
  if (!early.destroyed) early.write(`GET /looks-like-a-request HTTP/1.1\r\n${H}\r\n${'y'.repeat(1000)}`);
  t.ok(await earlyClosed, 'an early answer to an unfinished upload closes the client connection');
  t.match(earlyGot, /^HTTP\/1\.1 413 Payload Too Large\r\n/, 'the client got the early answer');
  t.equal(earlyGot.match(/HTTP\/1\.1 /g)?.length, 1, 'and nothing else: the rest of the upload is not parsed as requests');

  for (const method of ['FOO', 'get']) {
    const r = await rawRequest(port, `${method} /custom HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`);
    t.equal(text(r.body), method, `the ${method} method (unknown to llhttp) is forwarded as it is, with its body`);
  }

  const c = await keepAliveConnection(port);
  const ten = await c.send(`GET /ten HTTP/1.1\r\n${H}\r\n`);
  t.equal(ten.status, 200);
  t.equal(text(ten.body), 'ok');
  t.same(headerValues(ten.headers, 'connection'), [], 'an HTTP/1.0 server does not close the 1.1 client');
  const tenAgain = await c.send(`GET /ten HTTP/1.1\r\n${H}\r\n`);
  t.equal(text(tenAgain.body), 'ok', 'the client connection goes on');
  c.close();

  const hints = await rawRequest(port, `GET /hints HTTP/1.1\r\n${H}\r\n`);
  t.match(text(hints.raw), /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>\r\n\r\nHTTP\/1\.1 200 OK/, '1xx relayed before the final response');
  t.equal(hints.status, 200);
  const hints10 = await rawRequest(port, `GET /hints HTTP/1.0\r\n${H}\r\n`, { waitClose: true });
  t.match(text(hints10.raw), /^HTTP\/1\.1 200 OK/, 'no 1xx to an HTTP/1.0 client');
});
