// What a keyword parser sees of its line, with helpers that turn bad values into
// ConfigErrors pointing at that line.
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { parseInteger, parseSize, parseTime, ValueError, type TimeUnit } from './units.js';
import type { ProxyKind, SourceLocation } from './types.js';

export type SectionKind = 'global' | 'defaults' | 'redis' | ProxyKind;

export interface KeywordContext {
  readonly where: SourceLocation;
  /** The keyword as looked up, e.g. 'maxconn' or 'timeout connect'. */
  readonly keyword: string;
  /** The words after the keyword. */
  readonly args: readonly string[];
  /** True for `no option X`. */
  readonly negated: boolean;
  readonly section: SectionKind;
  /** Throw a ConfigError whose message starts with `'LABEL' : ` (LABEL defaults to the keyword). */
  fail(detail: string, code?: ConfigErrorCode, label?: string): never;
  /** The argument at `index`, or an error saying which argument is missing. */
  arg(index: number, what: string): string;
  /** Error if there are arguments from `index` on. */
  noArgsFrom(index: number): void;
  time(text: string, what: string, unit?: TimeUnit): number;
  size(text: string, what: string): number;
  int(text: string, what: string, min?: number, max?: number): number;
  /** The same context, with messages starting `'LABEL' : ` (e.g. `'server web1' : `). */
  withLabel(label: string): KeywordContext;
}

export function keywordContext(
  where: SourceLocation,
  keyword: string,
  args: readonly string[],
  negated: boolean,
  section: SectionKind,
  defaultLabel: string = keyword,
): KeywordContext {
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE, label = defaultLabel): never => {
    throw new ConfigError(code, where, keyword, `'${label}' : ${detail}`);
  };
  const wrap = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof ValueError) return fail(`${what}: ${err.message}`);
      /* c8 ignore next 2 */
      throw err;
    }
  };
  return {
    where,
    keyword,
    args,
    negated,
    section,
    fail,
    arg(index, what) {
      const value = args[index];
      if (value === undefined) return fail(`missing ${what}`, ConfigErrorCode.MISSING_ARGUMENT);
      return value;
    },
    noArgsFrom(index) {
      if (args.length > index) fail(`unexpected argument '${args[index]}'`, ConfigErrorCode.UNKNOWN_OPTION);
    },
    time: (text, what, unit = 'ms') => wrap(what, () => parseTime(text, unit)),
    size: (text, what) => wrap(what, () => parseSize(text)),
    int: (text, what, min = 0, max = Number.MAX_SAFE_INTEGER) => wrap(what, () => parseInteger(text, min, max)),
    withLabel: (label) => keywordContext(where, keyword, args, negated, section, label),
  };
}

/** One entry of a section's keyword table. */
export interface Keyword<T> {
  /** Section types that accept the keyword (HAProxy's keyword matrix). */
  readonly sections: readonly SectionKind[];
  /** Whether `no KEYWORD` is meaningful. */
  readonly negatable?: boolean;
  parse(target: T, ctx: KeywordContext): void;
}

export type KeywordTable<T> = ReadonlyMap<string, Keyword<T>>;
