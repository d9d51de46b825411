// HAProxy's time and size values. Callers turn a ValueError into a ConfigError with file:line.

/** A value that does not parse; the message says why, without the location, which the caller adds. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

export type TimeUnit = 'us' | 'ms' | 's' | 'm' | 'h' | 'd';

const US_PER_UNIT: Record<TimeUnit, number> = {
  us: 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
  d: 86_400_000_000,
};

// HAProxy stores timers as signed 32-bit milliseconds; anything larger overflows there.
const MAX_MS = 2_147_483_647;

/**
 * Parse an integer with an optional unit suffix (`10`, `10ms`, `2m`) into milliseconds.
 * A bare number uses `defaultUnit` (ms for timeouts, s for cookie maxidle/maxlife).
 * Microseconds round up so that a non-zero value never becomes zero.
 */
export function parseTime(text: string, defaultUnit: TimeUnit = 'ms'): number {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new ValueError(`invalid time value '${text}' (expected an integer with an optional unit: us, ms, s, m, h, d)`);
  const unit = (m[2] ?? defaultUnit) as TimeUnit;
  const us = Number(m[1]) * US_PER_UNIT[unit];
  const ms = Math.ceil(us / 1000);
  if (!Number.isSafeInteger(us) || ms > MAX_MS) throw new ValueError(`time value '${text}' is too large (maximum is ${MAX_MS} ms)`);
  return ms;
}

const BYTES_PER_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse `16384`, `16k`, `1M`, `2g` (1024-based, case-insensitive) into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  if (!m) throw new ValueError(`invalid size value '${text}' (expected an integer with an optional k, m or g suffix)`);
  const bytes = Number(m[1]) * BYTES_PER_SUFFIX[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new ValueError(`size value '${text}' is too large`);
  return bytes;
}

/** Parse a plain non-negative decimal integer within [min, max]. */
export function parseInteger(text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text)) throw new ValueError(`'${text}' is not a non-negative integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ValueError(`'${text}' is out of range (${min}..${max})`);
  return n;
}
