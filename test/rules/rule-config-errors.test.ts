// Configuration errors of the L7 rules: an unsupported fetch, converter or action, a bad
// pattern, a missing name... each is one error naming the file, the line and the keyword.
import t, { type Test } from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';

const HEAD = 'defaults\n  mode http\nbackend be\n  server s1 127.0.0.1:8080\nfrontend fe\n  bind 127.0.0.1:8000\n  default_backend be\n';
const FIRST = HEAD.split('\n').length; // the line number of the first appended line

function one(t: Test, extra: string, line: number, keyword: string, message: RegExp, code?: string): void {
  const r = parseConfigText(HEAD + extra, 'e.cfg', {});
  t.equal(r.errors.length, 1, `one error for:\n${extra}\ngot: ${r.errors.map((e) => e.message).join('\n')}`);
  const e = r.errors[0];
  if (!e) return;
  t.equal(e.file, 'e.cfg');
  t.equal(e.line, line, e.message);
  t.equal(e.keyword, keyword, e.message);
  t.ok(e.message.startsWith(`parsing [e.cfg:${line}] : `), e.message);
  t.match(e.message, message);
  if (code) t.equal(e.code, code, e.message);
}

t.test('a well-formed rules configuration parses', async (t) => {
  const r = parseConfigText(`${HEAD}  acl a path_beg /x\n  http-request deny if a\n  use_backend be if { hdr(host) -i x }\n`, 'ok.cfg', {});
  t.same(r.errors.map((e) => e.message), []);
});

t.test('unsupported fetches, converters and actions', async (t) => {
  one(t, '  acl x frob_fetch 1\n', FIRST, 'acl', /unknown fetch method 'frob_fetch'/, 'LIMPET_CONFIG_UNSUPPORTED');
  one(t, '  http-request set-header X %[path,frobnicate]\n', FIRST, 'http-request', /unknown converter 'frobnicate'/, 'LIMPET_CONFIG_UNSUPPORTED');
  one(t, '  http-request tarpit\n', FIRST, 'http-request', /unsupported action 'tarpit'/, 'LIMPET_CONFIG_UNSUPPORTED');
  one(t, '  http-response redirect location /\n', FIRST, 'http-response', /unsupported action 'redirect'/, 'LIMPET_CONFIG_UNSUPPORTED');
  one(t, '  unique-id-format %[nope]\n', FIRST, 'unique-id-format', /unknown fetch method 'nope'/);
  one(t, '  http-request set-header X %Zq\n', FIRST, 'http-request', /unknown log-format variable '%Zq'/);
  one(t, '  acl x path -m frob /\n', FIRST, 'acl', /unknown match method 'frob'/);
  one(t, '  acl x path -z /\n', FIRST, 'acl', /unsupported flag '-z'/);
});

t.test('bad patterns and arguments', async (t) => {
  one(t, '  acl x hdr_cnt(x) gt abc\n', FIRST, 'acl', /'abc' is not an integer/);
  one(t, '  acl x path_reg ([a-z\n', FIRST, 'acl', /invalid regex/);
  one(t, '  acl x src 10.0.0.0/99\n', FIRST, 'acl', /invalid mask/);
  one(t, '  acl x path\n', FIRST, 'acl', /no pattern/);
  one(t, '  acl x path -f /nonexistent/patterns.lst\n', FIRST, 'acl', /cannot read '\/nonexistent\/patterns.lst'/);
  one(t, '  acl x hdr\n', FIRST, 'acl', /expects at least 1 argument/);
  one(t, '  http-request set-header X %[req.hdr(a),field(x,.)]\n', FIRST, 'http-request', /field index 'x' is not an integer/);
  one(t, '  http-request set-header X %[path,map(/nonexistent.map)]\n', FIRST, 'http-request', /cannot read '\/nonexistent.map'/);
  one(t, '  http-request deny deny_status 418\n', FIRST, 'http-request', /deny_status' expects one of/);
  one(t, '  http-request redirect location / code 305\n', FIRST, 'http-request', /'code' expects one of 301, 302, 303, 307, 308/);
  one(t, '  http-request redirect elsewhere /\n', FIRST, 'http-request', /expects 'location', 'prefix' or 'scheme'/);
  one(t, '  http-request return status 200 string hi\n', FIRST, 'http-request', /content-type' is required/);
  one(t, '  errorfile 503 /nonexistent/503.http\n', FIRST, 'errorfile', /cannot read error file/);
  one(t, '  errorfile 418 /dev/null\n', FIRST, 'errorfile', /status code 418 not handled/);
  one(t, '  option forwardfor sideways\n', FIRST, 'option forwardfor', /unknown option 'sideways'/);
  one(t, '  option forwardfor except nonsense\n', FIRST, 'option forwardfor', /not an IP address/);
  one(t, '  monitor-uri health\n', FIRST, 'monitor-uri', /must start with '\/'/);
});

t.test('conditions', async (t) => {
  one(t, '  http-request deny if nosuch\n', FIRST, 'http-request', /no such ACL : 'nosuch'/);
  one(t, '  http-request deny if later\n  acl later path /\n', FIRST, 'http-request', /no such ACL : 'later'/);
  one(t, '  http-request deny if { path /\n', FIRST, 'http-request', /missing '}'/);
  one(t, '  http-request deny if\n', FIRST, 'http-request', /missing condition/);
  one(t, '  http-request deny if TRUE ||\n', FIRST, 'http-request', /ends with an operator/);
  one(t, '  http-request deny if { status 200 }\n', FIRST, 'http-request', /response fetch/);
  one(t, '  acl r res.hdr(x) y\n  http-request deny if r\n', FIRST + 1, 'http-request', /response fetch/);
});

t.test('names resolved once every section is read', async (t) => {
  one(t, '  use_backend nowhere if TRUE\n', FIRST, 'use_backend', /unable to find backend 'nowhere'/, 'LIMPET_CONFIG_UNKNOWN_BACKEND');
  one(t, '  acl n nbsrv(ghost) gt 0\n', FIRST, 'backend', /unable to find backend 'ghost'/, 'LIMPET_CONFIG_UNKNOWN_BACKEND');
  one(t, '  http-request auth if !{ http_auth(nobody) }\n', FIRST, 'userlist', /unable to find userlist 'nobody'/);
  const r = parseConfigText(`${HEAD}backend be2\n  server s1 127.0.0.1:1\n  use-server s9 if TRUE\n`, 'e.cfg', {});
  t.match(r.errors.map((e) => e.message), [/e\.cfg:10\] : 'use-server' : no server named 's9'/]);
  const noCond = parseConfigText(`${HEAD}backend be2\n  server s1 127.0.0.1:1\n  use-server s1\n`, 'e.cfg', {});
  t.match(noCond.errors.map((e) => e.message), [/e\.cfg:10\] : 'use-server' : requires a condition/]);
});

t.test('userlist sections', async (t) => {
  const ul = (body: string) => parseConfigText(`userlist L\n${body}${HEAD}  http-request auth if !{ http_auth(L) }\n`, 'u.cfg', {});
  t.same(ul('  group g\n  user a insecure-password x groups g\n  user b password $5$salt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\n').errors.map((e) => e.message), []);
  t.match(ul('  user a password $1$abc$def\n').errors.map((e) => e.message), [/u\.cfg:2\] : 'user' : unsupported password hash for user 'a'/]);
  t.match(ul('  user a password $2b$10$abcdefghijklmnopqrstuv\n').errors.map((e) => e.code), ['LIMPET_CONFIG_UNSUPPORTED']);
  t.match(ul('  user a\n').errors.map((e) => e.message), [/u\.cfg:2\] : 'user' : user 'a' needs 'password' or 'insecure-password'/]);
  t.match(ul('  user a insecure-password x groups nope\n').errors.map((e) => e.message), [/u\.cfg:2\] : 'user' : group 'nope' of user 'a' is not declared/]);
  t.match(ul('  frob a\n').errors.map((e) => e.message), [/u\.cfg:2\] : 'frob' : unknown keyword 'frob' in 'userlist' section/]);
});

t.test('rules need mode http', async (t) => {
  const r = parseConfigText('frontend fe\n  mode tcp\n  bind 127.0.0.1:1\n  http-request deny\n', 'm.cfg', {});
  t.match(r.errors.map((e) => e.message), [/m\.cfg:4\] : frontend 'fe' has HTTP rules but is in tcp mode/]);
  const sw = parseConfigText('backend b\n  mode tcp\n  server s 127.0.0.1:1\nfrontend fe\n  mode tcp\n  bind 127.0.0.1:1\n  use_backend b if { src 10.0.0.0/8 }\n  default_backend b\n', 's.cfg', {});
  t.match(sw.errors.map((e) => e.message), [/s\.cfg:7\] : 'use_backend' : limpet switches backends only in mode http/]);
});
