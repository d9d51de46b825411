import t from 'tap';
import { sdbm } from '../../lib/balance/hash-functions.js';
import { addressBytes, mainDomain, pathOf, requestKeyHasher, sourceHash, uriKey, uriOptions, urlParam } from '../../lib/balance/request-key.js';

const sd = { fn: 'sdbm' as const, avalanche: false };

t.test('balance uri hashes what HAProxy hashes', async (t) => {
  const o = (...a: string[]) => uriOptions(a);
  t.equal(uriKey('/a/b/c?x=1', o()), '/a/b/c', 'the query string is left out');
  t.equal(uriKey('/a/b/c?x=1', o('whole')), '/a/b/c?x=1', '`whole` keeps it');
  t.equal(uriKey('/a/b/c?x=1', o('len', '4')), '/a/b', '`len` cuts the URI');
  t.equal(uriKey('/a/b/c/d', o('depth', '2')), '/a/b', '`depth 2` stops at the third slash');
  t.equal(uriKey('/a', o('depth', '2')), '/a');
  t.equal(uriKey('http://h.example:8080/p/q?z', o('path-only')), '/p/q', '`path-only` drops scheme and authority');
  t.equal(uriKey('http://h.example/p?z', o()), 'http://h.example/p', 'without path-only the absolute form counts');
  t.equal(pathOf('http://h'), '/');
});

t.test('url_param takes the first NAME= of the query string', async (t) => {
  t.equal(urlParam('/p?a=1&user=bob&user=eve', 'user'), 'bob');
  t.equal(urlParam('/p?username=x&user=', 'user'), '');
  t.equal(urlParam('/p?user', 'user'), undefined, 'a parameter without = does not count');
  t.equal(urlParam('/p', 'user'), undefined);
});

t.test('use_domain_only keeps the label before the top-level domain', async (t) => {
  t.equal(mainDomain('www.example.com'), 'example');
  t.equal(mainDomain('example.com'), 'example');
  t.equal(mainDomain('a.b.example.co'), 'example');
  t.equal(mainDomain('localhost'), 'localhost');
});

t.test('source hashes the address words, not the hash function', async (t) => {
  t.same([...addressBytes('10.1.2.3')!], [10, 1, 2, 3]);
  t.same([...addressBytes('::ffff:10.1.2.3')!], [10, 1, 2, 3], 'IPv4-mapped addresses are IPv4');
  t.equal(addressBytes('::1')!.length, 16);
  t.equal(sourceHash('10.1.2.3', false), 0x0a010203);
  t.equal(sourceHash('2001:db8::1', false), (0x20010db8 ^ 0 ^ 0 ^ 1) >>> 0);
  t.equal(sourceHash(undefined, false), undefined);
});

t.test('extractors return undefined without a key (round robin fallback)', async (t) => {
  t.equal(requestKeyHasher('hdr', ['X-User'], sd)({ header: () => undefined }), undefined);
  t.equal(requestKeyHasher('hdr', ['X-User'], sd)({ header: (n) => (n === 'x-user' ? 'bob, eve' : undefined) }), sdbm(Buffer.from('bob')));
  t.equal(requestKeyHasher('url_param', ['id'], sd)({ uri: '/x' }), undefined);
  t.equal(requestKeyHasher('hash', ['req.cookie(SID)'], sd)({ header: () => 'a=1; SID=xyz' }), sdbm(Buffer.from('xyz')));
  t.equal(requestKeyHasher('hash', ['req.hdr(X-T)'], sd)({ header: () => 'a, b' }), sdbm(Buffer.from('b')), 'req.hdr uses the last value');
  t.equal(requestKeyHasher('hash', ['src'], sd)({ clientAddress: '1.2.3.4' }), sdbm(Buffer.from([1, 2, 3, 4])));
  t.equal(requestKeyHasher('hash', ['path'], sd)({ uri: '/p?q' }), sdbm(Buffer.from('/p')));
  t.equal(requestKeyHasher('hash', ['url_param(u)'], sd)({ uri: '/p?u=7' }), sdbm(Buffer.from('7')));
  t.equal(requestKeyHasher('rdp-cookie', [], sd)({ rdpCookie: (n) => (n === 'mstshash' ? 'alice' : undefined) }), sdbm(Buffer.from('alice')));
  t.throws(() => requestKeyHasher('hash', ['base'], sd), /unsupported sample expression 'base'/);
});

t.test('balance hash EXPR takes the ACL engine converters', async (t) => {
  const h = (expr: string) => requestKeyHasher('hash', [expr], sd);
  const ctx = (host: string) => ({ header: (n: string) => (n === 'host' ? host : undefined) });
  t.equal(h('req.hdr(host),lower')(ctx('WWW.Example.COM')), sdbm(Buffer.from('www.example.com')), 'lower, then hashed');
  t.equal(h('req.hdr(host),lower,field(1,:)')(ctx('Shop.example:8080')), sdbm(Buffer.from('shop.example')), 'converters chain');
  t.equal(h('req.hdr(host),lower')(ctx('a.example')), h('req.hdr(host),lower')(ctx('A.EXAMPLE')));
  t.equal(h('req.hdr(host),lower')({}), undefined, 'no header: no key (round robin)');
  t.equal(h('src,field(1,.)')({ clientAddress: '::ffff:10.1.2.3' }), sdbm(Buffer.from('10')), 'src as text after a converter');
  const eight = Buffer.alloc(8);
  eight.writeBigInt64BE(7n);
  t.equal(h('req.hdr(host),length')(ctx('abcdefg')), sdbm(eight), 'an integer is hashed as 8 big-endian bytes, as HAProxy casts it');
  t.throws(() => h('req.hdr(host),nosuchconv'), /unsupported converter 'nosuchconv'.*limpet supports .*\blower\b/);
  t.throws(() => h('req.hdr(host),field(1)'), /converter 'field' expects 2 to 3 argument/);
  t.throws(() => h('req.hdr(host'), /missing '\)'/);
  t.throws(() => h('query,lower'), /unsupported sample expression 'query,lower'/);
});
