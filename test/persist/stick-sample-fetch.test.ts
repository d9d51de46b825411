// Stick rule expressions through the ACL engine: fetches and converters read from real message
// heads, with the rules engine's context absent (the stick-only context) and for `mode tcp`.
import t from 'tap';
import { ConfigError } from '../../lib/config/config-error.js';
import { MessageHead } from '../../lib/http/message-head.js';
import { compileStickExpr, stickSample, stickSampleContext } from '../../lib/persist/stick-expr.js';

const where = { file: 's.cfg', line: 7 };
const head = (text: string) => new MessageHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n\r\n', 'latin1'));
const request = head('GET /a/b.html?x=1&id=42&y=2 HTTP/1.1\nHost: h\nCookie: A=1; JSESSIONID=abc; B=2\nX-Id: 1, 2\nX-Id: 3, 7\nX-User: Alice');
const response = head('HTTP/1.1 200 OK\nSet-Cookie: OTHER=z\nSet-Cookie: JSESSIONID=srv-1; Path=/; HttpOnly\nX-Server: s9');
const compile = (text: string) => compileStickExpr(text, where, 'stick on');
const get = (text: string, src = '10.0.0.7') =>
  stickSample(compile(text), stickSampleContext({ src, srcPort: 40000, dst: '127.0.0.1', dstPort: 8080, request }, 'app', response));

t.test('fetches read their part of the message', async (t) => {
  t.equal(get('src'), '10.0.0.7');
  t.equal(get('req.cook(JSESSIONID)'), 'abc');
  t.equal(get('cookie(B)'), '2', 'cookie() is req.cook()');
  t.equal(get('req.cook(none)'), undefined);
  t.equal(get('res.cook(JSESSIONID)'), 'srv-1');
  t.equal(get('set-cookie(OTHER)'), 'z', 'set-cookie() is res.cook()');
  t.equal(get('req.hdr(x-id)'), '7', 'the last occurrence, as HAProxy');
  t.equal(get('req.hdr(x-id,1)'), '1', 'an occurrence argument');
  t.equal(get('hdr(Host)'), 'h');
  t.equal(get('res.hdr(X-Server)'), 's9');
  t.equal(get('url_param(id)'), '42');
  t.equal(get('urlp(y)'), '2');
  t.equal(get('url_param(z)'), undefined);
  t.equal(get('path'), '/a/b.html');
  t.equal(get('be_name'), 'app');
  t.equal(get('src_port'), '40000', 'an integer sample as key text');
  t.equal(get('dst_port'), '8080');
  const absolute = head('GET http://h:80/p?q HTTP/1.1\nHost: h');
  t.equal(stickSample(compile('path'), stickSampleContext({ src: '', request: absolute }, 'app')), '/p', 'absolute form');
});

t.test('converters apply in order', async (t) => {
  t.equal(get('req.hdr(x-user),lower'), 'alice');
  t.equal(get('req.hdr(x-user),lower,upper'), 'ALICE');
  t.equal(get('src,ipmask(24)'), '10.0.0.0');
  t.equal(get('src,ipmask(255.255.0.0)', '10.9.8.7'), '10.9.0.0');
  t.equal(get('src,ipmask(24)', '::ffff:10.9.8.7'), '10.9.8.0', 'an IPv4-mapped address masks as IPv4');
  t.equal(get('src,ipmask(24,64)', '2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::');
  t.equal(get('src,ipmask(24)', '2001:db8::1'), undefined, 'IPv6 without a mask6: no sample');
  t.equal(get('req.cook(JSESSIONID),length'), '3');
  t.equal(get('url_param(none),lower'), undefined, 'an absent sample stays absent');
});

t.test('mode tcp: connection fetches without any request', async (t) => {
  const ctx = stickSampleContext({ src: '192.0.2.9', srcPort: 5555, dst: '127.0.0.1', dstPort: 9000 }, 'tcpapp');
  t.equal(stickSample(compile('src'), ctx), '192.0.2.9');
  t.equal(stickSample(compile('src,ipmask(16)'), ctx), '192.0.0.0');
  t.equal(stickSample(compile('dst'), ctx), '127.0.0.1');
  t.equal(stickSample(compile('dst_port'), ctx), '9000');
  t.equal(stickSample(compile('src_port'), ctx), '5555');
});

t.test('compiling names the phase and what needs the rules engine', async (t) => {
  t.match(compile('src'), { phase: 'connection', needsRules: false });
  t.match(compile('dst_port'), { phase: 'connection', needsRules: true }, 'HTTP sessions pass the ports only through the rules engine');
  t.match(compile('req.hdr(x),lower'), { phase: 'request', needsRules: false });
  t.match(compile('res.hdr(x)'), { phase: 'response', needsRules: false });
  t.match(compile('fe_name'), { phase: 'request', needsRules: true });
  t.match(compile('var(txn.user)'), { needsRules: true });
});

t.test('mistakes are ConfigErrors naming the file, line and keyword', async (t) => {
  for (const [text, message] of [
    ['src(1)', /at most 0 argument/],
    ['req.body', /unknown fetch method 'req.body'/],
    ['src,frobnicate', /unknown converter 'frobnicate'/],
    ['src,ipmask(33)', /invalid IPv4 mask '33'/],
    ['src,ipmask(255.0.255.0)', /invalid IPv4 mask/],
    ['src,ipmask(24,129)', /invalid IPv6 mask/],
    ['src,ipmask', /converter 'ipmask' expects 1 to 2 argument/],
    ['req.hdr', /expects at least 1 argument/],
  ] as const) {
    const err = t.throws(() => compile(text)) as unknown;
    t.ok(err instanceof ConfigError, text);
    t.match((err as ConfigError).message, message, text);
    t.match((err as ConfigError).message, /s\.cfg:7/, text);
    t.equal((err as ConfigError).keyword, 'stick on', text);
  }
});

t.test('url_dec decodes escapes, and + in a query string', async (t) => {
  const ctx = stickSampleContext({ src: '', request: head('GET /p HTTP/1.1\nCookie: SID=a%20b%2Bc+d; Q=x%3Fy+z?u+v; BAD=%zz') }, 'app');
  t.equal(stickSample(compile('req.cook(SID),url_dec'), ctx), 'a b+c+d', '+ stays outside a query string');
  t.equal(stickSample(compile('req.cook(SID),url_dec(1)'), ctx), 'a b+c d', 'in_form: + is a space');
  t.equal(stickSample(compile('req.cook(Q),url_dec'), ctx), 'x?y+z?u v', 'only a literal ? starts the query string');
  t.equal(stickSample(compile('req.cook(BAD),url_dec'), ctx), undefined, 'a malformed escape gives no sample');
});
