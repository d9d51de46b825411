// Hashes, arithmetic, string and binary converters and the constant/header fetches, evaluated
// on a request head without sockets. Expected values are what HAProxy 2.6.12 printed for the
// same expressions (`http-request return ... lf-string "%[EXPR]"`).
import t from 'tap';
import { MessageHead } from '../../lib/http/message-head.js';
import { HttpMessage } from '../../lib/rules/http-message.js';
import { compileSampleExpr } from '../../lib/acl/sample-expr.js';
import { compileAcl } from '../../lib/acl/acl.js';
import { sampleToString, type Sample, type SampleContext } from '../../lib/acl/sample.js';
import { ConfigError } from '../../lib/config/config-error.js';
import { logFormatText } from '../../lib/acl/sample-text.js';

const where = { file: 'u.cfg', line: 7 };

function ctxOf(head = 'GET /a/b?x=1 HTTP/1.1\r\nHost: www.test\r\n\r\n', vars: Record<string, Sample> = {}): SampleContext {
  return {
    src: '127.0.0.1', srcPort: 40000, dst: '127.0.0.1', dstPort: 80,
    req: new HttpMessage(new MessageHead(Buffer.from(head, 'latin1'))),
    res: undefined,
    vars: new Map(Object.entries(vars)),
    captures: [], uniqueId: undefined, frontend: 'fe', backend: undefined,
    usableServers: () => undefined, userlist: () => undefined,
  };
}

/** What `%[expr]` prints: '' when there is no sample (as HAProxy's lf-string does). */
const show = (expr: string, ctx = ctxOf()): string => {
  const v = compileSampleExpr(expr, where, 'http-request').one(ctx);
  return v === undefined ? '' : sampleToString(v);
};

t.test('hashes as HAProxy computes them, with avalanche and seeds', async (t) => {
  const cases: Array<[string, string]> = [
    ['str(abc),djb2', '193485963'],
    ['str(abc),djb2(1)', '2235766107'],
    ['str(abc),djb2()', '193485963'],
    ['str(),djb2', '5381'],
    ['int(5),djb2', '2075347466'], // an integer is hashed as its 8 bytes, big-endian
    ['src,djb2', '2091037605'], // an address as its 4 bytes
    ['str(abc),wt6', '2483038440'],
    ['str(abc),crc32c', '910901175'],
    ['str(abc),xxh32(1)', '2856167679'],
    ['str(abc),xxh64', '4952883123889572249'],
    ['str(abcd),xxh64', '-2449070131962342708'], // signed, as HAProxy stores it
    ['str(hello),xxh64', '2794345569481354659'],
    ['str(x),xxh64', '6665539201184043299'],
    ['str(abc),xxh64(-1)', '2895935887265243510'],
    ['str(abc),sha1,hex', 'A9993E364706816ABA3E25717850C26C9CD0D89D'],
    ['str(abc),sha2,hex', 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD'],
    ['str(abc),sha2(512),hex', 'DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F'],
  ];
  for (const [e, want] of cases) t.equal(show(e), want, e);
  t.equal(show('str(abc),crc32'), String(0x352441c2), 'crc32 of abc (zlib)');
});

t.test('arithmetic on signed 64-bit integers, clamped as HAProxy clamps', async (t) => {
  const cases: Array<[string, string]> = [
    ['str(12abc),add(1)', '13'],
    ['str(abc),add(1)', '1'],
    ['str( 5),add(1)', '1'],
    ['str(-0x5),add(1)', '1'],
    ['str(),add(1)', ''], // an empty string is no integer
    ['src,add(0)', '2130706433'],
    ['int(9223372036854775807),add(1)', '9223372036854775807'],
    ['int(-9223372036854775808),sub(1)', '-9223372036854775808'],
    ['int(5),sub(-9223372036854775808)', '9223372036854775807'],
    ['int(4611686018427387904),mul(4)', '9223372036854775807'],
    ['int(4611686018427387904),mul(-4)', '-9223372036854775808'],
    ['int(3),mul(-4)', '-12'],
    ['int(5),div(0)', '9223372036854775807'],
    ['int(5),mod(0)', '0'],
    ['int(-7),mod(2)', '-1'],
    ['int(-7),div(2)', '-3'],
    ['int(-9223372036854775808),neg', '9223372036854775807'],
    ['int(5),neg', '-5'],
    ['int(12),and(10)', '8'],
    ['int(12),or(3)', '15'],
    ['int(12),xor(5)', '9'],
    ['int(5),cpl', '-6'],
    ['int(5),not', '0'],
    ['int(0),not', '1'],
    ['int(5),bool', '1'],
    ['int(5),odd', '1'],
    ['int(5),even', '0'],
    ['str(x),add(txn.n)', '7'],
    ['int(1),add(txn.missing)', ''],
    ['int(1),add(txn.s)', '13'],
    ['str(5),add', '5'], // HAProxy reads a missing operand as 0
    ['str(5),add()', '5'],
    ['str(5),mul', '0'],
    ['str(5),and', '0'],
  ];
  const ctx = ctxOf(undefined, { 'txn.n': 7, 'txn.s': '12' });
  for (const [e, want] of cases) t.equal(show(e, ctx), want, e);
});

t.test('string and binary converters', async (t) => {
  const cases: Array<[string, string]> = [
    ['str(a/b),json', 'a\\/b'],
    ['str(h\u00c3\u00a9llo),json', 'h\\u00c3\\u00a9llo'], // ascii: each byte
    ['str(h\u00c3\u00a9llo),json(utf8)', 'h\\u00e9llo'],
    ['str(\u00f0\u009f\u0098\u0080),json(utf8)', ''], // beyond U+FFFF: no sample
    ['str(a\u00ffb),json(utf8s)', 'ab'], // invalid byte skipped
    ['str(YWJj),b64dec', 'abc'],
    ['str(YWJ),b64dec', ''],
    ['str(YWJjZA),b64dec', ''],
    ['str(YWJjZA==),b64dec', 'abcd'],
    ['str(abcdef),bytes(2,3)', 'cde'],
    ['str(abcdef),bytes(10)', ''],
    ['str(abcdef),bytes(0,0)', ''],
    ['str(abcdef),bytes(1,)', ''], // an empty length is 0
    ['str(abc),xxh32(4294967297)', '2856167679'], // the seed is cut to 32 bits
    ['str(abc),bytes(1),hex', '6263'],
    ['str(xxabcxx),ltrim(x)', 'abcxx'],
    ['str(xxabcxx),rtrim(x)', 'xxabc'],
    ['str(abc),ltrim', 'abc'],
    ['str(a),concat(b,txn.nope,c)', 'abc'],
    ['str(a),concat(<,txn.n,>)', 'a<7>'],
    ['str(abc),concat', 'abc'],
    ['str(ff),hex2i', '255'],
    ['str(fg),hex2i', ''],
    ['str(),hex2i', '0'],
    ['int(-1),hex2i', ''],
    ['int(12),hex', '000000000000000C'],
    ['int(12),base64', 'AAAAAAAAAAw='],
    ['str(abc),length', '3'],
  ];
  const ctx = ctxOf(undefined, { 'txn.n': 7 });
  for (const [e, want] of cases) t.equal(show(e, ctx), want, e);
});

t.test('constant, environment, time and random fetches', async (t) => {
  process.env.LIMPET_TEST_ENV = 'here';
  t.equal(show('env(LIMPET_TEST_ENV)'), 'here');
  t.equal(show('env(LIMPET_TEST_NOT_SET)'), '');
  t.equal(show('int(-42)'), '-42');
  t.equal(show('str()'), '');
  const s = Number(show('date'));
  t.ok(Math.abs(s - Date.now() / 1000) < 2, 'date is the time in seconds');
  t.ok(Math.abs(Number(show('date(-10,ms)')) - (Date.now() - 10)) < 2000, 'date(offset,ms): milliseconds, offset in milliseconds');
  t.ok(Math.abs(Number(show('date(0,us)')) / 1000 - Date.now()) < 2000, 'date(0,us): microseconds');
  const r = Array.from({ length: 200 }, () => Number(show('rand(6)')));
  t.ok(r.every((n) => Number.isInteger(n) && n >= 0 && n < 6), 'rand(6) is in 0..5');
  t.equal(new Set(r).size, 6, 'every value of rand(6) appears in 200 draws');
  t.ok(Number(show('rand')) < 2 ** 32, 'rand without range: 32 bits');
});

t.test('header fetches: hdr_ip, url_port, base32, req.hdrs', async (t) => {
  const ctx = ctxOf('GET /p/q?z=1 HTTP/1.1\r\nHost: 127.0.0.1:18999\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n'
    + 'X-A: 10.1.2.3:80\r\nX-B: 1.2.3.4x\r\nX-C: 01.2.3.4\r\nX-D: [::1]:80\r\nX-E: 1.2.3.4, 5.6.7.8\r\nX-IP6: ::FFFF:1.2.3.4\r\nX-V6: 2001:DB8:0:0:1::1\r\n\r\n');
  const cases: Array<[string, string]> = [
    ['req.hdr_ip(x-a)', '10.1.2.3'],
    ['req.hdr_ip(x-b)', ''],
    ['req.hdr_ip(x-c)', '1.2.3.4'],
    ['req.hdr_ip(x-d)', ''],
    ['req.hdr_ip(x-e)', '5.6.7.8'],
    ['req.hdr_ip(x-e,1)', '1.2.3.4'],
    ['hdr_ip(x-ip6)', '::ffff:1.2.3.4'],
    ['hdr_ip(x-v6)', '2001:db8::1:0:0:1'],
    ['url_port', ''],
  ];
  for (const [e, want] of cases) t.equal(show(e, ctx), want, e);
  t.equal(show('base32', ctxOf('GET /49 HTTP/1.1\r\nHost: 127.0.0.1:18999\r\n\r\n')), '3233125037', 'base32: Host and path, as HAProxy hashes them');
  t.equal(show('req.hdrs', ctxOf('GET / HTTP/1.1\r\nHost: h\r\nX-Y: 1\r\n\r\n')), 'host: h\r\nx-y: 1\r\n\r\n');
  t.equal(show('url_port', ctxOf('GET http://127.0.0.1:8080/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n')), '8080');
  t.equal(show('url_port', ctxOf('GET http://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), '80');
  t.equal(show('url_port', ctxOf('GET http://example.com:81/x HTTP/1.1\r\nHost: example.com:81\r\n\r\n')), '', 'a host name is not resolved');
  const acl = compileAcl(['req.hdr_ip(x-e)', '5.6.7.0/24'], where, 'acl');
  t.ok(acl.test(ctx), 'an ACL on hdr_ip matches networks');
  t.notOk(compileAcl(['req.hdr_ip(x-e)', '9.9.9.9'], where, 'acl').test(ctx));
});

t.test('typed results: ACLs on hashes and lengths compare integers', async (t) => {
  const ctx = ctxOf('GET / HTTP/1.1\r\nX-N: abcdef\r\n\r\n');
  t.ok(compileAcl(['req.hdr(x-n),length', 'gt', '5'], where, 'acl').test(ctx), 'length gt 5');
  t.notOk(compileAcl(['req.hdr(x-n),length', 'gt', '6'], where, 'acl').test(ctx));
  t.ok(compileAcl(['req.hdr(x-n),djb2,mod(2)', '0:1'], where, 'acl').test(ctx), 'a hash modulo as an integer range');
  t.ok(compileAcl(['int(3),odd'], where, 'acl').test(ctx), 'a boolean result needs no pattern');
  t.notOk(compileAcl(['int(3),even'], where, 'acl').test(ctx));
});

t.test('arguments are checked at configuration time, naming file and line', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['str(a),add(abc)', /invalid args in converter 'add' : expects an integer or a variable name/],
    ['str(a),add(txn)', /expects an integer or a variable name/],
    ['str(a),sha2(100)', /Unsupported number of bits: '100'/],
    ['str(a),json(foo)', /Unexpected input code type/],
    ['str(a),djb2(x)', /failed to parse 'x' as type 'integer' at position 1/],
    ['str(a),bytes(x)', /failed to parse 'x' as type 'integer' at position 1/],
    ['str(a),bytes(-1)', /offset '-1' is negative/],
    ['str(a),concat(a,foo,b)', /failed to register variable name 'foo'/],
    ['date(0,h)', /expects 's', 'ms' or 'us', got 'h'/],
    ['int(x)', /failed to parse 'x' as type 'integer' at position 1/],
    ['int()', /fetch method 'int' expects at least 1/],
    ['rand(x)', /failed to parse 'x'/],
    ['bool(yes)', /Expects 'true', 'false', '0' or '1'/],
    ['ipv4(1.2.3)', /failed to parse '1.2.3' as type 'IPv4 address'/],
    ['ipv6(zz)', /failed to parse 'zz' as type 'IPv6 address'/],
    ['str(a),sha1,add(1)', /converter 'add' cannot be applied/],
    ['method,add(1)', /converter 'add' cannot be applied/],
    ['str(a),xor(1,2)', /converter 'xor' expects 0 to 1 argument/],
  ];
  for (const [e, re] of refused) {
    try {
      compileSampleExpr(e, where, 'http-request');
      t.fail(`${e} was accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${e}: a ConfigError`);
      t.match(String((err as Error).message), re, e);
      t.match(String((err as Error).message), /u\.cfg:7/, `${e}: names file and line`);
    }
  }
  // accepted as HAProxy 2.6 accepts them
  for (const e of ['str(a),add', 'str(a),json', 'str(a),json()', 'str(a),concat', 'str(a),ltrim', 'src,lower,add(1)', 'str(a),xxh64(-1)']) {
    t.doesNotThrow(() => compileSampleExpr(e, where, 'http-request'), e);
  }
});

t.test('a sample written into a log-format string, as HAProxy writes it', async (t) => {
  t.equal(logFormatText('plain text'), 'plain text');
  t.equal(logFormatText('a\r\nb\tc\x7fd'), 'a%0D%0Ab\tc%7Fd', 'CR, LF and DEL escaped, tab kept');
  t.equal(logFormatText('ab\0cd\n'), 'ab', 'cut at NUL');
  t.equal(logFormatText('\xff"%\\'), '\xff"%\\', 'high bytes, quote, percent and backslash kept');
});

t.test('dates, encodings, comparisons and digests', async (t) => {
  const ctx = ctxOf(undefined, { 'txn.a': 'a', 'txn.c': 'c', 'txn.ab': 'ab', 'txn.abc': 'abc' });
  const cases: Array<[string, string]> = [
    ['int(784887151),http_date', 'Tue, 15 Nov 1994 08:12:31 GMT'],
    ['int(784887151),http_date(3600)', 'Tue, 15 Nov 1994 09:12:31 GMT'],
    ['int(784887151123),http_date(0,ms)', 'Tue, 15 Nov 1994 08:12:31.123 GMT'],
    ['int(784887151005),http_date(0,ms)', 'Tue, 15 Nov 1994 08:12:31.5 GMT'], // HAProxy does not pad the fraction
    ['int(784887151000123),http_date(0,us)', 'Tue, 15 Nov 1994 08:12:31.123 GMT'],
    ['int(-1),http_date', 'Sun, 13 Jun 1141709097 06:26:07 GMT'], // masked to 55 bits
    ['int(784887151),utime(%Y-%m-%d %H:%M:%S)', '1994-11-15 08:12:31'],
    ['int(784887151),utime(%a %b %e %j %y %T %D %F %A %B %p %I %u %w %s %%)', 'Tue Nov 15 319 94 08:12:31 11/15/94 1994-11-15 Tuesday November AM 08 2 2 784887151 %'],
    ['int(784887151),utime(%d/%b/%Y:%H:%M:%S %z %Z)', '15/Nov/1994:08:12:31 +0000 GMT'],
    ['int(784887151),utime(%Y,3600)', '1994'],
    ['int(5),utime(%c|%x|%X|%C|%G|%g|%V|%U|%W|%k|%l|%P|%r|%R|%h|%q|%5Y)', 'Thu Jan  1 00:00:05 1970|01/01/70|00:00:05|19|1970|70|01|00|00| 0|12|am|12:00:05 AM|00:00|Jan|%q|01970'],
    ['str(a b&c=d/\u00c3\u00a9?~_.-+),url_enc', 'a%20b%26c%3Dd%2F%C3%A9%3F~_.-%2B'],
    ['str(YWIKY2Q=),b64dec,cut_crlf', 'ab'],
    ['str(a),strcmp(txn.c)', '-2'],
    ['str(c),strcmp(txn.a)', '2'],
    ['str(ab),strcmp(txn.a)', '1'],
    ['str(a),strcmp(txn.ab)', '-1'],
    ['str(a),strcmp(txn.unset)', ''],
    ['str(abc),secure_memcmp(txn.abc)', '1'],
    ['str(abd),secure_memcmp(txn.abc)', '0'],
    ['str(abc),digest(md5),hex', '900150983CD24FB0D6963F7D28E17F72'],
    ['str(abc),digest(sha3-256),hex', '3A985DA74FE225B2045C172D6BD390BD855F086E3E9D525B46BFE24511431532'],
  ];
  for (const [e, want] of cases) t.equal(show(e, ctx), want, e);
  t.throws(() => compileSampleExpr('str(a),digest(nosuch)', where, 'http-request'), /failed to get digest 'nosuch'/);
  t.throws(() => compileSampleExpr('str(a),strcmp(nope)', where, 'http-request'), /failed to register variable name 'nope'/);
  t.throws(() => compileSampleExpr('int(1),http_date(0,h)', where, 'http-request'), /expects 's', 'ms' or 'us', got 'h'/);
});
