// Hostile input on both sides of the HTTP engine. Request side: every case gets 400 and the
// origin receives not one byte. Response side: a malformed response from the server becomes a
// 502 and nothing of it reaches the client; a malformed body after a valid head cuts the
// client connection so that the client never sees a complete (valid-looking) response.
import t from 'tap';
import type { Socket } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { rawRequest } from '../helpers/http-client.js';
import { startOrigin, startRawOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const config = (port: number, originPort: number) => `
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
    server s1 127.0.0.1:${originPort}
`;

const H = 'Host: example\r\n';
const post = (headers: string, body = ''): string => `POST / HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const chunkedPost = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);

// [name, exact bytes]; every one must be answered 400 and never reach the origin.
const REQUESTS: Array<[string, string]> = [
  ['Content-Length with Transfer-Encoding', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
  ['Transfer-Encoding then Content-Length', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')],
  ['duplicate Content-Length, same value', post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello')],
  ['duplicate Content-Length, different values', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!')],
  ['Content-Length as a list', post('Content-Length: 5, 5\r\n', 'hello')],
  ['negative Content-Length', post('Content-Length: -1\r\n')],
  ['Content-Length with a sign', post('Content-Length: +5\r\n', 'hello')],
  ['hexadecimal Content-Length', post('Content-Length: 0x5\r\n', 'hello')],
  ['empty Content-Length', post('Content-Length: \r\n')],
  ['Content-Length overflow', post('Content-Length: 99999999999999999999999\r\n')],
  ['Content-Length with inner space', post('Content-Length: 5 5\r\n', 'hello')],
  ['Transfer-Encoding gzip (not chunked last)', post('Transfer-Encoding: gzip\r\n', 'x')],
  ['Transfer-Encoding chunked twice in one field', post('Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n')],
  ['Transfer-Encoding chunked in two fields', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
  ['Transfer-Encoding xchunked', post('Transfer-Encoding: xchunked\r\n', '0\r\n\r\n')],
  ['Transfer-Encoding in HTTP/1.0', `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: example\n\n'],
  ['bare LF after one header', `GET / HTTP/1.1\r\nHost: example\nX-A: b\r\n\r\n`],
  ['bare CR inside a header', `GET / HTTP/1.1\r\nHost: example\rX-A: b\r\n\r\n`],
  ['obs-fold continuation line', `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`],
  ['NUL in a header value', `GET / HTTP/1.1\r\n${H}X-A: b\x00c\r\n\r\n`],
  ['control byte in a header value', `GET / HTTP/1.1\r\n${H}X-A: b\x01c\r\n\r\n`],
  ['DEL in a header value', `GET / HTTP/1.1\r\n${H}X-A: b\x7fc\r\n\r\n`],
  ['empty header name', `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`],
  ['space inside a header name', `GET / HTTP/1.1\r\n${H}X A: b\r\n\r\n`],
  ['space before the colon', `GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n`],
  ['header line without colon', `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`],
  ['non-ASCII byte in a header name', `GET / HTTP/1.1\r\n${H}X-\xe9: b\r\n\r\n`],
  ['invalid method character', `G@T / HTTP/1.1\r\n${H}\r\n`],
  ['method with a non-token byte', `GE"T / HTTP/1.1\r\n${H}\r\n`],
  ['relative request target', `GET foo HTTP/1.1\r\n${H}\r\n`],
  ['space inside the target', `GET /a b HTTP/1.1\r\n${H}\r\n`],
  ['control byte in the target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`],
  ['fragment in the target', `GET /a#b HTTP/1.1\r\n${H}\r\n`],
  ['non-ASCII byte in the target', `GET /\xe9 HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`],
  ['HTTP/2.0 on an HTTP/1 connection', `GET / HTTP/2.0\r\n${H}\r\n`],
  ['HTTP/0.9 request line', 'GET /\r\n\r\n'],
  ['lower-case protocol name', `GET / http/1.1\r\n${H}\r\n`],
  ['two spaces after the method', `GET  / HTTP/1.1\r\n${H}\r\n`],
  ['tab instead of space in the request line', `GET\t/ HTTP/1.1\r\n${H}\r\n`],
  ['whitespace before the first header', `GET / HTTP/1.1\r\n Host: example\r\n\r\n`],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n'],
  ['two Host fields', `GET / HTTP/1.1\r\n${H}Host: other\r\n\r\n`],
  ['absolute-form target whose authority is not Host', `GET http://other/ HTTP/1.1\r\n${H}\r\n`],
  ['CONNECT whose authority is not Host', `CONNECT example:443 HTTP/1.1\r\n${H}\r\n`],
  ['chunk size not hexadecimal', chunkedPost('g\r\nhello\r\n0\r\n\r\n')],
  ['negative chunk size', chunkedPost('-5\r\nhello\r\n0\r\n\r\n')],
  ['chunk size overflow', chunkedPost('fffffffffffffffffff\r\nx\r\n0\r\n\r\n')],
  ['chunk data longer than its size', chunkedPost('3\r\nhello\r\n0\r\n\r\n')],
  ['space after the chunk size', chunkedPost('5 \r\nhello\r\n0\r\n\r\n')],
  ['bare LF in chunk framing', chunkedPost('5\nhello\n0\n\n')],
  ['more than tune.http.maxhdr (101) headers', `GET / HTTP/1.1\r\n${H}${Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`],
  ['head larger than tune.bufsize', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17000)}\r\n\r\n`],
];

t.test(`request side: ${REQUESTS.length} hostile requests get 400 and the origin receives nothing`, async (t) => {
  t.ok(REQUESTS.length >= 40, 'at least 40 cases');
  const origin = await startOrigin({ name: 'o', t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  for (const [name, bytes] of REQUESTS) {
    const before = origin.rawBytes.reduce((n, b) => n + b.length, 0);
    const res = await rawRequest(port, Buffer.from(bytes, 'latin1'), { timeout: 3000, waitClose: true });
    const after = origin.rawBytes.reduce((n, b) => n + b.length, 0);
    t.equal(res.status, 400, `${name}: client got 400 (got ${res.raw.toString('latin1').slice(0, 60)})`);
    t.ok(res.closed, `${name}: connection closed after the error`);
    t.equal(after - before, 0, `${name}: origin received nothing`);
  }
  t.equal(origin.requests.length, 0, 'no request reached the origin');
  for (const method of ['GET', 'HEAD', 'DELETE']) {
    const res = await rawRequest(port, `${method} / HTTP/1.0\r\nContent-Length: 5\r\n\r\nGET /`, { timeout: 3000, head: false });
    t.equal(res.status, 413, `HTTP/1.0 ${method} with a payload: 413 as HAProxy answers`);
  }
  t.equal(origin.rawBytes.reduce((n, b) => n + b.length, 0), 0, 'still nothing at the origin');
  // The proxy still serves a valid request after all of that.
  const ok = await rawRequest(port, `GET /fine HTTP/1.1\r\n${H}\r\n`);
  t.equal(ok.status, 200, 'a valid request still works');
});

// [name, response bytes]; every one must give the client a 502 and none of these bytes.
const MARK = 'X-Leak-Marker: 1\r\n';
const RESPONSES: Array<[string, string]> = [
  ['garbage instead of a status line', `garbage\r\n${MARK}\r\n`],
  ['Content-Length with Transfer-Encoding', `HTTP/1.1 200 OK\r\n${MARK}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['duplicate Content-Length', `HTTP/1.1 200 OK\r\n${MARK}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`],
  ['malformed Content-Length', `HTTP/1.1 200 OK\r\n${MARK}Content-Length: 5x\r\n\r\nhello`],
  ['bare LF line endings', `HTTP/1.1 200 OK\n${MARK.replace('\r', '')}Content-Length: 0\n\n`],
  ['obs-fold', `HTTP/1.1 200 OK\r\n${MARK}X-A: b\r\n c\r\nContent-Length: 0\r\n\r\n`],
  ['NUL in a header value', `HTTP/1.1 200 OK\r\n${MARK}X-A: b\x00\r\nContent-Length: 0\r\n\r\n`],
  ['control byte in a header value', `HTTP/1.1 200 OK\r\n${MARK}X-A: b\x01c\r\nContent-Length: 0\r\n\r\n`],
  ['two-digit status', `HTTP/1.1 99 OK\r\n${MARK}Content-Length: 0\r\n\r\n`],
  ['four-digit status', `HTTP/1.1 1000 OK\r\n${MARK}Content-Length: 0\r\n\r\n`],
  ['no status code', `HTTP/1.1 OK\r\n${MARK}Content-Length: 0\r\n\r\n`],
  ['HTTP/2.0 status line', `HTTP/2.0 200 OK\r\n${MARK}Content-Length: 0\r\n\r\n`],
  ['lower-case protocol name', `http/1.1 200 OK\r\n${MARK}Content-Length: 0\r\n\r\n`],
  ['empty header name', `HTTP/1.1 200 OK\r\n${MARK}: x\r\nContent-Length: 0\r\n\r\n`],
  ['space in a header name', `HTTP/1.1 200 OK\r\n${MARK}X Y: x\r\nContent-Length: 0\r\n\r\n`],
  ['Transfer-Encoding chunked twice', `HTTP/1.1 200 OK\r\n${MARK}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`],
  ['too many headers', `HTTP/1.1 200 OK\r\n${MARK}${Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('')}Content-Length: 0\r\n\r\n`],
  ['head larger than tune.bufsize', `HTTP/1.1 200 OK\r\n${MARK}X-Big: ${'a'.repeat(17000)}\r\nContent-Length: 0\r\n\r\n`],
  ['101 to a request that asked no upgrade', `HTTP/1.1 101 Switching Protocols\r\n${MARK}Upgrade: websocket\r\nConnection: upgrade\r\n\r\n`],
  ['close in the middle of the head', `HTTP/1.1 200 OK\r\n${MARK}Content-Len`],
  ['close before any byte', ''],
];

t.test(`response side: ${RESPONSES.length} malformed responses become 502 with nothing forwarded`, async (t) => {
  t.ok(RESPONSES.length >= 15, 'at least 15 cases');
  const origin = await startRawOrigin((socket: Socket) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^GET \/case\/(\d+) /.exec(got);
      if (!m || !got.includes('\r\n\r\n')) return;
      const bytes = RESPONSES[Number(m[1])]![1];
      socket.end(Buffer.from(bytes, 'latin1'));
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  for (const [i, [name]] of RESPONSES.entries()) {
    const res = await rawRequest(port, `GET /case/${i} HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
    t.equal(res.status, 502, `${name}: client got 502`);
    t.notOk(res.raw.toString('latin1').includes('X-Leak-Marker'), `${name}: nothing of the bad response reached the client`);
  }
});

t.test('response side: a malformed body after a valid head never completes at the client', async (t) => {
  // [sent at once, sent 100 ms later (after the head has surely reached the client)]
  const bodies: Record<string, [string, string]> = {
    badchunk: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'zz\r\nLEAKED\r\n0\r\n\r\n'],
    truncated: ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this', ''],
    extra: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloLEAKED', ''],
    truncatedchunk: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', ''],
    badchunkfirst: ['HTTP/1.1 200 OK\r\nX-Leak-Marker: 1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nLEAKED\r\n0\r\n\r\n', ''],
  };
  const origin = await startRawOrigin((socket: Socket) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^GET \/(\w+) /.exec(got);
      if (!m || !got.includes('\r\n\r\n')) return;
      const [now, later] = bodies[m[1]!]!;
      socket.write(now);
      setTimeout(() => socket.end(later), 100);
    });
  }, { t });
  const port = await freePort();
  await startProxy(t, config(port, origin.port), { waitPorts: [port] });
  for (const name of ['badchunk', 'truncated', 'truncatedchunk']) {
    const res = await rawRequest(port, `GET /${name} HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
    t.equal(res.status, 200, `${name}: the valid head went through`);
    t.notOk(res.complete, `${name}: the client never saw a complete response`);
    t.ok(res.closed, `${name}: the client connection was cut`);
    t.notOk(res.raw.toString('latin1').includes('LEAKED'), `${name}: nothing after the fault reached the client`);
  }
  const first = await rawRequest(port, `GET /badchunkfirst HTTP/1.1\r\n${H}\r\n`, { timeout: 3000 });
  t.equal(first.status, 502, 'a bad chunk arriving with the head: 502');
  t.notOk(first.raw.toString('latin1').includes('X-Leak-Marker'), 'and none of the bad response');
  const extra = await rawRequest(port, `GET /extra HTTP/1.1\r\n${H}\r\n`, { timeout: 3000, waitClose: false });
  t.equal(extra.body.toString(), 'hello', 'extra bytes beyond Content-Length: the declared body only');
  t.notOk(extra.raw.toString('latin1').includes('LEAKED'), 'the surplus bytes were not forwarded');
});
