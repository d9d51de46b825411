// ACL pattern matching (HAProxy's -m methods): each method compiles its patterns once into a
// predicate over one sample. Integer patterns take the operators eq/ge/gt/le/lt and ranges.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Sample } from './sample.js';

export type MatchMethod = 'str' | 'beg' | 'end' | 'sub' | 'reg' | 'dom' | 'dir' | 'len' | 'found' | 'bool' | 'int' | 'ip';

export const MATCH_METHODS: readonly MatchMethod[] = ['str', 'beg', 'end', 'sub', 'reg', 'dom', 'dir', 'len', 'found', 'bool', 'int', 'ip'];

export type SampleMatcher = (s: Sample) => boolean;

/** A bad pattern; the caller turns it into a ConfigError for its line. */
export class PatternError extends Error {}

const INT_OPS = new Set(['eq', 'ge', 'gt', 'le', 'lt']);

/** `patterns` are the words after the fetch and flags (operators are separate words). */
export function compileMatcher(method: MatchMethod, patterns: readonly string[], icase: boolean): SampleMatcher {
  switch (method) {
    case 'found':
      if (patterns.length > 0) throw new PatternError(`'-m found' takes no pattern (got '${patterns[0]}')`);
      return () => true;
    case 'bool':
      if (patterns.length > 0) throw new PatternError(`boolean match takes no pattern (got '${patterns[0]}')`);
      return (s) => (typeof s === 'string' ? s !== '' && s !== '0' : Boolean(s));
    case 'int': {
      const tests = intPatterns(patterns);
      return (s) => {
        const n = typeof s === 'number' ? s : typeof s === 'boolean' ? Number(s) : toInt(s);
        return n !== undefined && tests.some((t) => t(n));
      };
    }
    case 'len': {
      const tests = intPatterns(patterns);
      return (s) => {
        const n = String(s).length;
        return tests.some((t) => t(n));
      };
    }
    case 'ip':
      return ipMatcher(patterns);
    case 'reg': {
      const res = patterns.map((p) => {
        try {
          return new RegExp(p, icase ? 'i' : '');
        } catch (err) {
          throw new PatternError(`invalid regex '${p}': ${(err as Error).message}`);
        }
      });
      return (s) => {
        const v = String(s);
        return res.some((r) => r.test(v));
      };
    }
    default:
      return stringMatcher(method, patterns, icase);
  }
}

function stringMatcher(method: MatchMethod, patterns: readonly string[], icase: boolean): SampleMatcher {
  const pats = icase ? patterns.map((p) => p.toLowerCase()) : [...patterns];
  const norm = icase ? (s: Sample) => String(s).toLowerCase() : (s: Sample) => String(s);
  switch (method) {
    case 'str': {
      const set = new Set(pats);
      return (s) => set.has(norm(s));
    }
    case 'beg':
      return (s) => {
        const v = norm(s);
        return pats.some((p) => v.startsWith(p));
      };
    case 'end':
      return (s) => {
        const v = norm(s);
        return pats.some((p) => v.endsWith(p));
      };
    case 'sub':
      return (s) => {
        const v = norm(s);
        return pats.some((p) => v.includes(p));
      };
    case 'dom':
      return (s) => {
        const v = norm(s);
        return pats.some((p) => matchWord(v, p, '/?.:'));
      };
    case 'dir':
      return (s) => {
        const v = norm(s);
        return pats.some((p) => matchWord(v, p, '/?'));
      };
    /* c8 ignore next 2 */
    default:
      throw new PatternError(`unknown match method '${method}'`);
  }
}

/**
 * HAProxy's match_word: the pattern (with its own leading and trailing delimiters ignored)
 * must appear in the sample bounded by delimiters or by the ends of the sample.
 */
export function matchWord(sample: string, pattern: string, delims: string): boolean {
  let p = pattern;
  while (p.length > 0 && delims.includes(p[0]!)) p = p.slice(1);
  while (p.length > 0 && delims.includes(p[p.length - 1]!)) p = p.slice(0, -1);
  if (p === '') return false;
  let from = 0;
  for (;;) {
    const i = sample.indexOf(p, from);
    if (i < 0) return false;
    const before = i === 0 || delims.includes(sample[i - 1]!);
    const j = i + p.length;
    const after = j === sample.length || delims.includes(sample[j]!);
    if (before && after) return true;
    from = i + 1;
  }
}

function toInt(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s.trim()) ? Number(s.trim()) : undefined;
}

function intPatterns(patterns: readonly string[]): Array<(n: number) => boolean> {
  const out: Array<(n: number) => boolean> = [];
  const parseInt = (text: string): number => {
    const n = toInt(text);
    if (n === undefined) throw new PatternError(`'${text}' is not an integer`);
    return n;
  };
  for (let i = 0; i < patterns.length; i++) {
    const w = patterns[i]!;
    if (INT_OPS.has(w)) {
      const v = patterns[++i];
      if (v === undefined) throw new PatternError(`missing value after operator '${w}'`);
      const n = parseInt(v);
      out.push(w === 'eq' ? (x) => x === n : w === 'ge' ? (x) => x >= n : w === 'gt' ? (x) => x > n : w === 'le' ? (x) => x <= n : (x) => x < n);
      continue;
    }
    const colon = w.indexOf(':');
    if (colon >= 0) {
      const lo = colon === 0 ? -Infinity : parseInt(w.slice(0, colon));
      const hi = colon === w.length - 1 ? Infinity : parseInt(w.slice(colon + 1));
      out.push((x) => x >= lo && x <= hi);
    } else {
      const n = parseInt(w);
      out.push((x) => x === n);
    }
  }
  return out;
}

function ipMatcher(patterns: readonly string[]): SampleMatcher {
  const list = new BlockList();
  for (const p of patterns) {
    const slash = p.indexOf('/');
    const addr = slash < 0 ? p : p.slice(0, slash);
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    if (!type) throw new PatternError(`'${p}' is not an IP address or network`);
    let prefix = type === 'ipv4' ? 32 : 128;
    if (slash >= 0) {
      const m = p.slice(slash + 1);
      if (type === 'ipv4' && isIPv4(m)) prefix = maskBits(m);
      else if (/^\d+$/.test(m) && Number(m) <= prefix) prefix = Number(m);
      else throw new PatternError(`'${p}' has an invalid mask`);
    }
    list.addSubnet(addr, prefix, type);
  }
  return (s) => {
    let v = String(s);
    if (v.startsWith('::ffff:') && isIPv4(v.slice(7))) v = v.slice(7);
    if (isIPv4(v)) return list.check(v, 'ipv4');
    if (isIPv6(v)) return list.check(v, 'ipv6');
    return false;
  };
}

function maskBits(mask: string): number {
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  let bits = 0;
  for (let b = 31; b >= 0 && (n & (2 ** b)) !== 0; b--) bits++;
  return bits;
}
