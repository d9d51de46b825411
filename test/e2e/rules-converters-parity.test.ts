// Converters and fetches side by side with HAProxy 2.6 (skipped loudly where it is not
// installed): one configuration given to both, one `http-request return ... lf-string` per
// expression echoing `%[EXPR]`, and ACLs and set-header on typed results; what a client
// receives from limpet must be what it receives from HAProxy, byte for byte.
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { rawRequest } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { echoHeader, echoOf, haveHaproxy, startEchoOrigin, startHaproxy } from '../rules/rules-test-kit.js';

/** Each is answered at /e/INDEX with `[%[EXPR]]`; binary results go through hex. */
const EXPRS = [
  // hashes
  'req.hdr(x-s),djb2', 'req.hdr(x-s),djb2(1)', 'req.hdr(x-s),sdbm', 'req.hdr(x-s),sdbm(1)', 'req.hdr(x-s),wt6',
  'req.hdr(x-s),wt6(1)', 'req.hdr(x-s),crc32', 'req.hdr(x-s),crc32(1)', 'req.hdr(x-s),crc32c', 'req.hdr(x-s),crc32c(1)',
  'req.hdr(x-s),xxh32', 'req.hdr(x-s),xxh32(12345)', 'req.hdr(x-s),xxh64', 'req.hdr(x-s),xxh64(-1)', 'str(abcd),xxh64',
  'req.hdr(x-long),xxh64', 'req.hdr(x-long),xxh32', 'src,djb2', 'src,wt6', 'int(5),sdbm', 'req.hdr(x-n),length,crc32',
  'req.hdr(x-s),sha1,hex', 'req.hdr(x-s),sha2,hex', 'req.hdr(x-s),sha2(224),hex', 'req.hdr(x-s),sha2(384),hex', 'req.hdr(x-s),sha2(512),hex',
  // arithmetic
  'req.hdr(x-n),add(5)', 'req.hdr(x-n),sub(50)', 'req.hdr(x-n),mul(-3)', 'req.hdr(x-n),div(7)', 'req.hdr(x-n),mod(7)',
  'req.hdr(x-neg),div(7)', 'req.hdr(x-neg),mod(7)', 'req.hdr(x-n),div(0)', 'req.hdr(x-n),mod(0)',
  'req.hdr(x-n),and(6)', 'req.hdr(x-n),or(6)', 'req.hdr(x-n),xor(6)', 'req.hdr(x-n),neg', 'req.hdr(x-n),cpl',
  'req.hdr(x-n),bool', 'req.hdr(x-n),not', 'req.hdr(x-n),odd', 'req.hdr(x-n),even', 'req.hdr(x-zero),not',
  'req.hdr(x-big),add(1)', 'req.hdr(x-big),mul(2)', 'req.hdr(x-big),neg,sub(5)', 'req.hdr(x-big),add(txn.n)',
  'req.hdr(x-n),mul(txn.n)', 'req.hdr(x-n),add(txn.unset)', 'req.hdr(x-s),add(1)', 'req.hdr(x-mixed),add(1)',
  'req.hdr(x-missing),add(1)', 'src,add(0)', 'src,ipmask(24),add(0)', 'int(3),bool,add(1)',
  // strings and bytes
  'req.hdr(x-s),concat(-,txn.n,-)', 'req.hdr(x-s),concat(<,txn.unset,>)', 'req.hdr(x-s),concat(,,!)',
  'req.hdr(x-pad),ltrim(x)', 'req.hdr(x-pad),rtrim(x)', 'req.hdr(x-pad),ltrim(xa)', 'req.hdr(x-pad),rtrim(xyz)',
  'req.hdr(x-s),bytes(1)', 'req.hdr(x-s),bytes(1,2)', 'req.hdr(x-s),bytes(9)', 'int(258),bytes(6),hex', 'src,bytes(1,2),hex',
  'req.hdr(x-json),json', 'req.hdr(x-utf8),json', 'req.hdr(x-utf8),json(utf8)', 'req.hdr(x-utf8),json(utf8s)',
  'req.hdr(x-bad8),json(utf8)', 'req.hdr(x-bad8),json(utf8s)', 'req.hdr(x-bad8),json(utf8ps)',
  'req.hdr(x-b64),b64dec', 'req.hdr(x-b64),b64dec,hex', 'req.hdr(x-s),b64dec', 'req.hdr(x-s),base64,b64dec',
  'req.hdr(x-hex),hex2i', 'req.hdr(x-s),hex2i', 'req.hdr(x-hexbig),hex2i', 'int(255),hex', 'int(-2),base64',
  'req.hdr(x-s),length', 'req.hdr(x-s),hex,lower',
  // accepted by HAProxy without their argument: a missing operand is 0, an empty length is 0
  'req.hdr(x-n),add', 'req.hdr(x-n),mul', 'req.hdr(x-n),and()', 'req.hdr(x-s),bytes(1,)', 'req.hdr(x-s),ltrim', 'req.hdr(x-s),json',
  'req.hdr(x-s),concat', 'req.hdr(x-s),xxh32(4294967297)', 'req.hdr(x-s),djb2(0)',
  // dates, encodings, comparisons, digests
  'int(784887151),http_date', 'int(784887151),http_date(3600)', 'int(784887151123),http_date(0,ms)', 'int(784887151005),http_date(0,ms)',
  'int(784887151000123),http_date(0,us)', 'int(784887151123),http_date(5,ms)', 'int(-1),http_date', 'int(951782400),http_date',
  'int(784887151),utime(%Y-%m-%d %H:%M:%S)', 'int(784887151),utime(%a %b %e %j %y %T %D %F %A %B %p %I %u %w %s %%)',
  'int(784887151),utime(%d/%b/%Y:%H:%M:%S %z %Z)', 'int(784887151),ltime(%Y-%m-%dT%H:%M:%S %z %Z)', 'int(784887151),utime(%Y,3600)',
  'int(5),utime(%c|%x|%X|%C|%G|%g|%V|%U|%W|%k|%l|%P|%r|%R|%h|%q|%5Y|%-d|%_m)', 'int(1609459200),utime(%G-%V %U %W %j)',
  'int(-1),utime(%F %T %j %a)', 'req.hdr(x-p),url_enc', 'req.hdr(x-p),url_enc(query)', 'str(YWIKY2Q=),b64dec,cut_crlf',
  'req.hdr(x-s),strcmp(txn.s)', 'str(a),strcmp(txn.c)', 'str(c),strcmp(txn.a)', 'str(ab),strcmp(txn.a)', 'str(a),strcmp(txn.ab)', 'str(a),strcmp(txn.unset)',
  'str(abc),secure_memcmp(txn.abc)', 'str(abd),secure_memcmp(txn.abc)', 'str(ab),secure_memcmp(txn.abc)', 'str(abc),secure_memcmp(txn.unset)',
  'req.hdr(x-s),digest(md5),hex', 'req.hdr(x-s),digest(sha256),hex', 'req.hdr(x-s),digest(sha3-256),hex', 'req.hdr(x-s),digest(blake2b512),hex',
  // fetches
  'ipv4(10.1.2.3)', 'ipv6(2001:DB8::0:1)', 'ipv6(::ffff:1.2.3.4)', 'bool(true)', 'bool(0)', 'ipv4(10.1.2.3),ipmask(8)', 'ipv4(10.1.2.3),add(0)',
  'ipv6(2001:DB8::0:1),hex', 'ipv4(10.1.2.3),djb2',
  'int(42)', 'int(-9223372036854775808)', 'str(hello)', 'str()', 'env(HOME)', 'env(LIMPET_PARITY_UNSET)',
  'req.hdr_ip(x-ip)', 'hdr_ip(x-ip4)', 'req.hdr_ip(x-ip6)', 'req.hdr_ip(x-ip,1)', 'req.hdr_ip(x-notip)', 'hdr_ip(x-ip6),ipmask(8,16)',
  'url_port', 'base32', 'req.hdrs,length', 'req.hdrs,sha1,hex', 'req.hdrs,field(1,:)',
  // raw bytes written out: control characters but tab as %XX, cut at NUL
  'req.hdrs', 'str(AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH3+A/yIlXABB),b64dec', 'req.hdr(x-s),sha1',
];

const config = (port: number, origin: number) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:${port}
    http-request set-var(txn.n) int(7)
    http-request set-var(txn.s) str(Hello)
    http-request set-var(txn.a) str(a)
    http-request set-var(txn.c) str(c)
    http-request set-var(txn.ab) str(ab)
    http-request set-var(txn.abc) str(abc)
${EXPRS.map((e, i) => `    http-request return status 200 content-type text/plain lf-string "[%[${e}]]" if { path /e/${i} }`).join('\n')}
    http-request return status 203 content-type text/plain string long if { path /acl } { req.hdr(x-n),length gt 2 }
    http-request return status 204 if { path /acl } { req.hdr(x-n),djb2,mod(3) 1 }
    http-request return status 205 if { path /acl } { req.hdr(x-n),odd }
    http-request return status 206 if { path /acl } { req.hdr_ip(x-ip) 10.0.0.0/8 }
    http-request return status 207 if { path /acl } { date,sub(1000) gt 1000 } { rand(4) lt 4 }
    http-request set-header X-Hash %[req.hdr(x-s),djb2(1),mod(100)]
    http-request set-header X-Date-Ok %[date,sub(1700000000),bool]
    http-request set-header X-Rand-Range %[rand(10),div(10)]
    http-request set-header X-Raw %[str(AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH3+A/yIlXABB),b64dec]
    default_backend be

backend be
    server s1 127.0.0.1:${origin}
`;

const BASE_HEADERS: Array<[string, string]> = [
  ['X-S', 'Hello, World'.replace(',', ';')], ['X-Long', 'the quick brown fox jumps over the lazy dog, twice over'],
  ['X-N', '45'], ['X-Neg', '-45'], ['X-Zero', '0'], ['X-Big', '9223372036854775806'], ['X-Mixed', '12abc'],
  ['X-Pad', 'xxaxyzxx'], ['X-Json', 'a"b\\c/d\te'], ['X-Utf8', 'h\u00c3\u00a9llo \u00e2\u0082\u00ac'], ['X-Bad8', 'a\u00ffb\u00c3'],
  ['X-B64', 'aGVsbG8gd29ybGQ='], ['X-Hex', '7fFF'], ['X-Hexbig', 'ffffffffffffffff0'],
  ['X-IP', '10.1.2.3:8080'], ['X-IP', '192.168.0.9'], ['X-IP4', '172.16.0.1x'], ['X-IP6', '2001:DB8:0:0:0:0:0:1'], ['X-NotIP', 'nope'],
  ['X-P', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ az09 \u00c3\u00a9'],
];

const djb2Of = (text: string) => [...Buffer.from(text, 'latin1')].reduce((h, c) => (Math.imul(h, 33) + c) >>> 0, 5381);

const head = (target: string, headers: Array<[string, string]>, host = 'www.test') =>
  Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');

async function ask(port: number, bytes: Buffer) {
  const r = await rawRequest(port, bytes, { timeout: 4000 });
  return { status: r.status, body: r.body.toString('latin1'), headers: r.headers };
}

t.test('converters and fetches: limpet and HAProxy answer the same', { skip: haveHaproxy() ? false : 'haproxy is not installed: no side-by-side comparison' }, async (t) => {
  const origin = await startEchoOrigin(t, 'o1');
  const [lport, hport] = [await freePort(), await freePort()];
  const text = config(lport, origin.port);
  await startProxy(t, text, { waitPorts: [lport] });
  await startHaproxy(t, text.replace(`127.0.0.1:${lport}`, `127.0.0.1:${hport}`), hport);

  // one expression per request; a mismatch names the expression
  const bodies: string[] = [];
  for (let i = 0; i < EXPRS.length; i++) {
    const bytes = head(`/e/${i}`, BASE_HEADERS);
    const [ours, theirs] = [await ask(lport, bytes), await ask(hport, bytes)];
    t.equal(ours.status, 200, `${EXPRS[i]}: answered by the rule`);
    t.equal(ours.body, theirs.body, `${EXPRS[i]}: limpet (found) vs HAProxy (wanted)`);
    bodies.push(ours.body);
    if (process.env.SHOW_BODIES) console.error(EXPRS[i], JSON.stringify(ours.body));
  }
  // the comparison means something only if most expressions have a value
  const empty = EXPRS.filter((_e, i) => bodies[i] === '[]');
  t.same(empty, ['req.hdr(x-n),add(txn.unset)', 'req.hdr(x-s),b64dec', 'req.hdr(x-missing),add(1)', 'req.hdr(x-bad8),json(utf8)',
    'req.hdr(x-s),hex2i', 'str()', 'env(LIMPET_PARITY_UNSET)', 'hdr_ip(x-ip4)', 'req.hdr_ip(x-notip)', 'url_port', 'req.hdr(x-s),bytes(1,)',
    'str(a),strcmp(txn.unset)', 'str(abc),secure_memcmp(txn.unset)'].sort((a, b) => EXPRS.indexOf(a) - EXPRS.indexOf(b)),
  'the expressions without a value are the expected ones');
  t.equal(bodies[EXPRS.indexOf('req.hdr(x-s),djb2')], `[${djb2Of('Hello; World')}]`, 'djb2 agrees with an independent computation');

  // url_port with an absolute URI (the Host header must agree with it, or HAProxy refuses)
  const urlPort = EXPRS.indexOf('url_port');
  for (const authority of ['127.0.0.1:8080', '127.0.0.1', '10.0.0.1:65535']) {
    const bytes = head(`http://${authority}/e/${urlPort}`, [], authority);
    const [ours, theirs] = [await ask(lport, bytes), await ask(hport, bytes)];
    t.equal(ours.body, theirs.body, `url_port of http://${authority}/: limpet (found) vs HAProxy (wanted)`);
  }

  // ACLs on typed results: the first matching rule's status
  for (const n of ['4', '45', '123', '1000', '7']) {
    for (const ip of ['10.9.9.9', '11.0.0.1']) {
      const bytes = head('/acl', [['X-N', n], ['X-IP', ip]]);
      const [ours, theirs] = [await ask(lport, bytes), await ask(hport, bytes)];
      t.equal(ours.status, theirs.status, `ACLs with X-N ${n}, X-IP ${ip}: limpet ${ours.status} vs HAProxy ${theirs.status}`);
    }
  }

  // set-header with converters, as the origin received it
  for (const s of ['a', 'Hello', 'zzzzzzzzzzzzzzzzzzzzzzzzz']) {
    const bytes = head('/fwd', [['X-S', s]]);
    const [ours, theirs] = [await ask(lport, bytes), await ask(hport, bytes)];
    const seen = (r: { body: string }) => {
      const e = echoOf({ status: 200, headers: [], body: r.body });
      return { hash: echoHeader(e, 'x-hash'), date: echoHeader(e, 'x-date-ok'), rand: echoHeader(e, 'x-rand-range'), raw: echoHeader(e, 'x-raw') };
    };
    t.same(seen(ours), seen(theirs), `set-header with X-S ${s}: limpet (found) vs HAProxy (wanted)`);
    t.same(seen(ours).rand, ['0'], 'rand(10),div(10) is 0');
    t.same(seen(ours).date, ['1'], 'date is past 2023');
  }
});

t.test('time and random fetches are in range (no HAProxy needed)', async (t) => {
  const port = await freePort();
  await startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    http-request return status 200 content-type text/plain lf-string "%[date] %[date(-5,ms)] %[date(0,us)] %[rand(3)] %[rand]"
`, { waitPorts: [port] });
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const before = Date.now();
    const r = await ask(port, head('/', []));
    const [s, ms, us, r3, r32] = r.body.split(' ').map(Number) as [number, number, number, number, number];
    t.ok(Math.abs(s - before / 1000) < 2, `date ${s} is now in seconds`);
    t.ok(Math.abs(ms + 5 - before) < 2000, `date(-5,ms) ${ms} is now in milliseconds, minus 5`);
    t.ok(Math.abs(us / 1000 - before) < 2000, `date(0,us) ${us} is now in microseconds`);
    t.ok(r3 >= 0 && r3 < 3 && Number.isInteger(r3), `rand(3) ${r3} in 0..2`);
    t.ok(r32 >= 0 && r32 < 2 ** 32, `rand ${r32} is 32 bits`);
    seen.add(r3);
  }
  t.equal(seen.size, 3, 'rand(3) gave 0, 1 and 2 in 30 requests');
});
