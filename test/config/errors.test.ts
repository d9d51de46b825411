// Every error names FILE:LINE and the keyword, carries a stable code, and parsing goes on
// after it so one run reports every error of a file.
import t, { type Test } from 'tap';
import type { ConfigError } from '../../lib/config/config-error.js';
import { parseConfigText } from '../../lib/config/load-config.js';

function errorsOf(text: string): ConfigError[] {
  const r = parseConfigText(text, 'e.cfg', { PORT: '80' });
  if (r.config !== undefined) throw new Error('config must be undefined when there are errors');
  return r.errors;
}

/** Exactly one error: check its code, line, keyword and message. */
function one(t: Test, text: string, code: string, line: number, keyword: string, message: RegExp | string): void {
  const errors = errorsOf(text);
  t.equal(errors.length, 1, `one error for:\n${text}\n got: ${errors.map((e) => e.message).join('\n')}`);
  const e = errors[0]!;
  t.equal(e.code, code, e.message);
  t.equal(e.file, 'e.cfg');
  t.equal(e.line, line, e.message);
  t.equal(e.keyword, keyword, e.message);
  t.ok(e.message.startsWith(`parsing [e.cfg:${line}] : `), e.message);
  t.ok(e.message.includes(keyword), `message names the keyword: ${e.message}`);
  if (typeof message === 'string') t.equal(e.message, message);
  else t.match(e.message, message);
}

t.test('unknown keywords are errors, never ignored', async (t) => {
  one(t, 'backend be\n  frobnicate 1\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 2, 'frobnicate',
    "parsing [e.cfg:2] : unknown keyword 'frobnicate' in 'backend' section");
  one(t, 'global\n  daemon\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 2, 'daemon',
    "parsing [e.cfg:2] : unknown keyword 'daemon' in 'global' section");
  one(t, 'defaults\n  option tcp-smart-accept\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 2, 'option tcp-smart-accept',
    "parsing [e.cfg:2] : unknown keyword 'option tcp-smart-accept' in 'defaults' section");
  one(t, 'listen li\n bind :1\n  timeout foo 1s\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 3, 'timeout foo',
    "parsing [e.cfg:3] : unknown keyword 'timeout foo' in 'listen' section");
  one(t, 'frontend fe\n bind :1\n tune.bufsize 1k\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 3, 'tune.bufsize',
    "parsing [e.cfg:3] : unknown keyword 'tune.bufsize' in 'frontend' section");
  one(t, 'maxconn 10\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 1, 'maxconn', "parsing [e.cfg:1] : unknown keyword 'maxconn' out of section");
  one(t, 'peers p\n  peer a 1.2.3.4:1\nbackend be\n', 'LIMPET_CONFIG_UNSUPPORTED', 1, 'peers', /'peers' sections are not supported/);
});

t.test('keywords in a section type that does not accept them', async (t) => {
  one(t, 'frontend fe\n bind :1\n balance roundrobin\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 3, 'balance',
    "parsing [e.cfg:3] : 'balance' is not allowed in 'frontend' section");
  one(t, 'backend be\n bind :1\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 2, 'bind', /'bind' is not allowed in 'backend' section/);
  one(t, 'frontend fe\n bind :1\n server s 1.2.3.4:5\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 3, 'server', /'server' is not allowed in 'frontend'/);
  one(t, 'defaults\n server s 1.2.3.4:5\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 2, 'server', /not allowed in 'defaults'/);
  one(t, 'backend be\n default_backend x\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 2, 'default_backend', /not allowed in 'backend'/);
  one(t, 'backend be\n maxconn 3\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 2, 'maxconn', /not allowed in 'backend'/);
  one(t, 'backend be\n timeout client 3s\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 2, 'timeout client', /'timeout client' is not allowed in 'backend'/);
  one(t, 'frontend fe\n bind :1\n option httpchk\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 3, 'option httpchk', /not allowed in 'frontend'/);
  one(t, 'backend be\n no mode\n', 'LIMPET_CONFIG_SYNTAX', 2, 'mode', /'no mode' is not supported/);
});

t.test('bad values', async (t) => {
  const B = 'LIMPET_CONFIG_BAD_VALUE';
  const M = 'LIMPET_CONFIG_MISSING_ARGUMENT';
  const U = 'LIMPET_CONFIG_UNKNOWN_OPTION';
  one(t, 'global\n nbthread 65\n', B, 2, 'nbthread', /out of range/);
  one(t, 'global\n nbthread 0\n', B, 2, 'nbthread', /out of range/);
  one(t, 'global\n hard-stop-after soon\n', B, 2, 'hard-stop-after', /'soon'/);
  one(t, 'global\n hard-stop-after\n', M, 2, 'hard-stop-after', /missing time value/);
  one(t, 'global\n hard-stop-after 1s 2s\n', U, 2, 'hard-stop-after', /unexpected argument '2s'/);
  one(t, 'defaults\n hard-stop-after 1s\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 2, 'hard-stop-after', /unknown keyword 'hard-stop-after' in 'defaults' section/);
  one(t, 'global\n maxconn lots\n', B, 2, 'maxconn', /'maxconn' : value: 'lots' is not a non-negative integer/);
  one(t, 'global\n maxconn\n', M, 2, 'maxconn', /missing integer value/);
  one(t, 'global\n maxconn 1 2\n', U, 2, 'maxconn', /unexpected argument '2'/);
  one(t, 'global\n tune.bufsize 16q\n', B, 2, 'tune.bufsize', /invalid size value '16q'/);
  one(t, 'global\n tune.bufsize 100\n', B, 2, 'tune.bufsize', /too small/);
  one(t, 'global\n log stdout local9\n', B, 2, 'log', /unknown log facility 'local9'/);
  one(t, 'global\n log stdout local0 loud\n', B, 2, 'log', /unknown log level 'loud'/);
  one(t, 'global\n log stdout local0 info loud\n', B, 2, 'log', /unknown log level 'loud'/);
  one(t, 'global\n log stdout local0 info err extra\n', U, 2, 'log', /unexpected argument 'extra'/);
  one(t, 'global\n log stdout format fancy local0\n', B, 2, 'log', /unknown log format 'fancy'/);
  one(t, 'global\n log stdout len 10 local0\n', B, 2, 'log', /out of range/);
  one(t, 'global\n log stdout\n', M, 2, 'log', /missing log facility/);
  one(t, 'global\n log global\n', B, 2, 'log', /only valid in proxy sections/);
  one(t, 'backend be\n log global local0\n', U, 2, 'log', /unexpected argument/);
  one(t, 'backend be\n mode health\n', B, 2, 'mode', /unknown mode 'health'/);
  one(t, 'backend be\n timeout connect 5x\n', B, 2, 'timeout connect', /'timeout connect' : value: invalid time value '5x'/);
  one(t, 'backend be\n timeout connect\n', M, 2, 'timeout connect', /missing time value/);
  one(t, 'backend be\n retries -1\n', B, 2, 'retries', /not a non-negative integer/);
  one(t, 'backend be\n option redispatch 1 2\n', U, 2, 'option redispatch', /unexpected argument '2'/);
  one(t, 'backend be\n option httpchk GET health\n', B, 2, 'option httpchk', /invalid URI 'health'/);
  one(t, 'backend be\n option httpchk G(T /\n', B, 2, 'option httpchk', /invalid HTTP method/);
  one(t, 'backend be\n option httpchk GET / HTTP/2\n', B, 2, 'option httpchk', /invalid HTTP version/);
  one(t, 'backend be\n option httpchk GET / HTTP/1.1 x\n', U, 2, 'option httpchk', /unexpected argument 'x'/);
  one(t, 'backend be\n no option httpchk GET\n', U, 2, 'option httpchk', /unexpected argument/);
});

t.test('balance errors', async (t) => {
  const B = 'LIMPET_CONFIG_BAD_VALUE';
  const U = 'LIMPET_CONFIG_UNKNOWN_OPTION';
  one(t, 'backend be\n balance fastest\n', B, 2, 'balance', "parsing [e.cfg:2] : 'balance' : unknown balancing algorithm 'fastest'");
  one(t, 'backend be\n balance\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'balance', /missing algorithm/);
  one(t, 'backend be\n balance roundrobin x\n', U, 2, 'balance', /unexpected argument 'x'/);
  one(t, 'backend be\n balance leastconn(2)\n', B, 2, 'balance', /does not take an argument/);
  one(t, 'backend be\n balance random(0)\n', B, 2, 'balance', /out of range/);
  one(t, 'backend be\n balance random(x)\n', B, 2, 'balance', /not a non-negative integer/);
  one(t, 'backend be\n balance rdp-cookie()\n', B, 2, 'balance', /needs a cookie name/);
  one(t, 'backend be\n balance hdr()\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'balance', /needs a header name/);
  one(t, 'backend be\n balance hdr(host) use_domain\n', U, 2, 'balance', /unknown 'hdr' option 'use_domain'/);
  one(t, 'backend be\n balance uri deep\n', U, 2, 'balance', /unknown 'uri' option 'deep'/);
  one(t, 'backend be\n balance uri len\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'balance', /missing value for 'len'/);
  one(t, 'backend be\n balance url_param\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'balance', /URL parameter name/);
  one(t, 'backend be\n balance url_param id check\n', U, 2, 'balance', /unknown 'url_param' option 'check'/);
  one(t, 'backend be\n balance url_param id check_post x\n', B, 2, 'balance', /not a non-negative integer/);
  one(t, 'backend be\n balance hash\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'balance', /sample expression/);
});

t.test('cookie errors', async (t) => {
  const B = 'LIMPET_CONFIG_BAD_VALUE';
  one(t, 'backend be\n mode http\n cookie\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 3, 'cookie', /missing cookie name/);
  one(t, 'backend be\n mode http\n cookie S insert prefix\n', B, 3, 'cookie', /mutually exclusive/);
  one(t, 'backend be\n mode http\n cookie S rewrite indirect\n', B, 3, 'cookie', /'rewrite' and 'indirect' are mutually exclusive/);
  one(t, 'backend be\n mode http\n cookie S preserve\n', B, 3, 'cookie', /'preserve' requires/);
  one(t, 'backend be\n mode http\n cookie S insert maxidle\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 3, 'cookie', /missing value for 'maxidle'/);
  one(t, 'backend be\n mode http\n cookie S insert maxlife 1y\n', B, 3, 'cookie', /'maxlife'/);
  one(t, 'backend be\n mode http\n cookie S insert attr "a;b"\n', B, 3, 'cookie', /must not contain ';'/);
  one(t, 'backend be\n mode http\n cookie S insert dynamic\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 3, 'cookie', /'dynamic' needs a 'dynamic-cookie-key'/);
  one(t, 'backend be\n balance url_param id check_get\n', 'LIMPET_CONFIG_UNKNOWN_OPTION', 2, 'balance', /unknown 'url_param' option 'check_get'/);
  one(t, 'backend be\n balance hash src,nosuch\n', 'LIMPET_CONFIG_UNSUPPORTED', 2, 'balance', /unsupported converter 'nosuch'/);
  one(t, 'backend be\n mode http\n cookie S insert sticky\n', 'LIMPET_CONFIG_UNKNOWN_OPTION', 3, 'cookie', /unknown option 'sticky'/);
});

t.test('server errors name the server', async (t) => {
  const A = 'LIMPET_CONFIG_BAD_ADDRESS';
  one(t, 'backend be\n server websvr1 300.1.1.1:80\n', A, 2, 'server', /^parsing \[e\.cfg:2\] : 'server websvr1' : invalid address '300\.1\.1\.1:80'/);
  one(t, 'backend be\n server websvr1 10.0.0.1\n', A, 2, 'server', /'server websvr1' : invalid address '10\.0\.0\.1': missing port/);
  one(t, 'backend be\n server s 10.0.0.1:0\n', A, 2, 'server', /port 0 out of range/);
  one(t, 'backend be\n server s 10.0.0.1:70000\n', A, 2, 'server', /port 70000 out of range/);
  one(t, 'backend be\n server s 10.0.0.1:http\n', A, 2, 'server', /invalid port 'http'/);
  one(t, 'backend be\n server s :80\n', A, 2, 'server', /missing host/);
  one(t, 'backend be\n server s unix@/run/x.sock\n', A, 2, 'server', /only TCP server addresses/);
  one(t, 'backend be\n server s [::1:80\n', A, 2, 'server', /missing '\]'/);
  one(t, 'backend be\n server s [::1]80\n', A, 2, 'server', /missing port/);
  one(t, 'backend be\n server s [1.2.3.4]:80\n', A, 2, 'server', /not an IPv6 address/);
  one(t, 'backend be\n server s ipv4@::1:80\n', A, 2, 'server', /not an IPv4 address/);
  one(t, 'backend be\n server s udp@1.2.3.4:80\n', A, 2, 'server', /unsupported address family 'udp@'/);
  one(t, 'backend be\n server s bad_host!:80\n', A, 2, 'server', /invalid host/);
  one(t, 'backend be\n server s\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'server', /'server s' : missing address/);
  one(t, 'backend be\n server\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'server', /missing server name/);
  one(t, 'backend be\n server a/b 1.2.3.4:5\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /invalid server name/);
  one(t, 'backend be\n server s 1.2.3.4:5 weight 257\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /'server s' : 'weight': '257' is out of range \(0\.\.256\)/);
  one(t, 'backend be\n server s 1.2.3.4:5 weight\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'server', /'server s' : missing value for 'weight'/);
  one(t, 'backend be\n server s 1.2.3.4:5 rise 0\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /'rise'/);
  one(t, 'backend be\n server s 1.2.3.4:5 inter 0\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /'inter' must be greater than zero/);
  one(t, 'backend be\n server s 1.2.3.4:5 inter soon\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /invalid time value 'soon'/);
  one(t, 'backend be\n server s 1.2.3.4:5 id 0\n', 'LIMPET_CONFIG_BAD_VALUE', 2, 'server', /'id'/);
  one(t, 'backend be\n server s 1.2.3.4:5 check ssl\n', 'LIMPET_CONFIG_UNKNOWN_OPTION', 2, 'server',
    "parsing [e.cfg:2] : 'server s' : unknown keyword 'ssl'");
});

t.test('bind errors', async (t) => {
  const A = 'LIMPET_CONFIG_BAD_ADDRESS';
  one(t, 'frontend fe\n bind :80 ssl crt x.pem\n', 'LIMPET_CONFIG_UNKNOWN_OPTION', 2, 'bind', /^parsing \[e\.cfg:2\] : 'bind :80' : unknown keyword 'ssl'/);
  one(t, 'frontend fe\n bind\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'bind', /missing address/);
  one(t, 'frontend fe\n bind 80\n', A, 2, 'bind', /missing port/);
  one(t, 'frontend fe\n bind :80,\n', A, 2, 'bind', /empty address/);
  one(t, 'frontend fe\n bind unix@\n', A, 2, 'bind', /missing socket path/);
  one(t, 'frontend fe\n bind fd@x\n', A, 2, 'bind', /invalid file descriptor/);
  one(t, 'frontend fe\n bind :90-80\n', A, 2, 'bind', /invalid port range/);
  one(t, 'frontend fe\n bind ipv6@1.2.3.4:80\n', A, 2, 'bind', /not an IPv6 address/);
  one(t, 'frontend fe\n bind sctp@:80\n', A, 2, 'bind', /unsupported address family/);
});

t.test('section header errors', async (t) => {
  one(t, 'backend\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 1, 'backend', /'backend' : missing name/);
  one(t, 'backend a/b\n', 'LIMPET_CONFIG_BAD_VALUE', 1, 'backend', /invalid name 'a\/b'/);
  one(t, 'global extra\n', 'LIMPET_CONFIG_SYNTAX', 1, 'global', /takes no argument/);
  one(t, 'backend be from nowhere\n', 'LIMPET_CONFIG_UNKNOWN_DEFAULTS', 1, 'backend', /unable to find defaults section 'nowhere'/);
  one(t, 'backend be with x\n', 'LIMPET_CONFIG_SYNTAX', 1, 'backend', /expected 'from <defaults name>'/);
  one(t, 'defaults d from x\n', 'LIMPET_CONFIG_UNKNOWN_DEFAULTS', 1, 'defaults', /unable to find defaults section 'x'/);
  // Lines of a proxy whose header is bad are still checked.
  const errors = errorsOf('backend\n frobnicate\n');
  t.same(errors.map((e) => [e.line, e.code]), [[1, 'LIMPET_CONFIG_MISSING_ARGUMENT'], [2, 'LIMPET_CONFIG_UNKNOWN_KEYWORD']]);
});

t.test('lexer errors come out with file:line too', async (t) => {
  one(t, 'backend be\n server s "${NOPE}"\n', 'LIMPET_CONFIG_UNKNOWN_VARIABLE', 2, 'server', /environment variable 'NOPE' is not set/);
  one(t, 'backend be\n server s "1.2.3.4:5\n', 'LIMPET_CONFIG_SYNTAX', 2, 'server', /unterminated double quote/);
});

t.test('validation: default_backend', async (t) => {
  one(t, 'frontend fe\n bind :80\n default_backend nope\n', 'LIMPET_CONFIG_UNKNOWN_BACKEND', 3, 'default_backend',
    "parsing [e.cfg:3] : 'default_backend' : unable to find backend 'nope' (in frontend 'fe')");
  one(t, 'frontend fe\n bind :80\n default_backend other\nfrontend other\n bind :81\n', 'LIMPET_CONFIG_UNKNOWN_BACKEND', 3, 'default_backend',
    /'other' is a frontend, not a backend/);
  // A backend declared later (or in a later file) is fine.
  t.same(parseConfigText('frontend fe\n bind :80\n default_backend be\nbackend be\n', 'e.cfg', {}).errors, []);
  // An inherited default_backend is resolved in each frontend and reported at the defaults line.
  one(t, 'defaults\n default_backend gone\nfrontend fe\n bind :80\n', 'LIMPET_CONFIG_UNKNOWN_BACKEND', 2, 'default_backend', /unable to find backend 'gone'/);
});

t.test('validation: an http frontend cannot use a tcp backend', async (t) => {
  one(t, 'frontend fe\n mode http\n bind :80\n default_backend be\nbackend be\n mode tcp\n', 'LIMPET_CONFIG_MODE_MISMATCH', 4, 'default_backend',
    "parsing [e.cfg:4] : 'default_backend' : frontend 'fe' is in http mode but backend 'be' (e.cfg:5) is in tcp mode");
  t.same(parseConfigText('frontend fe\n mode tcp\n bind :80\n default_backend be\nbackend be\n mode http\n', 'e.cfg', {}).errors, [],
    'tcp to http is an upgrade, which HAProxy allows');
});

t.test('validation: duplicate proxy names of the same capability', async (t) => {
  one(t, 'backend a\nbackend a\n', 'LIMPET_CONFIG_DUPLICATE_PROXY', 2, 'backend',
    "parsing [e.cfg:2] : backend 'a' has the same name as backend 'a' declared at e.cfg:1");
  one(t, 'frontend a\n bind :1\nfrontend a\n bind :2\n', 'LIMPET_CONFIG_DUPLICATE_PROXY', 3, 'frontend', /frontend 'a' has the same name as frontend 'a'/);
  one(t, 'backend a\nlisten a\n bind :1\n', 'LIMPET_CONFIG_DUPLICATE_PROXY', 2, 'listen', /listen 'a' has the same name as backend 'a' declared at e\.cfg:1/);
  one(t, 'listen a\n bind :1\nfrontend a\n bind :2\n', 'LIMPET_CONFIG_DUPLICATE_PROXY', 3, 'frontend', /as listen 'a'/);
  t.same(parseConfigText('frontend a\n bind :1\n default_backend a\nbackend a\n', 'e.cfg', {}).errors, [], 'a frontend and a backend may share a name');
});

t.test('validation: servers', async (t) => {
  one(t, 'backend be\n server s 1.1.1.1:1\n server t 1.1.1.1:2\n server s 1.1.1.1:3\n', 'LIMPET_CONFIG_DUPLICATE_SERVER', 4, 'server',
    "parsing [e.cfg:4] : 'server s' : backend 'be' already has a server named 's' declared at e.cfg:2");
  one(t, 'backend be\n server s 1.1.1.1:1 id 3\n server t 1.1.1.1:2 id 3\n', 'LIMPET_CONFIG_DUPLICATE_SERVER_ID', 3, 'server',
    "parsing [e.cfg:3] : 'server t' : id 3 is already used by server 's' declared at e.cfg:2");
  t.same(parseConfigText('backend a\n server s 1.1.1.1:1 id 1\nbackend b\n server s 1.1.1.1:1 id 1\n', 'e.cfg', {}).errors, [],
    'names and ids are per backend');
});

t.test('validation: cookie needs http mode', async (t) => {
  one(t, 'backend be\n mode tcp\n cookie SRV insert\n', 'LIMPET_CONFIG_COOKIE_NEEDS_HTTP', 3, 'cookie',
    "parsing [e.cfg:3] : 'cookie' : requires 'mode http' but backend 'be' is in tcp mode");
  one(t, 'listen li\n bind :1\n cookie SRV insert\n', 'LIMPET_CONFIG_COOKIE_NEEDS_HTTP', 3, 'cookie', /listen 'li' is in tcp mode/);
  one(t, 'defaults\n cookie SRV\nbackend be\n', 'LIMPET_CONFIG_COOKIE_NEEDS_HTTP', 2, 'cookie', /backend 'be'/);
});

t.test('validation: a frontend or listen needs a bind', async (t) => {
  one(t, 'frontend fe\n mode http\n', 'LIMPET_CONFIG_NO_BIND', 1, 'bind', /frontend 'fe' has no 'bind' directive/);
  one(t, 'listen li\n server s 1.1.1.1:1\n', 'LIMPET_CONFIG_NO_BIND', 1, 'bind', /listen 'li' has no 'bind'/);
  // A rejected bind line is reported once, not again as a missing bind.
  one(t, 'frontend fe\n bind :0\n', 'LIMPET_CONFIG_BAD_ADDRESS', 2, 'bind', /port 0 out of range/);
});

t.test('every error of a file is reported, in order', async (t) => {
  const errors = errorsOf(`global
  nbthread 65
  daemon
frontend fe
  mode http
  bind :80 ssl
  default_backend be
  foo
backend be
  mode tcp
  cookie X insert
  server a 1.1.1.1:1
  server a 1.1.1.1:2
`);
  t.same(errors.map((e) => `${e.line} ${e.code}`), [
    '2 LIMPET_CONFIG_BAD_VALUE',
    '3 LIMPET_CONFIG_UNKNOWN_KEYWORD',
    '6 LIMPET_CONFIG_UNKNOWN_OPTION',
    '8 LIMPET_CONFIG_UNKNOWN_KEYWORD',
    '7 LIMPET_CONFIG_MODE_MISMATCH',
    '11 LIMPET_CONFIG_COOKIE_NEEDS_HTTP',
    '13 LIMPET_CONFIG_DUPLICATE_SERVER',
  ]);
});

t.test('validateConfig can run on a model built in code', async (t) => {
  const { validateConfig } = await import('../../lib/config/validate-config.js');
  const { newProxy } = await import('../../lib/config/proxy-keywords.js');
  const fe = newProxy('frontend', 'fe', { file: 'api', line: 1 });
  const errors = validateConfig({ global: { nbthread: 1, bufsize: 16384, logs: [] }, proxies: [fe] });
  t.same(errors.map((e) => e.code), ['LIMPET_CONFIG_NO_BIND']);
});

t.test('error codes are unique and namespaced', async (t) => {
  const { ConfigErrorCode } = await import('../../lib/config/config-error.js');
  const codes = Object.values(ConfigErrorCode);
  t.equal(new Set(codes).size, codes.length);
  for (const code of codes) t.match(code, /^LIMPET_CONFIG_[A-Z_]+$/);
});
