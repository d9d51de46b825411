// The sample fetches stick rules use, read from real message heads.
import t from 'tap';
import { MessageHead } from '../../lib/http/message-head.js';
import { fetchSample, parseSampleFetch } from '../../lib/persist/sample-fetch.js';

const head = (text: string) => new MessageHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n', 'latin1'));
const request = head('GET /a/b.html?x=1&id=42;y=2 HTTP/1.1\nHost: h\nCookie: A=1; JSESSIONID=abc; B=2\nX-Id: 1, 2\nX-Id: 3, 7');
const response = head('HTTP/1.1 200 OK\nSet-Cookie: OTHER=z\nSet-Cookie: JSESSIONID=srv-1; Path=/; HttpOnly\nX-Server: s9');
const get = (expr: string) => fetchSample(parseSampleFetch(expr), { src: '10.0.0.7', request, response });

t.test('each fetch reads its part of the message', async (t) => {
  t.equal(get('src'), '10.0.0.7');
  t.equal(get('req.cook(JSESSIONID)'), 'abc');
  t.equal(get('cookie(B)'), '2', 'cookie() is req.cook()');
  t.equal(get('req.cook(none)'), undefined);
  t.equal(get('res.cook(JSESSIONID)'), 'srv-1');
  t.equal(get('set-cookie(OTHER)'), 'z');
  t.equal(get('req.hdr(x-id)'), '7', 'the last occurrence, as HAProxy');
  t.equal(get('hdr(Host)'), 'h');
  t.equal(get('res.hdr(X-Server)'), 's9');
  t.equal(get('url_param(id)'), '42');
  t.equal(get('urlp(y)'), '2');
  t.equal(get('url_param(z)'), undefined);
  t.equal(get('path'), '/a/b.html');
  t.equal(fetchSample(parseSampleFetch('path'), { src: '', request: head('GET http://h:80/p?q HTTP/1.1\nHost: h') }), '/p', 'absolute form');
  t.equal(fetchSample(parseSampleFetch('req.cook(A)'), { src: '' }), undefined, 'no request in TCP mode');
});

t.test('parsing names the phase and rejects what it cannot do', async (t) => {
  t.match(parseSampleFetch('res.hdr(x)'), { name: 'res.hdr', arg: 'x', phase: 'response' });
  t.match(parseSampleFetch('src'), { name: 'src', phase: 'connection' });
  t.throws(() => parseSampleFetch('src(1)'), /takes no argument/);
  t.throws(() => parseSampleFetch('req.hdr()'), /expects a name argument/);
  t.throws(() => parseSampleFetch('req.hdr(host,1)'), /only the name argument/);
  t.throws(() => parseSampleFetch('src,ipmask(24)'), /converters/);
  t.throws(() => parseSampleFetch('payload(0,4)'), /unknown fetch method/);
});
