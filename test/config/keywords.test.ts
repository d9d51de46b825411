// The happy path of every supported keyword.
import t from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';
import type { Config, ProxyConfig } from '../../lib/config/types.js';

function parse(text: string): Config {
  const r = parseConfigText(text, 'k.cfg', {});
  if (!r.config) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.config;
}

function proxy(config: Config, name: string): ProxyConfig {
  const p = config.proxies.find((x) => x.name === name);
  if (!p) throw new Error(`no proxy ${name}`);
  return p;
}

/** A backend section body, wrapped so it is a valid configuration on its own. */
function backend(body: string): ProxyConfig {
  return proxy(parse(`backend be\n${body}\n`), 'be');
}

t.test('an empty configuration has the defaults', async (t) => {
  const c = parse('');
  t.same(c.global, { nbthread: 1, bufsize: 16384, logs: [] });
  t.same(c.proxies, []);
});

t.test('global keywords', async (t) => {
  const c = parse(`global
    maxconn 4096
    nbthread 2
    hard-stop-after 30s
    tune.bufsize 32k
    log stdout format raw local0 info
    log 127.0.0.1:514 len 1024 local1 notice err
    log /dev/log daemon
`);
  t.equal(c.global.maxconn, 4096);
  t.equal(parse('global\n    nbthread 64\n    hard-stop-after 250\n').global.hardStopAfter, 250, 'a bare number is milliseconds');
  t.equal(c.global.nbthread, 2);
  t.equal(c.global.hardStopAfter, 30_000);
  t.equal(c.global.bufsize, 32768);
  t.same(c.global.logs, [
    { target: 'stdout', format: 'raw', facility: 'local0', level: 'info', where: { file: 'k.cfg', line: 6 } },
    { target: '127.0.0.1:514', len: 1024, facility: 'local1', level: 'notice', minlevel: 'err', where: { file: 'k.cfg', line: 7 } },
    { target: '/dev/log', facility: 'daemon', where: { file: 'k.cfg', line: 8 } },
  ]);
});

t.test('a proxy has HAProxy defaults', async (t) => {
  const p = backend('');
  t.equal(p.kind, 'backend');
  t.equal(p.mode, 'tcp');
  t.same(p.balance, { algorithm: 'roundrobin', args: [], where: { file: 'k.cfg', line: 1 } });
  t.equal(p.retries, 3);
  t.same(p.timeouts, {});
  t.same(p.options, { redispatch: false, httplog: false, tcplog: false, forwardfor: false });
  t.equal(p.maxconn, undefined);
  t.equal(p.cookie, undefined);
  t.same(p.where, { file: 'k.cfg', line: 1 });
});

t.test('bind addresses', async (t) => {
  const c = parse(`frontend fe
    bind :80
    bind *:81
    bind 127.0.0.1:82,[::1]:83
    bind :::84
    bind ipv4@:85
    bind ipv6@:86
    bind ipv4@10.0.0.1:87
    bind unix@/run/limpet.sock
    bind /run/other.sock
    bind fd@3
    bind localhost:88
    bind :90-92
`);
  t.same(proxy(c, 'fe').binds.map((b) => b.address), [
    { kind: 'tcp', host: '', port: 80 },
    { kind: 'tcp', host: '', port: 81 },
    { kind: 'tcp', host: '127.0.0.1', port: 82 },
    { kind: 'tcp', host: '::1', port: 83 },
    { kind: 'tcp', host: '::', port: 84 },
    { kind: 'tcp', host: '0.0.0.0', port: 85 },
    { kind: 'tcp', host: '::', port: 86 },
    { kind: 'tcp', host: '10.0.0.1', port: 87 },
    { kind: 'unix', path: '/run/limpet.sock' },
    { kind: 'unix', path: '/run/other.sock' },
    { kind: 'fd', fd: 3 },
    { kind: 'tcp', host: 'localhost', port: 88 },
    { kind: 'tcp', host: '', port: 90 },
    { kind: 'tcp', host: '', port: 91 },
    { kind: 'tcp', host: '', port: 92 },
  ]);
  t.same(proxy(c, 'fe').binds[2]!.where, { file: 'k.cfg', line: 4 });
});

t.test('mode', async (t) => {
  t.equal(backend('mode http').mode, 'http');
  t.equal(backend('mode http\nmode tcp').mode, 'tcp', 'the last one wins');
});

t.test('balance algorithms and their arguments', async (t) => {
  const cases: [string, string, string[]][] = [
    ['roundrobin', 'roundrobin', []],
    ['static-rr', 'static-rr', []],
    ['leastconn', 'leastconn', []],
    ['first', 'first', []],
    ['source', 'source', []],
    ['random', 'random', []],
    ['random(2)', 'random', ['2']],
    ['uri', 'uri', []],
    ['uri whole len 10 depth 2 path-only', 'uri', ['whole', 'len', '10', 'depth', '2', 'path-only']],
    ['url_param userid', 'url_param', ['userid']],
    ['hdr(host)', 'hdr', ['host']],
    ['hdr(Host) use_domain_only', 'hdr', ['Host', 'use_domain_only']],
    ['rdp-cookie', 'rdp-cookie', []],
    ['rdp-cookie(mstshash)', 'rdp-cookie', ['mstshash']],
    ['hash req.cookie(ID)', 'hash', ['req.cookie(ID)']],
    ['hash req.hdr(X-Tenant)', 'hash', ['req.hdr(X-Tenant)']],
  ];
  for (const [line, algorithm, args] of cases) {
    const b = backend(`balance ${line}`).balance;
    t.same({ algorithm: b.algorithm, args: b.args }, { algorithm, args }, line);
    t.same(b.where, { file: 'k.cfg', line: 2 });
  }
});

t.test('cookie', async (t) => {
  t.same(backend('mode http\ncookie SRV').cookie, {
    name: 'SRV', mode: 'rewrite', indirect: false, nocache: false, postonly: false, preserve: false,
    httponly: false, secure: false, domains: [], attrs: [], where: { file: 'k.cfg', line: 3 },
  }, 'rewrite is the mode when none is given');
  t.same(backend('mode http\ncookie SRV insert indirect nocache postonly preserve httponly secure domain .a.com domain .b.com maxidle 30 maxlife 2h attr SameSite=Lax attr Partitioned').cookie, {
    name: 'SRV', mode: 'insert', indirect: true, nocache: true, postonly: true, preserve: true,
    httponly: true, secure: true, domains: ['.a.com', '.b.com'], maxidle: 30_000, maxlife: 7_200_000,
    attrs: ['SameSite=Lax', 'Partitioned'], where: { file: 'k.cfg', line: 3 },
  }, 'maxidle without a unit is in seconds');
  t.equal(backend('mode http\ncookie JSESSIONID prefix').cookie?.mode, 'prefix');
  t.equal(backend('mode http\ncookie S rewrite').cookie?.mode, 'rewrite');
  t.equal(backend('mode http\ncookie S insert maxidle 500ms').cookie?.maxidle, 500);
});

t.test('server', async (t) => {
  const p = backend(`server s1 127.0.0.1:8080
server s2 10.0.0.2:80 weight 0 maxconn 50 cookie a check inter 5s rise 3 fall 4 backup disabled id 7
server s3 [::1]:81 weight 256
server s4 ::1:82
server s5 app.internal:83 cookie a
server s6 ipv6@[2001:db8::1]:84
server s7 ipv4@192.168.0.1:85`);
  t.same(p.servers[0], {
    name: 's1', host: '127.0.0.1', port: 8080, weight: 1, maxconn: 0, check: false, inter: 2000,
    rise: 2, fall: 3, backup: false, disabled: false, where: { file: 'k.cfg', line: 2 },
  });
  t.same(p.servers[1], {
    name: 's2', host: '10.0.0.2', port: 80, weight: 0, maxconn: 50, cookie: 'a', check: true, inter: 5000,
    rise: 3, fall: 4, backup: true, disabled: true, id: 7, where: { file: 'k.cfg', line: 3 },
  });
  t.same(p.servers.slice(2).map((s) => [s.host, s.port]), [
    ['::1', 81], ['::1', 82], ['app.internal', 83], ['2001:db8::1', 84], ['192.168.0.1', 85],
  ]);
  t.equal(p.servers[2]!.weight, 256);
  t.equal(p.servers[4]!.cookie, 'a', 'servers may share a cookie value');
});

t.test('default_backend', async (t) => {
  const c = parse('frontend fe\n bind :80\n default_backend be\nbackend be\n');
  t.same(proxy(c, 'fe').defaultBackend, { name: 'be', where: { file: 'k.cfg', line: 3 } });
  const l = parse('listen li\n bind :80\n default_backend be\nbackend be\n');
  t.equal(proxy(l, 'li').defaultBackend?.name, 'be');
});

t.test('timeouts', async (t) => {
  const c = parse(`listen li
  bind :80
  timeout connect 5s
  timeout client 1m
  timeout server 30000
  timeout http-request 10s
  timeout http-keep-alive 2s
  timeout queue 1m
  timeout tunnel 1h
  timeout check 3s
`);
  t.same(proxy(c, 'li').timeouts, {
    connect: 5000, client: 60_000, server: 30_000, httpRequest: 10_000, httpKeepAlive: 2000,
    queue: 60_000, tunnel: 3_600_000, check: 3000,
  });
  t.same(proxy(parse('frontend fe\n bind :80\n timeout client 5s\n timeout http-request 1s\n'), 'fe').timeouts, { client: 5000, httpRequest: 1000 });
  t.same(backend('timeout connect 1s\ntimeout server 2s').timeouts, { connect: 1000, server: 2000 });
});

t.test('maxconn and retries', async (t) => {
  t.equal(proxy(parse('frontend fe\n bind :80\n maxconn 200\n'), 'fe').maxconn, 200);
  t.equal(backend('retries 0').retries, 0);
  t.equal(backend('retries 5').retries, 5);
});

t.test('options', async (t) => {
  const be = backend('option redispatch\noption forwardfor\noption httpchk GET /health HTTP/1.1');
  t.same(be.options, {
    redispatch: true, httplog: false, tcplog: false, forwardfor: true,
    httpchk: { method: 'GET', uri: '/health', version: 'HTTP/1.1' },
  });
  t.same(backend('option httpchk').options.httpchk, { method: 'OPTIONS', uri: '/', version: 'HTTP/1.0' });
  t.same(backend('option httpchk /ping').options.httpchk, { method: 'OPTIONS', uri: '/ping', version: 'HTTP/1.0' });
  t.same(backend('option httpchk HEAD /ping').options.httpchk, { method: 'HEAD', uri: '/ping', version: 'HTTP/1.0' });
  t.equal(backend('option httpchk\nno option httpchk').options.httpchk, undefined);
  t.equal(backend('option redispatch\nno option redispatch').options.redispatch, false);
  const fe = proxy(parse('frontend fe\n bind :80\n option httplog\n'), 'fe');
  t.equal(fe.options.httplog, true);
  const fe2 = proxy(parse('frontend fe\n bind :80\n option httplog\n option tcplog\n'), 'fe');
  t.same([fe2.options.httplog, fe2.options.tcplog], [false, true], 'httplog and tcplog: the last one wins');
  const fe3 = proxy(parse('frontend fe\n bind :80\n option tcplog\n option httplog\n no option forwardfor\n'), 'fe');
  t.same([fe3.options.httplog, fe3.options.tcplog, fe3.options.forwardfor], [true, false, false]);
});

t.test('proxy log lines', async (t) => {
  const p = backend('log global\nlog 10.0.0.1:514 local2 warning');
  t.same(p.logs, [
    { target: 'global', where: { file: 'k.cfg', line: 2 } },
    { target: '10.0.0.1:514', facility: 'local2', level: 'warning', where: { file: 'k.cfg', line: 3 } },
  ]);
  t.same(backend('log global\nno log').logs, []);
});

t.test('a complete configuration keeps proxies in file order', async (t) => {
  const c = parse(`# demo
global
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind :8080
    default_backend app

backend app
    balance leastconn
    cookie SRV insert indirect nocache
    server a 127.0.0.1:9001 cookie a check
    server b 127.0.0.1:9002 cookie b check

listen stats
    bind 127.0.0.1:8404
    server local 127.0.0.1:9000
`);
  t.same(c.proxies.map((p) => `${p.kind} ${p.name}`), ['frontend www', 'backend app', 'listen stats']);
});
