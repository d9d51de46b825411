// HAProxy's json converter: a string escaped to sit between double quotes in JSON. The input
// is read as bytes (ascii) or as UTF-8, whose errors either drop the sample (utf8, utf8p) or
// the faulty character (utf8s, utf8ps); the `p` variants let overlong encodings through.
export type JsonInput = 'ascii' | 'utf8' | 'utf8s' | 'utf8p' | 'utf8ps';
export const JSON_INPUTS: readonly JsonInput[] = ['ascii', 'utf8', 'utf8s', 'utf8p', 'utf8ps'];

const OVERLONG = 1;
const INVRANGE = 2;
const BADSEQ = 4;

/** HAProxy's utf8_next: the code point at `i`, how many bytes it took, and what was wrong. */
function utf8Next(b: string, i: number): { c: number; len: number; code: number } {
  const first = b.charCodeAt(i);
  const left = b.length - i;
  let dec: number;
  let c: number;
  if (first < 0x80) return { c: first, len: 1, code: 0 };
  if (first < 0xc0) return { c: first, len: 1, code: BADSEQ };
  if (first < 0xe0) { dec = 1; c = first & 0x1f; }
  else if (first < 0xf0) { dec = 2; c = first & 0x0f; }
  else if (first < 0xf8) { dec = 3; c = first & 0x07; }
  else if (first < 0xfc) { dec = 4; c = first & 0x03; }
  else if (first < 0xfe) { dec = 5; c = first & 0x01; }
  else return { c: first, len: 1, code: BADSEQ };
  if (left < dec + 1) return { c: first, len: 1, code: BADSEQ };
  let p = i + 1;
  for (; dec > 0; dec--, p++) {
    const n = b.charCodeAt(p);
    if ((n & 0xc0) !== 0x80) return { c, len: p - i, code: BADSEQ };
    c = c * 64 + (n & 0x3f);
  }
  const len = p - i;
  let code = 0;
  if ((c < 0x80 && len > 1) || (c < 0x800 && len > 2) || (c < 0x10000 && len > 3)) code |= OVERLONG;
  if ((c >= 0xd800 && c <= 0xdfff) || (c >= 0xfffe && c <= 0xffff)) code |= INVRANGE;
  return { c, len, code };
}

const SHORT: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x2f: '\\/', 0x08: '\\b', 0x0c: '\\f', 0x0d: '\\r', 0x0a: '\\n', 0x09: '\\t' };

/** The escaped text, or undefined when a strict mode meets invalid UTF-8. */
export function jsonEscape(bytes: string, input: JsonInput): string | undefined {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    let c: number;
    if (input === 'ascii') {
      c = bytes.charCodeAt(i++);
    } else {
      const r = utf8Next(bytes, i);
      i += r.len;
      c = r.c;
      const fatal = input === 'utf8' || input === 'utf8s' ? r.code !== 0 : (r.code & (INVRANGE | BADSEQ)) !== 0;
      if (fatal) {
        if (input === 'utf8' || input === 'utf8p') return undefined;
        continue;
      }
      if (c > 0xffff) {
        if (input === 'utf8' || input === 'utf8p') return undefined;
        continue;
      }
    }
    const short = SHORT[c];
    if (short !== undefined) out += short;
    else if (c > 0xff || c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += String.fromCharCode(c);
  }
  return out;
}
