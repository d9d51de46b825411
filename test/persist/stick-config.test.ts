// `stick-table`, `stick ...` rules and `redis` sections: what parses into the model, and
// every mistake answered with file:line, the keyword and a stable code.
import t, { type Test } from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';

const ok = (text: string) => {
  const r = parseConfigText(text, 's.cfg', { REDIS_PASSWORD: 's3cret' });
  if (!r.config) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.config;
};

function fails(t: Test, text: string, code: string, line: number, keyword: string, message: RegExp): void {
  const r = parseConfigText(text, 's.cfg', {});
  t.equal(r.config, undefined);
  const e = r.errors.find((x) => x.line === line);
  t.ok(e, `an error on line ${line}; got: ${r.errors.map((x) => x.message).join(' | ')}`);
  if (!e) return;
  t.equal(e.code, code, e.message);
  t.equal(e.keyword, keyword, e.message);
  t.match(e.message, message);
  t.ok(e.message.startsWith(`parsing [s.cfg:${line}] : `), e.message);
}

const backend = (lines: string, mode = 'http') => `backend app\n    mode ${mode}\n${lines}\n    server s1 127.0.0.1:8080\n`;

t.test('stick rules take if/unless conditions: named ACLs of the proxy and anonymous ones', async (t) => {
  const c = ok(backend(`    acl api path_beg /api
    stick-table type string len 64 size 10
    stick match req.cook(A) if { req.hdr(x-sticky) -m found }
    stick on req.cook(B) table app unless api
    stick store-response res.cook(A) if { res.hdr(x-store) -m found } || api`));
  const rules = c.proxies[0]!.stickRules!;
  t.equal(rules.length, 3);
  t.ok(rules.every((r) => r.cond), 'each rule has its compiled condition');
  t.equal(rules[1]!.table?.name, 'app');
});

t.test('the issue example parses into the model', async (t) => {
  const c = ok(`redis shared
    server 127.0.0.1:6379
    password "\${REDIS_PASSWORD}"
    prefix limpet
    timeout 50ms
backend app
    mode http
    stick-table type string len 64 size 1m expire 30m redis shared
    stick store-response res.cook(JSESSIONID)
    stick match req.cook(JSESSIONID)
    server s1 127.0.0.1:8080
`);
  t.match(c.redis, [{ name: 'shared', deployment: { kind: 'standalone', host: '127.0.0.1', port: 6379 }, password: 's3cret', prefix: 'limpet', timeout: 50 }]);
  const app = c.proxies[0]!;
  t.match(app.stickTable, { type: 'string', len: 64, size: 1024 * 1024, expire: 30 * 60_000, nopurge: false, srvkey: 'name', redis: { name: 'shared' } });
  t.match(app.stickRules, [
    { kind: 'store-response', fetch: { text: 'res.cook(JSESSIONID)', phase: 'response', expr: { fetchName: 'res.cook' } } },
    { kind: 'match', fetch: { text: 'req.cook(JSESSIONID)', phase: 'request', expr: { fetchName: 'req.cook' } } },
  ]);
});

t.test('sentinel and cluster deployments, table options and table references', async (t) => {
  const c = ok(`redis s
    sentinel 10.0.0.1:26379 10.0.0.2:26379 master mymaster
    user limpet
    database 2
redis c
    cluster 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000
backend a
    mode tcp
    stick-table type ip size 100k nopurge srvkey addr redis s
    stick on src
    server s1 127.0.0.1:8080
backend b
    mode tcp
    stick on src table a
    stick-table type integer size 10
    server s1 127.0.0.1:8080
`);
  t.match(c.redis![0], { deployment: { kind: 'sentinel', master: 'mymaster', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }] }, user: 'limpet', database: 2 });
  t.equal(c.redis![1]!.deployment!.kind, 'cluster');
  t.match(c.proxies[0]!.stickTable, { type: 'ip', size: 100 * 1024, nopurge: true, srvkey: 'addr' });
  t.equal(c.proxies[0]!.stickTable!.expire, undefined);
  t.match(c.proxies[1]!.stickRules, [{ kind: 'on', table: { name: 'a' } }]);
});

t.test('expressions are fetches with converters, as the ACL engine reads them', async (t) => {
  const c = ok(`backend web
    mode http
    stick-table type string size 10
    stick on req.hdr(x-user),lower
    stick match req.cook(SID),url_dec,lower
    server s1 127.0.0.1:8080
backend tcpapp
    mode tcp
    stick-table type ip size 10
    stick on src,ipmask(24)
    stick match dst
    server s1 127.0.0.1:8080
`);
  t.match(c.proxies[0]!.stickRules, [
    { kind: 'on', fetch: { text: 'req.hdr(x-user),lower', phase: 'request', needsRules: false, expr: { fetchName: 'req.hdr' } } },
    { kind: 'match', fetch: { text: 'req.cook(SID),url_dec,lower', phase: 'request' } },
  ]);
  t.match(c.proxies[1]!.stickRules, [
    { kind: 'on', fetch: { text: 'src,ipmask(24)', phase: 'connection' } },
    { kind: 'match', fetch: { text: 'dst', phase: 'connection' } },
  ], 'connection fetches, converted or not, are allowed in mode tcp');
});

t.test('mistakes name file, line and keyword', async (t) => {
  fails(t, backend('    stick-table size 10'), 'LIMPET_CONFIG_MISSING_ARGUMENT', 3, 'stick-table', /missing 'type'/);
  fails(t, backend('    stick-table type ip'), 'LIMPET_CONFIG_MISSING_ARGUMENT', 3, 'stick-table', /missing 'size'/);
  fails(t, backend('    stick-table type float size 1'), 'LIMPET_CONFIG_BAD_VALUE', 3, 'stick-table', /unknown table type 'float'/);
  fails(t, backend('    stick-table type ip len 4 size 1'), 'LIMPET_CONFIG_BAD_VALUE', 3, 'stick-table', /'len' applies to string and binary/);
  fails(t, backend('    stick-table type ip size 1 peers mypeers'), 'LIMPET_CONFIG_UNSUPPORTED', 3, 'stick-table', /'peers'.*redis/);
  fails(t, backend('    stick-table type ip size 1 store conn_cur'), 'LIMPET_CONFIG_UNSUPPORTED', 3, 'stick-table', /'store'/);
  fails(t, backend('    stick-table type ip size 1 expire soon'), 'LIMPET_CONFIG_BAD_VALUE', 3, 'stick-table', /expire/);
  fails(t, backend('    stick-table type ip size 1\n    stick-table type ip size 2'), 'LIMPET_CONFIG_BAD_VALUE', 4, 'stick-table', /already has a stick-table/);
  fails(t, backend('    stick-table type ip size 1 redis nowhere'), 'LIMPET_CONFIG_UNKNOWN_REDIS', 3, 'stick-table', /unable to find redis section 'nowhere'/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.cook(A) if nosuch'), 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 4, 'stick on', /no such ACL : 'nosuch'/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.cook(A) if'), 'LIMPET_CONFIG_MISSING_ARGUMENT', 4, 'stick on', /missing condition after 'if'/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.cook(A) if { src 10.0.0.1'), 'LIMPET_CONFIG_SYNTAX', 4, 'stick on', /missing '}'/);
  fails(t, backend('    stick-table type string size 1\n    stick match req.cook(A) if { res.hdr(x) -m found }'), 'LIMPET_CONFIG_BAD_VALUE', 4, 'stick match', /response fetch/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.cook(A) extra if TRUE'), 'LIMPET_CONFIG_UNKNOWN_OPTION', 4, 'stick on', /unexpected argument 'extra'/);
  fails(t, backend('    stick-table type ip size 1\n    stick on src if { src 10.0.0.1 }', 'tcp'), 'LIMPET_CONFIG_UNSUPPORTED', 4, 'stick on', /conditions on stick rules need 'mode http'/);
  fails(t, backend('    stick-table type string size 1\n    stick match res.cook(A)'), 'LIMPET_CONFIG_BAD_VALUE', 4, 'stick match', /reads the response/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.hdr'), 'LIMPET_CONFIG_MISSING_ARGUMENT', 4, 'stick on', /'req.hdr' expects at least 1 argument/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.body'), 'LIMPET_CONFIG_UNSUPPORTED', 4, 'stick on', /unknown fetch method 'req.body'/);
  fails(t, backend('    stick-table type string size 1\n    stick on src,frobnicate'), 'LIMPET_CONFIG_UNSUPPORTED', 4, 'stick on', /unknown converter 'frobnicate'/);
  fails(t, backend('    stick-table type ip size 1\n    stick on src,ipmask(40)'), 'LIMPET_CONFIG_BAD_VALUE', 4, 'stick on', /invalid IPv4 mask '40'/);
  fails(t, backend('    stick-table type string size 1\n    stick match req.hdr(x),lower,res.hdr(y)'), 'LIMPET_CONFIG_UNSUPPORTED', 4, 'stick match', /unknown converter 'res.hdr'/);
  fails(t, backend('    stick-table type string size 1\n    stick on res.hdr(x-session),lower'), 'LIMPET_CONFIG_BAD_VALUE', 4, 'stick on', /'res.hdr' reads the response/);
  fails(t, backend('    stick-table type ip size 1\n    stick on src,lower\n    stick on be_name', 'tcp'), 'LIMPET_CONFIG_FETCH_NEEDS_HTTP', 5, 'stick on', /fetch method 'be_name' needs 'mode http'/);
  fails(t, backend('    stick on src'), 'LIMPET_CONFIG_UNKNOWN_TABLE', 3, 'stick on', /has no stick-table/);
  fails(t, backend('    stick match src table other'), 'LIMPET_CONFIG_UNKNOWN_TABLE', 3, 'stick match', /unable to find a stick-table in backend 'other'/);
  fails(t, backend('    stick-table type string size 1\n    stick on req.hdr(x-id)', 'tcp'), 'LIMPET_CONFIG_FETCH_NEEDS_HTTP', 4, 'stick on', /needs 'mode http'/);
  fails(t, 'frontend f\n    bind :80\n    stick on src\n', 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED', 3, 'stick on', /not allowed in 'frontend'/);
  fails(t, 'redis r\n    prefix limpet\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 1, 'redis', /names no deployment/);
  fails(t, 'redis r\n    server 127.0.0.1:1\n    cluster 127.0.0.1:2\n', 'LIMPET_CONFIG_BAD_VALUE', 3, 'cluster', /already names a standalone deployment/);
  fails(t, 'redis r\n    sentinel 127.0.0.1:1\n', 'LIMPET_CONFIG_MISSING_ARGUMENT', 2, 'sentinel', /missing 'master NAME'/);
  fails(t, 'redis r\n    server nowhere\n', 'LIMPET_CONFIG_BAD_ADDRESS', 2, 'server', /invalid address/);
  fails(t, 'redis r\n    server 127.0.0.1:1\n    timeout 0\n', 'LIMPET_CONFIG_BAD_VALUE', 3, 'timeout', /above 0/);
  fails(t, 'redis r\n    server 127.0.0.1:1\n    replicas 2\n', 'LIMPET_CONFIG_UNKNOWN_KEYWORD', 3, 'replicas', /unknown keyword 'replicas' in 'redis' section/);
  fails(t, 'redis r\n    cluster 127.0.0.1:1\n    database 3\n', 'LIMPET_CONFIG_BAD_VALUE', 1, 'database', /Cluster has only database 0/);
  fails(t, 'redis r\n    server 127.0.0.1:1\nredis r\n    server 127.0.0.1:2\n', 'LIMPET_CONFIG_DUPLICATE_REDIS', 3, 'redis', /already declared at s.cfg:1/);
});
