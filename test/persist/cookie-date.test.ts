import t from 'tap';
import { decodeCookieDate, encodeCookieDate, encodeQuanta, splitCookieValue } from '../../lib/persist/cookie-date.js';
import { dynamicCookie } from '../../lib/persist/dynamic-cookie.js';
import { xxh64 } from '../../lib/persist/xxh64.js';

t.test('dates are 30-bit counts of 4-second quanta in 5 base64 characters', async (t) => {
  t.equal(encodeQuanta(0), 'AAAAA');
  t.equal(encodeQuanta(1), 'AAAAB');
  t.equal(encodeQuanta(0x3fffffff), '/////');
  // 1700000000 s: (1700000000 + 3) >> 2 = 425000000 = 0x1954FC40
  t.equal(encodeCookieDate(1700000000), encodeQuanta(425000000));
  t.equal(decodeCookieDate(encodeCookieDate(1700000000)), 1700000000, 'a multiple of 4 survives the round trip');
  t.equal(decodeCookieDate(encodeCookieDate(1700000001)), 1700000004, 'emission rounds up to the next quantum');
  t.equal(decodeCookieDate('AAAAA'), undefined, 'zero is no date');
  t.equal(decodeCookieDate('AA!AA'), undefined, 'not base64');
  t.equal(decodeCookieDate('AAAA'), undefined, 'too short');
});

t.test('cookie values split into server and dates', async (t) => {
  const d1 = encodeCookieDate(1700000000);
  const d2 = encodeCookieDate(1690000000);
  t.same(splitCookieValue('s1'), { server: 's1' });
  t.same(splitCookieValue(`s1|${d1}`), { server: 's1', last: 1700000000 });
  t.same(splitCookieValue(`s1|${d1}|${d2}`), { server: 's1', last: 1700000000, first: 1690000000 });
  t.same(splitCookieValue('s1|junk'), { server: 's1' }, 'a malformed date is ignored, the server kept');
});

t.test('XXH64 matches the reference vectors', async (t) => {
  const x = (s: string, seed = 0n) => xxh64(Buffer.from(s), seed).toString(16).padStart(16, '0');
  t.equal(x(''), 'ef46db3751d8e999');
  t.equal(x('a'), 'd24ec4f1a98c6e5b');
  t.equal(x('abc'), '44bc2cf5ad770999');
  t.equal(x('Nobody inspects the spammish repetition'), 'fbcea83c8a378bf1', 'more than 32 bytes');
});

t.test('dynamic cookies: 16 hex digits from key, address and port', async (t) => {
  const c = dynamicCookie('secret', '10.0.0.1', 80)!;
  t.match(c, /^[0-9a-f]{16}$/);
  const expected = xxh64(Buffer.concat([Buffer.from('secret'), Buffer.from([10, 0, 0, 1]), Buffer.from([0, 0, 0, 80])]));
  t.equal(c, expected.toString(16).padStart(16, '0'));
  t.not(dynamicCookie('secret', '10.0.0.1', 81), c, 'the port counts');
  t.not(dynamicCookie('other', '10.0.0.1', 80), c, 'the key counts');
  t.equal(dynamicCookie('secret', 'localhost', 80), undefined, 'only IP addresses');
});
