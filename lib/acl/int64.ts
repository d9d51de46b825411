// HAProxy's integer samples are signed 64-bit. Arithmetic is done on BigInt and clamped the way
// HAProxy's converters clamp; a result a JavaScript number cannot hold exactly is carried as its
// decimal text, so it prints exactly as HAProxy prints it.
export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

/** A 64-bit integer as a sample: a number when exact, else its decimal text. */
export function intSample(v: bigint): number | string {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
}

/**
 * HAProxy's read_int64: an optional sign and the digits that follow, saturating at the 64-bit
 * limits; `rest` is what was not read ("12abc" gives 12 and "abc", "abc" gives 0 and "abc").
 */
export function readInt64(text: string): { value: bigint; rest: string } {
  let i = 0;
  let neg = false;
  if (text[0] === '-') {
    neg = true;
    i++;
  } else if (text[0] === '+') i++;
  const start = i;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  let v = i > start ? BigInt(text.slice(start, i)) : 0n;
  if (neg) v = v > -INT64_MIN ? INT64_MIN : -v;
  else if (v > INT64_MAX) v = INT64_MAX;
  return { value: v, rest: text.slice(i) };
}

/** A whole-word integer argument (`djb2(1)`, `int(5)`); undefined when the word is not one. */
export function parseInt64(text: string): bigint | undefined {
  if (text === '') return undefined;
  const { value, rest } = readInt64(text);
  return rest === '' && /\d/.test(text) ? value : undefined;
}

/** HAProxy's arith_add: a sum beyond the 64-bit limits stops at the limit. */
export function add64(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s > INT64_MAX ? INT64_MAX : s < INT64_MIN ? INT64_MIN : s;
}

export function sub64(a: bigint, b: bigint): bigint {
  // As HAProxy: -INT64_MIN does not exist, so it adds INT64_MAX and then one more.
  if (b === INT64_MIN) {
    const r = add64(a, INT64_MAX);
    return r < INT64_MAX ? r + 1n : r;
  }
  return add64(a, -b);
}

export function mul64(a: bigint, b: bigint): bigint {
  if (a === 0n || b === 0n) return 0n;
  if (a === INT64_MIN && b === -1n) return INT64_MAX;
  const p = a * b;
  if (p > INT64_MAX || p < INT64_MIN) return (a < 0n) === (b < 0n) ? INT64_MAX : INT64_MIN;
  return p;
}

/** Truncating division; by zero gives INT64_MAX, as HAProxy's div does. */
export function div64(a: bigint, b: bigint): bigint {
  if (b === 0n) return INT64_MAX;
  if (a === INT64_MIN && b === -1n) return INT64_MAX;
  return a / b;
}

/** C's remainder (sign of the dividend); by zero gives 0, as HAProxy's mod does. */
export function mod64(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  if (a === INT64_MIN && b === -1n) return 0n;
  return a % b;
}

export function neg64(a: bigint): bigint {
  return a === INT64_MIN ? INT64_MAX : -a;
}
