// Unit tests of the check_post body scan (lib/balance/post-body.ts): when the body is ready to
// be read and which value HAProxy's get_server_ph_post would hash.
import t from 'tap';
import { bodyParam, postBodyToScan, wantsPostBody } from '../../lib/balance/post-body.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (v: Buffer | undefined) => v?.toString('latin1');

t.test('which requests wait for their body', async (t) => {
  const bal = (args: string[]) => ({ algorithm: 'url_param', args, where: { file: 'f', line: 1 } });
  t.ok(wantsPostBody(bal(['sid', 'check_post']), 'POST', '/x'));
  t.notOk(wantsPostBody(bal(['sid', 'check_post']), 'POST', '/x?sid=1'), 'the query string has it');
  t.notOk(wantsPostBody(bal(['sid', 'check_post']), 'GET', '/x'), 'only POST');
  t.ok(wantsPostBody(bal(['sid']), 'POST', '/x'), 'with or without check_post, as HAProxy 2.x');
  t.notOk(wantsPostBody({ algorithm: 'uri', args: [], where: { file: 'f', line: 1 } }, 'POST', '/x'), 'only url_param');
});

t.test('the body is read once complete or once the buffer is full', async (t) => {
  t.equal(text(postBodyToScan({ kind: 'length', remaining: 5 }, b('ab'), 100)), undefined, 'wait for more');
  t.equal(text(postBodyToScan({ kind: 'length', remaining: 5 }, b('abcdeGET / HTTP/1.1'), 100)), 'abcde', 'no byte beyond the body');
  t.equal(text(postBodyToScan({ kind: 'length', remaining: 500 }, b('x'.repeat(120)), 100)), 'x'.repeat(100), 'a full buffer is enough');
  t.equal(text(postBodyToScan({ kind: 'length', remaining: 500 }, b('x'.repeat(500)), 100)), 'x'.repeat(100), 'no more than a buffer, even when more came');
  t.equal(text(postBodyToScan({ kind: 'none' }, b(''), 100)), '');
  t.equal(text(postBodyToScan({ kind: 'chunked' }, b('3\r\nabc\r\n2;e=1\r\nde\r\n'), 100)), undefined, 'chunked: wait for the last chunk');
  t.equal(text(postBodyToScan({ kind: 'chunked' }, b('3\r\nabc\r\n2;e=1\r\nde\r\n0\r\n\r\n'), 100)), 'abcde', 'chunk framing removed');
  t.equal(text(postBodyToScan({ kind: 'chunked' }, b(`80\r\n${'y'.repeat(120)}`), 100)), 'y'.repeat(96), 'a partial chunk counts once the buffer is full');
  t.equal(text(postBodyToScan({ kind: 'chunked' }, b('zz\r\n'), 100)), '', 'a malformed chunk ends the scan');
});

t.test('the value HAProxy hashes', async (t) => {
  t.equal(text(bodyParam(b('a=1&sid=k1&b=2'), 'sid')), 'k1');
  t.equal(text(bodyParam(b('sid=k1'), 'sid')), 'k1');
  t.equal(text(bodyParam(b('xsid=1&sid=2'), 'sid')), '2', 'a longer name does not match');
  t.equal(text(bodyParam(b('sid&sid=3'), 'sid')), '3', 'a name without = does not match');
  t.equal(text(bodyParam(b('sid=&x=1'), 'sid')), '', 'an empty value');
  t.equal(text(bodyParam(b('sid= abc'), 'sid')), '', 'white space first: empty');
  t.equal(text(bodyParam(b('sid=ab cd&e'), 'sid')), 'ab cd', 'only the first byte is judged, as in HAProxy 2.6');
  t.equal(text(bodyParam(b('sid=a%20b+c'), 'sid')), 'a%20b+c');
  t.equal(bodyParam(b('sid="ab"'), 'sid'), undefined, 'a first byte neither a token nor white space: no key');
  t.equal(bodyParam(b('sid={"a":1}'), 'sid'), undefined, 'not URL-encoded: no key');
  t.equal(bodyParam(b('a=1&b=2'), 'sid'), undefined);
  t.equal(bodyParam(b('sid'), 'sid'), undefined);
});
