// The dates HAProxy appends to an inserted persistence cookie with `maxidle` / `maxlife`:
// `SRV|LLLLL` (last seen) or `SRV|LLLLL|FFFFF` (last seen, first seen). Each is 5 characters of
// the standard base64 alphabet holding a 30-bit count of 4-second quanta since the epoch.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const REVERSE = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Encodes unix seconds as HAProxy does when it emits a date: (seconds + 3) >> 2. */
export function encodeCookieDate(unixSeconds: number): string {
  return encodeQuanta((unixSeconds + 3) >>> 2);
}

/** Encodes a 30-bit quanta count (s30tob64). */
export function encodeQuanta(quanta: number): string {
  let out = '';
  for (let shift = 24; shift >= 0; shift -= 6) out += ALPHABET[(quanta >>> shift) & 0x3f];
  return out;
}

/** Decodes 5 characters to unix seconds (quanta << 2), or undefined when not a valid date. */
export function decodeCookieDate(text: string): number | undefined {
  if (text.length < 5) return undefined;
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const d = REVERSE.get(text[i]!);
    if (d === undefined) return undefined;
    v = v * 64 + d;
  }
  return v > 0 ? v * 4 : undefined;
}

export interface CookieValueParts {
  /** the server's cookie value */
  server: string;
  /** last-seen date, unix seconds */
  last?: number;
  /** first-seen date, unix seconds */
  first?: number;
}

/** Splits `SRV|LLLLL|FFFFF` (the dates are optional and may be malformed: then ignored). */
export function splitCookieValue(value: string): CookieValueParts {
  const bar = value.indexOf('|');
  if (bar === -1) return { server: value };
  const parts: CookieValueParts = { server: value.slice(0, bar) };
  const rest = value.slice(bar + 1);
  const last = decodeCookieDate(rest);
  if (last !== undefined) parts.last = last;
  const bar2 = rest.indexOf('|');
  if (bar2 !== -1 && rest.length - bar2 > 5) {
    const first = decodeCookieDate(rest.slice(bar2 + 1));
    if (first !== undefined) parts.first = first;
  }
  return parts;
}
