import t from 'tap';
import { parseInteger, parseSize, parseTime, ValueError } from '../../lib/config/units.js';

t.test('time values convert to milliseconds', async (t) => {
  t.equal(parseTime('0'), 0);
  t.equal(parseTime('1500'), 1500, 'a bare number is milliseconds');
  t.equal(parseTime('250ms'), 250);
  t.equal(parseTime('5s'), 5000);
  t.equal(parseTime('2m'), 120_000);
  t.equal(parseTime('1h'), 3_600_000);
  t.equal(parseTime('1d'), 86_400_000);
  t.equal(parseTime('1us'), 1, 'microseconds round up');
  t.equal(parseTime('1000us'), 1);
  t.equal(parseTime('1001us'), 2);
  t.equal(parseTime('0us'), 0);
  t.equal(parseTime('30', 's'), 30_000, 'a default unit applies to bare numbers');
  t.equal(parseTime('30ms', 's'), 30, 'an explicit unit wins over the default');
});

t.test('bad time values are errors', async (t) => {
  for (const bad of ['', 'abc', '5x', '-1', '1.5s', '5 s', 's', '5S', '25d']) {
    t.throws(() => parseTime(bad), ValueError, bad);
  }
  t.equal(parseTime('24d'), 2_073_600_000, 'the largest day count that fits 32 bits');
});

t.test('size values are 1024-based and case-insensitive', async (t) => {
  t.equal(parseSize('16384'), 16384);
  t.equal(parseSize('16k'), 16384);
  t.equal(parseSize('16K'), 16384);
  t.equal(parseSize('1m'), 1_048_576);
  t.equal(parseSize('1M'), 1_048_576);
  t.equal(parseSize('2g'), 2 * 1024 ** 3);
  t.equal(parseSize('2G'), 2 * 1024 ** 3);
  for (const bad of ['', 'k', '1kb', '1t', '-1', '1.5k', '99999999999999999g']) t.throws(() => parseSize(bad), ValueError, bad);
});

t.test('integers', async (t) => {
  t.equal(parseInteger('42'), 42);
  t.equal(parseInteger('5', 1, 10), 5);
  t.throws(() => parseInteger('0', 1), /out of range/);
  t.throws(() => parseInteger('11', 1, 10), /out of range/);
  t.throws(() => parseInteger('-3'), /not a non-negative integer/);
  t.throws(() => parseInteger('3x'), ValueError);
});
