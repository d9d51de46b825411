// Sample converters: `%[fetch,lower,map(file.map,default)]`. Each entry says what type it reads
// (the sample is cast to it first, as HAProxy does) and what it gives, checks its arguments at
// configuration time and returns the function applied to each sample.
import { createHash, getHashes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { crc32, djb2, fullHash, sdbm, wt6 } from '../balance/hash-functions.js';
import { xxh32 } from '../balance/xxh32.js';
import { xxh64 } from '../persist/xxh64.js';
import { crc32c } from './crc32c.js';
import { add64, div64, intSample, mod64, mul64, neg64, parseInt64, sub64 } from './int64.js';
import { JSON_INPUTS, jsonEscape, type JsonInput } from './json-escape.js';
import { compileMatcher, PatternError, type MatchMethod } from './pattern-match.js';
import { readMapFile } from './pattern-file.js';
import { gmtime, localtime, strftime } from './strftime.js';
import { castToBytes, castToInt, expandIpv6, formatIpv6, type ChainType, type InputType } from './sample-cast.js';
import { sampleToString, type Sample, type SampleContext } from './sample.js';

export class ConverterError extends Error {}

/** Applied to each sample; `ctx` is there for the converters reading variables. */
export type Converter = (s: Sample, ctx?: SampleContext) => Sample | undefined;

export interface ConverterDef {
  minArgs: number;
  maxArgs: number;
  /** what the sample is cast to before the converter sees it (default 'str') */
  in?: InputType;
  /** the type it gives (default 'str') */
  out?: ChainType;
  /** `input`: the type of the sample reaching the converter, known at configuration time */
  make(args: readonly string[], input?: ChainType): Converter;
}

const str = (s: Sample) => sampleToString(s);

/** An optional integer argument (HAProxy's SINT), refused in HAProxy's words; written but empty, it is 0. */
function sintArg(args: readonly string[], index: number): bigint | undefined {
  const text = args[index];
  if (text === undefined) return undefined;
  if (text === '') return 0n;
  const v = parseInt64(text);
  if (v === undefined) throw new ConverterError(`failed to parse '${text}' as type 'integer' at position ${index + 1}`);
  return v;
}

function intArg(text: string | undefined, what: string, fallback?: number): number {
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw new ConverterError(`missing ${what}`);
  }
  if (!/^[+-]?\d+$/.test(text)) throw new ConverterError(`${what} '${text}' is not an integer`);
  return Number(text);
}

/** HAProxy's field/word: 1-based index (negative counts from the end), `count` fields joined (0: all following). */
function pick(parts: string[], index: number, count: number, joiner: string): string | undefined {
  if (index === 0) return undefined;
  let start: number;
  let end: number;
  if (index > 0) {
    start = index - 1;
    end = count === 0 ? parts.length : start + count;
  } else {
    end = parts.length + index + 1;
    start = count === 0 ? 0 : end - count;
  }
  if (start < 0 || start >= parts.length) return undefined;
  return parts.slice(Math.max(0, start), Math.min(parts.length, end)).join(joiner);
}

function splitter(delims: string): RegExp {
  return new RegExp(`[${delims.replace(/[\]\\^-]/g, '\\$&')}]`);
}

function mapConverter(method: MatchMethod): ConverterDef {
  return {
    minArgs: 1,
    maxArgs: 2,
    make(args) {
      let entries: Array<[string, string]>;
      try {
        entries = readMapFile(args[0]!);
      } catch (err) {
        throw new ConverterError((err as Error).message);
      }
      const fallback = args[1];
      if (method === 'str') {
        const table = new Map<string, string>();
        for (const [k, v] of entries) if (!table.has(k)) table.set(k, v);
        return (s) => table.get(str(s)) ?? fallback;
      }
      // First matching line wins, as HAProxy's list-based map lookups do.
      const rows: Array<[(s: Sample) => boolean, string]> = entries.map(([k, v]) => {
        try {
          return [compileMatcher(method, [k], false), v];
        } catch (err) {
          if (err instanceof PatternError) throw new ConverterError(`map file '${args[0]}': ${err.message}`);
          throw err;
        }
      });
      return (s) => {
        for (const [match, v] of rows) if (match(str(s))) return v;
        return fallback;
      };
    },
  };
}

/** A mask as a prefix length or, for IPv4, a dotted netmask: the number of leading one bits. */
function maskBits(text: string, family: 4 | 6): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n <= (family === 4 ? 32 : 128)) return n;
  } else if (family === 4 && net.isIPv4(text)) {
    const v = text.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const bits = v.toString(2).padStart(32, '0');
    if (/^1*0*$/.test(bits)) return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
  }
  throw new ConverterError(`invalid IPv${family} mask '${text}'`);
}

const IPV4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i;

/** The IPv6 address with every bit after the first `bits` cleared. */
function maskIpv6(addr: string, bits: number): string {
  const out = expandIpv6(addr).map((w, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : w & (0xffff ^ ((1 << (16 - keep)) - 1));
  });
  return formatIpv6(out);
}

/**
 * HAProxy's url_dec: %XX to its byte; '+' to a space in a query string (after '?', or
 * everywhere with in_form). A malformed escape gives no sample.
 */
function urlDecode(text: string, inForm: boolean): string | undefined {
  let out = '';
  let query = inForm;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c === '+' && query) {
      out += ' ';
    } else {
      if (c === '?') query = true;
      out += c;
    }
  }
  return out;
}

/** A binary sample as a string of bytes (a string stays itself). */
function bytesOf(s: Sample, input: ChainType): string {
  return typeof s === 'string' && input !== 'ip' && input !== 'int' ? s : castToBytes(s, input).toString('latin1');
}

/** A variable name as HAProxy's vars_check_arg accepts it: scope, dot, name. */
const VAR_NAME = /^(?:proc|sess|txn|req|res|check)\.[A-Za-z0-9_.]+$/;

/** The variable's value as an integer, when it is set and has one. */
function varInt(name: string, ctx: SampleContext | undefined): bigint | undefined {
  const v = ctx?.vars.get(name);
  return v === undefined ? undefined : castToInt(v, typeof v === 'string' ? 'str' : 'int');
}

/**
 * HAProxy's check_operator: the second operand of add, sub, and... is an integer or the name
 * of a variable read at run time (a variable not set gives no sample).
 */
function operand(args: readonly string[]): (ctx: SampleContext | undefined) => bigint | undefined {
  const text = args[0];
  // HAProxy accepts the converter without an argument and reads it as 0 (`add` adds nothing)
  if (text === undefined) return () => 0n;
  if (VAR_NAME.test(text)) return (ctx) => varInt(text, ctx);
  const v = text === '' ? 0n : parseInt64(text);
  if (v === undefined) throw new ConverterError('expects an integer or a variable name');
  return () => v;
}

function arithmetic(op: (a: bigint, b: bigint) => bigint): ConverterDef {
  return {
    minArgs: 0, maxArgs: 1, in: 'int', out: 'int',
    make(args, input = 'str') {
      const b = operand(args);
      return (s, ctx) => {
        const x = castToInt(s, input);
        const y = x === undefined ? undefined : b(ctx);
        return y === undefined ? undefined : intSample(op(x!, y));
      };
    },
  };
}

function unary(out: 'int' | 'bool', op: (a: bigint) => bigint | boolean): ConverterDef {
  return {
    minArgs: 0, maxArgs: 0, in: 'int', out,
    make(_args, input = 'str') {
      return (s) => {
        const x = castToInt(s, input);
        if (x === undefined) return undefined;
        const r = op(x);
        return typeof r === 'boolean' ? r : intSample(r);
      };
    },
  };
}

/** djb2, sdbm, wt6, crc32, crc32c: an unsigned 32-bit hash of the bytes, `avalanche` when the argument is not 0. */
function hash32(fn: (key: Uint8Array) => number): ConverterDef {
  return {
    minArgs: 0, maxArgs: 1, in: 'bin', out: 'int',
    make(args, input = 'str') {
      const avalanche = (sintArg(args, 0) ?? 0n) !== 0n;
      return (s) => {
        const h = fn(castToBytes(s, input));
        return avalanche ? fullHash(h) : h;
      };
    },
  };
}

/** HAProxy's base64dec: whole quads only, padding only at the end; anything else has no value. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const SHA2_BITS = new Set([224, 256, 384, 512]);

function trim(side: 'left' | 'right'): ConverterDef {
  return {
    minArgs: 0, maxArgs: 1,
    make(args) {
      const chars = new Set(args[0] ?? '');
      return (s) => {
        const v = str(s);
        let a = 0;
        let b = v.length;
        if (side === 'left') while (a < b && chars.has(v[a]!)) a++;
        else while (b > a && chars.has(v[b - 1]!)) b--;
        return v.slice(a, b);
      };
    },
  };
}

/** A converter reading a variable (strcmp, secure_memcmp): its name must be one HAProxy accepts. */
function varArg(args: readonly string[]): string {
  const name = args[0] ?? '';
  if (!VAR_NAME.test(name)) throw new ConverterError(`failed to register variable name '${name}'`);
  return name;
}

const TIME_UNITS: Record<string, 's' | 'ms' | 'us'> = { s: 's', ms: 'ms', us: 'us' };

/** HAProxy masks a date to 55 bits before formatting it, so a negative one is far in the future. */
const dateBits = (v: bigint): bigint => v & 0x007fffffffffffffn;

const HTTP_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const HTTP_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** utime and ltime: strftime of the integer date plus an optional offset in seconds. */
function timeFormat(local: boolean): ConverterDef {
  return {
    minArgs: 1, maxArgs: 2, in: 'int',
    make(args, input = 'str') {
      const format = args[0]!;
      const offset = sintArg(args, 1) ?? 0n;
      return (s) => {
        const v = castToInt(s, input);
        if (v === undefined) return undefined;
        const epoch = dateBits(v) + offset;
        return strftime(format, local ? localtime(epoch) : gmtime(epoch));
      };
    },
  };
}

export const CONVERTERS: ReadonlyMap<string, ConverterDef> = new Map<string, ConverterDef>([
  ['ipmask', {
    minArgs: 1, maxArgs: 2, in: 'addr', out: 'ip',
    // HAProxy's ipmask(mask4[,mask6]): an IPv6 address without mask6 gives no sample.
    make(args) {
      const v4 = maskBits(args[0]!, 4);
      const v6 = args[1] === undefined ? undefined : maskBits(args[1], 6);
      const mask = v4 === 0 ? 0 : (0xffffffff << (32 - v4)) >>> 0;
      return (s) => {
        const addr = str(s);
        // IPv4 (or IPv4-mapped IPv6, as HAProxy's src gives for a dual-stack listener) on a fast path
        const m = IPV4.exec(addr);
        if (m && Number(m[1]) < 256 && Number(m[2]) < 256 && Number(m[3]) < 256 && Number(m[4]) < 256) {
          const n = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) & mask;
          return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        }
        if (v6 !== undefined && net.isIPv6(addr)) return maskIpv6(addr, v6);
        return undefined;
      };
    },
  }],
  ['url_dec', {
    minArgs: 0, maxArgs: 1,
    make(args) {
      const inForm = intArg(args[0], 'in_form', 0) !== 0;
      return (s) => urlDecode(str(s), inForm);
    },
  }],
  ['lower', { minArgs: 0, maxArgs: 0, make: () => (s) => str(s).toLowerCase() }],
  ['upper', { minArgs: 0, maxArgs: 0, make: () => (s) => str(s).toUpperCase() }],
  ['base64', { minArgs: 0, maxArgs: 0, in: 'bin', make: (_a, input = 'str') => (s) => castToBytes(s, input).toString('base64') }],
  ['b64dec', {
    minArgs: 0, maxArgs: 0, out: 'bin',
    make: () => (s) => {
      const v = str(s);
      return BASE64.test(v) ? Buffer.from(v, 'base64').toString('latin1') : undefined;
    },
  }],
  ['hex', { minArgs: 0, maxArgs: 0, in: 'bin', make: (_a, input = 'str') => (s) => castToBytes(s, input).toString('hex').toUpperCase() }],
  ['hex2i', {
    minArgs: 0, maxArgs: 0, out: 'int',
    // the digits shifted into a 64-bit integer, which wraps as HAProxy's does
    make: () => (s) => {
      const v = str(s);
      if (!/^[0-9a-fA-F]*$/.test(v)) return undefined;
      return v === '' ? 0 : intSample(BigInt.asIntN(64, BigInt(`0x${v}`)));
    },
  }],
  ['length', { minArgs: 0, maxArgs: 0, out: 'int', make: () => (s) => str(s).length }],
  ['bytes', {
    minArgs: 1, maxArgs: 2, in: 'bin', out: 'bin',
    make(args, input = 'str') {
      const offset = sintArg(args, 0);
      const length = sintArg(args, 1);
      if (offset === undefined) throw new ConverterError('missing offset');
      // HAProxy does not check these and reads outside the sample; refuse them instead
      if (offset < 0n) throw new ConverterError(`offset '${args[0]}' is negative`);
      if (length !== undefined && length < 0n) throw new ConverterError(`length '${args[1]}' is negative`);
      const from = Number(offset);
      const len = length === undefined ? undefined : Number(length);
      return (s) => {
        const b = bytesOf(s, input);
        if (b.length <= from) return '';
        const rest = b.slice(from);
        return len !== undefined && len < rest.length ? rest.slice(0, len) : rest;
      };
    },
  }],
  ['concat', {
    minArgs: 0, maxArgs: 3,
    make(args) {
      const [before = '', name = '', after = ''] = args;
      if (name !== '' && !VAR_NAME.test(name)) throw new ConverterError(`failed to register variable name '${name}'`);
      return (s, ctx) => {
        const v = name === '' ? undefined : ctx?.vars.get(name);
        return str(s) + before + (v === undefined ? '' : str(v)) + after;
      };
    },
  }],
  ['ltrim', trim('left')],
  ['rtrim', trim('right')],
  ['json', {
    minArgs: 0, maxArgs: 1,
    make(args) {
      const input = (args[0] || 'ascii') as JsonInput;
      if (!JSON_INPUTS.includes(input)) throw new ConverterError("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'");
      return (s) => jsonEscape(str(s), input);
    },
  }],
  ['sha1', { minArgs: 0, maxArgs: 0, in: 'bin', out: 'bin', make: (_a, input = 'str') => (s) => createHash('sha1').update(castToBytes(s, input)).digest().toString('latin1') }],
  ['sha2', {
    minArgs: 0, maxArgs: 1, in: 'bin', out: 'bin',
    make(args, input = 'str') {
      const bits = Number(sintArg(args, 0) ?? 256n);
      if (!SHA2_BITS.has(bits)) throw new ConverterError(`Unsupported number of bits: '${bits}'`);
      return (s) => createHash(`sha${bits}`).update(castToBytes(s, input)).digest().toString('latin1');
    },
  }],
  ['djb2', hash32(djb2)],
  ['sdbm', hash32(sdbm)],
  ['wt6', hash32(wt6)],
  ['crc32', hash32(crc32)],
  ['crc32c', hash32(crc32c)],
  ['xxh32', {
    minArgs: 0, maxArgs: 1, in: 'bin', out: 'int',
    make(args, input = 'str') {
      const seed = Number(BigInt.asUintN(32, sintArg(args, 0) ?? 0n));
      return (s) => xxh32(castToBytes(s, input), seed);
    },
  }],
  ['xxh64', {
    minArgs: 0, maxArgs: 1, in: 'bin', out: 'int',
    // HAProxy stores the unsigned hash in a signed 64-bit integer: half the values are negative
    make(args, input = 'str') {
      const seed = BigInt.asUintN(64, sintArg(args, 0) ?? 0n);
      return (s) => intSample(BigInt.asIntN(64, xxh64(castToBytes(s, input), seed)));
    },
  }],
  ['url_enc', {
    minArgs: 0, maxArgs: 1,
    make(args) {
      if (args[0] !== undefined && args[0] !== 'query') throw new ConverterError(`Unexpected encode type. Allowed value is 'query'`);
      // every byte but letters, digits and - . _ ~ as %XX
      return (s) => str(s).replace(/[^A-Za-z0-9\-._~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    },
  }],
  ['cut_crlf', { minArgs: 0, maxArgs: 0, make: () => (s) => str(s).split(/[\r\n]/, 1)[0]! }],
  ['strcmp', {
    minArgs: 1, maxArgs: 1, out: 'int',
    // glibc's strncmp over the shorter length (the difference of the first differing bytes), then -1/1 by length
    make(args) {
      const name = varArg(args);
      return (s, ctx) => {
        const v = ctx?.vars.get(name);
        if (v === undefined) return undefined;
        const a = str(s);
        const b = str(v);
        const n = Math.min(a.length, b.length);
        for (let i = 0; i < n; i++) {
          const d = a.charCodeAt(i) - b.charCodeAt(i);
          if (d !== 0) return d;
          if (a.charCodeAt(i) === 0) return 0;
        }
        return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
      };
    },
  }],
  ['secure_memcmp', {
    minArgs: 1, maxArgs: 1, out: 'bool',
    make(args) {
      const name = varArg(args);
      return (s, ctx) => {
        const v = ctx?.vars.get(name);
        if (v === undefined) return undefined;
        const a = Buffer.from(str(s), 'latin1');
        const b = Buffer.from(str(v), 'latin1');
        return a.length === b.length && timingSafeEqual(a, b);
      };
    },
  }],
  ['digest', {
    minArgs: 1, maxArgs: 1, in: 'bin', out: 'bin',
    make(args, input = 'str') {
      const alg = args[0]!.toLowerCase();
      if (!getHashes().includes(alg)) throw new ConverterError(`failed to get digest '${args[0]}'`);
      return (s) => createHash(alg).update(castToBytes(s, input)).digest().toString('latin1');
    },
  }],
  ['http_date', {
    minArgs: 0, maxArgs: 2, in: 'int',
    // an RFC 7231 date; with ms or us the input is in that unit and the fraction is printed (unpadded, as HAProxy does)
    make(args, input = 'str') {
      const offset = sintArg(args, 0) ?? 0n;
      const unit = args[1] ? TIME_UNITS[args[1]] : 's';
      if (unit === undefined) throw new ConverterError(`expects 's', 'ms' or 'us', got '${args[1]}'`);
      const per = unit === 'ms' ? 1000n : unit === 'us' ? 1000000n : 1n;
      return (s) => {
        const v0 = castToInt(s, input);
        if (v0 === undefined) return undefined;
        const v = BigInt.asIntN(64, v0 + offset);
        const frac = v % per;
        const tm = gmtime(dateBits(v / per));
        const two = (n: number) => String(n).padStart(2, '0');
        const when = `${HTTP_DAYS[tm.wday]}, ${two(tm.mday)} ${HTTP_MONTHS[tm.mon]} ${String(tm.year).padStart(4, '0')} ${two(tm.hour)}:${two(tm.min)}:${two(tm.sec)}`;
        return per === 1n ? `${when} GMT` : `${when}.${frac} GMT`;
      };
    },
  }],
  ['utime', timeFormat(false)],
  ['ltime', timeFormat(true)],
  ['add', arithmetic(add64)],
  ['sub', arithmetic(sub64)],
  ['mul', arithmetic(mul64)],
  ['div', arithmetic(div64)],
  ['mod', arithmetic(mod64)],
  ['and', arithmetic((a, b) => a & b)],
  ['or', arithmetic((a, b) => a | b)],
  ['xor', arithmetic((a, b) => a ^ b)],
  ['neg', unary('int', neg64)],
  ['cpl', unary('int', (a) => ~a)],
  ['bool', unary('bool', (a) => a !== 0n)],
  ['not', unary('bool', (a) => a === 0n)],
  ['odd', unary('bool', (a) => (a & 1n) === 1n)],
  ['even', unary('bool', (a) => (a & 1n) === 0n)],
  ['field', {
    minArgs: 2, maxArgs: 3,
    make(args) {
      const index = intArg(args[0], 'field index');
      const count = intArg(args[2], 'field count', 1);
      const re = splitter(args[1]!);
      const joiner = args[1]![0]!;
      return (s) => pick(str(s).split(re), index, count, joiner);
    },
  }],
  ['word', {
    minArgs: 2, maxArgs: 3,
    make(args) {
      const index = intArg(args[0], 'word index');
      const count = intArg(args[2], 'word count', 1);
      const re = splitter(args[1]!);
      const joiner = args[1]![0]!;
      return (s) => pick(str(s).split(re).filter((w) => w !== ''), index, count, joiner);
    },
  }],
  ['regsub', {
    minArgs: 2, maxArgs: 3,
    make(args) {
      const flags = args[2] ?? '';
      if (!/^[ig]*$/.test(flags)) throw new ConverterError(`regsub flags '${flags}' (expected 'i' and/or 'g')`);
      let re: RegExp;
      try {
        re = new RegExp(args[0]!, flags);
      } catch (err) {
        throw new ConverterError(`invalid regex '${args[0]}': ${(err as Error).message}`);
      }
      // HAProxy writes back-references as \1; JavaScript's replace wants $1.
      const subst = args[1]!.replace(/\$/g, '$$$$').replace(/\\([0-9])/g, '$$$1');
      return (s) => str(s).replace(re, subst);
    },
  }],
  ['map', mapConverter('str')],
  ['map_str', mapConverter('str')],
  ['map_beg', mapConverter('beg')],
  ['map_end', mapConverter('end')],
  ['map_sub', mapConverter('sub')],
  ['map_dom', mapConverter('dom')],
  ['map_dir', mapConverter('dir')],
  ['map_reg', mapConverter('reg')],
  ['map_ip', mapConverter('ip')],
  ['map_int', mapConverter('int')],
]);
