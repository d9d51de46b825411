// The pure parts of ACLs: match methods at their edges, integer operators, IP networks, and
// converters (field/word indices, regsub back-references), without sockets.
import t from 'tap';
import { compileMatcher, matchWord } from '../../lib/acl/pattern-match.js';
import { CONVERTERS } from '../../lib/acl/converters.js';
import { splitCalls } from '../../lib/acl/call-syntax.js';

const where = { file: 'u.cfg', line: 1 };
const conv = (name: string, ...args: string[]) => CONVERTERS.get(name)!.make(args);

t.test('dom and dir match whole words between delimiters', async (t) => {
  t.ok(matchWord('www.example.com', 'example', '/?.:'));
  t.ok(matchWord('www.example.com', '.example.', '/?.:'), 'delimiters around the pattern are ignored');
  t.notOk(matchWord('www.myexample.com', 'example', '/?.:'));
  t.ok(matchWord('/a/img/x.png', 'img', '/?'));
  t.notOk(matchWord('/a/images/x.png', 'img', '/?'));
  t.ok(matchWord('/a/img?x', 'img', '/?'));
});

t.test('integer patterns: operators, ranges, open ranges', async (t) => {
  const m = (pats: string[]) => compileMatcher('int', pats, false);
  t.ok(m(['eq', '5'])(5));
  t.notOk(m(['eq', '5'])(6));
  t.ok(m(['ge', '5'])(5));
  t.notOk(m(['gt', '5'])(5));
  t.ok(m(['le', '5'])(5));
  t.notOk(m(['lt', '5'])(5));
  t.ok(m(['1:3'])(2));
  t.notOk(m(['1:3'])(4));
  t.ok(m([':3'])(-10));
  t.ok(m(['3:'])(1000));
  t.ok(m(['1', '7'])(7), 'several values are ORed');
  t.ok(m(['eq', '7'])('7'), 'a string sample is read as an integer');
  t.notOk(m(['eq', '7'])('7x'));
  t.throws(() => m(['gt']), /missing value after operator 'gt'/);
  const len = compileMatcher('len', ['2:3'], false);
  t.ok(len('abc'));
  t.notOk(len('abcd'));
});

t.test('string methods, with and without -i', async (t) => {
  t.ok(compileMatcher('str', ['Foo'], true)('fOO'));
  t.notOk(compileMatcher('str', ['Foo'], false)('foo'));
  t.ok(compileMatcher('beg', ['/A'], true)('/abc'));
  t.ok(compileMatcher('end', ['.PNG'], true)('x.png'));
  t.ok(compileMatcher('sub', ['MID'], true)('amidb'));
  t.ok(compileMatcher('reg', ['^a.c$'], true)('ABC'));
  t.notOk(compileMatcher('reg', ['^a.c$'], false)('ABC'));
  t.ok(compileMatcher('found', [], false)(''));
  t.ok(compileMatcher('bool', [], false)(1));
  t.notOk(compileMatcher('bool', [], false)(0));
  t.throws(() => compileMatcher('found', ['x'], false), /takes no pattern/);
});

t.test('IP networks', async (t) => {
  const m = compileMatcher('ip', ['10.0.0.0/8', '192.168.1.0/255.255.255.0', '2001:db8::/32', '127.0.0.1'], false);
  t.ok(m('10.1.2.3'));
  t.ok(m('192.168.1.77'));
  t.notOk(m('192.168.2.1'));
  t.ok(m('::ffff:10.9.9.9'), 'IPv4-mapped IPv6 matches an IPv4 network');
  t.ok(m('2001:db8::1'));
  t.ok(m('127.0.0.1'));
  t.notOk(m('127.0.0.2'));
  t.notOk(m('not-an-ip'));
  t.throws(() => compileMatcher('ip', ['10.0.0.0/33'], false), /invalid mask/);
});

t.test('converters', async (t) => {
  t.equal(conv('field', '2', '.')('a.b.c'), 'b');
  t.equal(conv('field', '-1', '.')('a.b.c'), 'c', 'negative index counts from the end');
  t.equal(conv('field', '2', '.', '0')('a.b.c'), 'b.c', 'count 0 takes the rest');
  t.equal(conv('field', '2', '.')('a..c'), '', 'field keeps empty fields');
  t.equal(conv('field', '5', '.')('a.b'), undefined, 'no such field: no sample');
  t.equal(conv('word', '2', '.')('a..c'), 'c', 'word skips empty words');
  t.equal(conv('word', '1', '/', '2')('/x/y/z'), 'x/y');
  t.equal(conv('regsub', '([a-z]+)-([0-9]+)', '\\2:\\1')('ab-12'), '12:ab');
  t.equal(conv('regsub', 'a', 'b', 'g')('aaa'), 'bbb');
  t.equal(conv('regsub', 'A', 'b', 'i')('aA'), 'bA');
  t.equal(conv('regsub', 'x', '$1')('x'), '$1', 'a dollar in the replacement is literal');
  t.equal(conv('hex')('\u00ff'), 'FF');
  t.equal(conv('base64')('hi'), 'aGk=');
  t.equal(conv('length')('abc'), 3);
  t.throws(() => conv('regsub', 'a', 'b', 'x'), /regsub flags/);
});

t.test('call syntax: escapes, quotes and nesting', async (t) => {
  t.same(splitCalls('req.hdr(host),regsub(\\,,;,g),lower', where, 'k'), [
    { name: 'req.hdr', args: ['host'], parens: true },
    { name: 'regsub', args: [',', ';', 'g'], parens: true },
    { name: 'lower', args: [], parens: false },
  ]);
  t.same(splitCalls('path,regsub("[)]",x)', where, 'k')[1]!.args, ['[)]', 'x']);
  t.throws(() => splitCalls('path,regsub(a', where, 'k'), /missing '\)'/);
});
