// Sample converters: `%[fetch,lower,map(file.map,default)]`. Each entry checks its arguments
// at configuration time and returns the function applied to each sample.
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

export const CONVERTERS: ReadonlyMap<string, ConverterDef> = new Map<string, ConverterDef>([
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
