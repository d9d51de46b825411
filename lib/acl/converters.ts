// Sample converters: `%[fetch,lower,map(file.map,default)]`. Each entry checks its arguments
// at configuration time and returns the function applied to each sample.
import net from 'node:net';
import { compileMatcher, PatternError, type MatchMethod } from './pattern-match.js';
import { readMapFile } from './pattern-file.js';
import { sampleToString, type Sample } from './sample.js';

export class ConverterError extends Error {}

export type Converter = (s: Sample) => Sample | undefined;

interface ConverterDef {
  minArgs: number;
  maxArgs: number;
  make(args: readonly string[]): Converter;
}

const str = (s: Sample) => sampleToString(s);

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
  return compressIpv6(out);
}

function expandIpv6(addr: string): number[] {
  let text = addr;
  const tail: number[] = [];
  if (text.includes('.')) {
    // an embedded IPv4 address (`::ffff:1.2.3.4`) is the last two groups
    const colon = text.lastIndexOf(':');
    const o = text.slice(colon + 1).split('.').map(Number);
    tail.push(o[0]! * 256 + o[1]!, o[2]! * 256 + o[3]!);
    text = text.endsWith('::', colon + 1) ? text.slice(0, colon + 1) : text.slice(0, colon);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return [...parse(text), ...tail];
  const left = parse(text.slice(0, gap));
  const right = [...parse(text.slice(gap + 2)), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function compressIpv6(groups: number[]): string {
  // The longest run of zero groups (two or more) becomes '::', as RFC 5952 writes it.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
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

export const CONVERTERS: ReadonlyMap<string, ConverterDef> = new Map<string, ConverterDef>([
  ['ipmask', {
    minArgs: 1, maxArgs: 2,
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
  ['base64', { minArgs: 0, maxArgs: 0, make: () => (s) => Buffer.from(str(s), 'latin1').toString('base64') }],
  ['hex', { minArgs: 0, maxArgs: 0, make: () => (s) => Buffer.from(str(s), 'latin1').toString('hex').toUpperCase() }],
  ['length', { minArgs: 0, maxArgs: 0, make: () => (s) => str(s).length }],
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
