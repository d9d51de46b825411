// Unit tests for the pure parts of the HTTP engine: the head scan, the RFC 9112 rules added on
// top of llhttp, hop-by-hop selection, raw-byte head edits, and chunked decoding for HTTP/1.0.
import t from 'tap';
import { DEFAULT_MAXHDR, hopByHopLines, requestHeadProblem, responseHeadProblem } from '../../lib/http/head-rules.js';
import { HeadEdit, MessageHead } from '../../lib/http/message-head.js';
import { findHeadEnd, MessageParser } from '../../lib/http/parser.js';

const req = new MessageParser('request');
const res = new MessageParser('response');
t.teardown(() => (req.destroy(), res.destroy()));

const requestProblem = (text: string) => {
  const raw = Buffer.from(text, 'latin1');
  return requestHeadProblem(new MessageHead(raw), req.parseHead(raw), DEFAULT_MAXHDR);
};

t.test('findHeadEnd', async (t) => {
  const head = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY');
  t.equal(findHeadEnd(head), head.length - 4);
  for (let k = 0; k < head.length - 4; k++) t.equal(findHeadEnd(head.subarray(0, k)), -1, `incomplete at ${k}`);
  t.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\nX')), 24, 'a bare-LF blank line ends a head too (for llhttp to refuse)');
});

t.test('any token method is accepted, as HAProxy does', async (t) => {
  for (const m of ['FOO', 'get', 'X-CUSTOM.1']) {
    const parsed = req.parseHead(Buffer.from(`${m} /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n`));
    t.equal(parsed.method, m);
  }
  t.throws(() => req.parseHead(Buffer.from('G@T /a HTTP/1.1\r\nHost: a\r\n\r\n')), /HPE_INVALID_METHOD/);
  t.throws(() => req.parseHead(Buffer.from('FOO /a HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n')), /HPE_INVALID_HEADER_TOKEN/, 'the rest is still validated');
});

t.test('requestHeadProblem', async (t) => {
  t.equal(requestProblem('GET /a HTTP/1.1\r\nHost: a\r\n\r\n'), undefined);
  t.equal(requestProblem('GET /a HTTP/1.0\r\n\r\n'), undefined, 'HTTP/1.0 needs no Host');
  t.equal(requestProblem('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'), undefined);
  t.equal(requestProblem('GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n'), undefined, 'absolute form');
  t.equal(requestProblem('GET http://u@A:8/b HTTP/1.1\r\nHost: a:8\r\n\r\n'), undefined, 'userinfo aside, case-insensitive');
  t.match(requestProblem('GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n'), /authority/);
  t.equal(requestProblem('CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'), undefined);
  t.match(requestProblem('CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n'), /authority/);
  t.match(requestProblem('GET /a HTTP/1.1\r\n\r\n'), /without Host/);
  t.match(requestProblem('GET /a HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n'), /several Host/);
  t.match(requestProblem('GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n'), /'#'/);
  t.match(requestProblem('GET  /a HTTP/1.1\r\nHost: a\r\n\r\n'), /request line/);
  t.match(requestProblem('GET / HTTP/2.0\r\nHost: a\r\n\r\n'), /version/);
  t.match(requestProblem('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'), /HTTP\/1\.0/);
  const many = `GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(DEFAULT_MAXHDR)}\r\n`;
  t.match(requestProblem(many), /maxhdr/);
});

t.test('responseHeadProblem', async (t) => {
  const check = (text: string) => {
    const raw = Buffer.from(text, 'latin1');
    return responseHeadProblem(new MessageHead(raw), res.parseHead(raw), DEFAULT_MAXHDR);
  };
  t.equal(check('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'), undefined);
  t.match(check('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n'), /twice/);
  t.match(check('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), /HTTP\/1\.0/);
  t.match(check('HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'), /version/);
});

t.test('hopByHopLines', async (t) => {
  const head = new MessageHead(Buffer.from(
    'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop, Content-Length, upgrade\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n' +
      'Proxy-Connection: x\r\nUpgrade: websocket\r\nX-End: 2\r\nContent-Length: 0\r\n\r\n',
  ));
  const names = (keep?: string) => [...hopByHopLines(head, keep)].map((h) => h.name);
  t.same(names(), ['connection', 'x-hop', 'keep-alive', 'proxy-connection', 'upgrade'], 'framing fields are never dropped by a Connection token');
  t.same(names('upgrade'), ['connection', 'x-hop', 'keep-alive', 'proxy-connection'], 'Upgrade kept on an upgrade');
});

t.test('HeadEdit keeps untouched lines byte for byte', async (t) => {
  const raw = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-Odd:   caf\xe9\t \r\nConnection: close\r\n\r\n', 'latin1');
  const head = new MessageHead(raw);
  const edit = new HeadEdit(head);
  t.equal(edit.toBuffer(), raw, 'no edit: the very same buffer');
  edit.drop(head.headers[2]!);
  edit.append('X-Forwarded-For: 1.2.3.4');
  t.equal(edit.toBuffer().toString('latin1'), 'GET / HTTP/1.1\r\nHost: a\r\nX-Odd:   caf\xe9\t \r\nX-Forwarded-For: 1.2.3.4\r\n\r\n');
});

t.test('feedChunked decodes for an HTTP/1.0 peer and frames otherwise', async (t) => {
  const body = Buffer.from('4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT');
  for (const split of [0, 3, 9, 15, 20, body.length - 6]) {
    res.parseHead(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    const decoded: Buffer[] = [];
    const a = res.feedChunked(body.subarray(0, split), (p) => decoded.push(p));
    t.notOk(a.done);
    const b = res.feedChunked(body.subarray(split), (p) => decoded.push(p));
    t.ok(b.done, `done (split at ${split})`);
    t.equal(a.consumed + b.consumed, body.length - 4, 'stops before the next message');
    t.equal(Buffer.concat(decoded).toString(), 'wikipedia');
  }
});
