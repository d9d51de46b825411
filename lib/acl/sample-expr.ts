// Sample expressions, `fetch(args),converter(args),...`: used by ACLs, `%[...]` in
// log-format strings, dynamic use_backend names and set-var. Compiled once per config line.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import { splitCalls } from './call-syntax.js';
import { ConverterError, CONVERTERS, type Converter } from './converters.js';
import { FETCHES } from './fetches.js';
import { canCast, type ChainType } from './sample-cast.js';
import type { Phase, Sample, SampleContext, SampleType } from './sample.js';

export interface SampleExpr {
  readonly text: string;
  readonly fetchName: string;
  readonly type: SampleType;
  readonly phase: Phase | undefined;
  /** Every value, for ACL matching. */
  all(ctx: SampleContext): Sample[];
  /** The one value a log-format or action uses. */
  one(ctx: SampleContext): Sample | undefined;
}

/** Names a fetch argument refers to (userlists, backends), reported to whoever parses the line. */
export type ReferenceSink = (kind: 'userlist' | 'backend', name: string, where: SourceLocation) => void;
let referenceSink: ReferenceSink | undefined;

/** Runs `parse` with `sink` told of every userlist or backend a fetch names. */
export function collectReferences<T>(sink: ReferenceSink, parse: () => T): T {
  const previous = referenceSink;
  referenceSink = sink;
  try {
    return parse();
  } finally {
    referenceSink = previous;
  }
}

export function compileSampleExpr(text: string, where: SourceLocation, keyword: string): SampleExpr {
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE): never => {
    throw new ConfigError(code, where, keyword, `'${keyword}' : ${detail}`);
  };
  const calls = splitCalls(text, where, keyword);
  const [first, ...rest] = calls;
  const def = FETCHES.get(first!.name);
  if (!def) return fail(`unknown fetch method '${first!.name}' in '${text}'`, ConfigErrorCode.UNSUPPORTED);
  const args = first!.args;
  if (args.length < def.minArgs) fail(`fetch method '${first!.name}' expects at least ${def.minArgs} argument(s) in '${text}'`, ConfigErrorCode.MISSING_ARGUMENT);
  if (args.length > def.maxArgs) fail(`fetch method '${first!.name}' expects at most ${def.maxArgs} argument(s) in '${text}'`);
  const fetchArgs = first!.name.includes('hdr') && args[0] !== undefined ? [args[0].toLowerCase(), ...args.slice(1)] : args;
  if (first!.name === 'var' && !/^(txn|req|res|sess|proc)\.[A-Za-z0-9_.]+$/.test(args[0]!)) fail(`invalid variable name '${args[0]}' (expected txn.NAME)`);
  if (first!.name.startsWith('http_auth') && first!.name !== 'http_auth_user') referenceSink?.('userlist', args[0]!, where);
  if (first!.name === 'nbsrv') referenceSink?.('backend', args[0]!, where);
  const argError = def.check?.(args);
  if (argError !== undefined) fail(`fetch method '${first!.name}' : ${argError} in '${text}'`);
  // Each converter reads the type the previous one gives, cast as HAProxy casts it, or the
  // line is refused (a binary or a method where an integer is wanted).
  let chainType: ChainType = def.type;
  const convs: Converter[] = rest.map((c) => {
    const cd = CONVERTERS.get(c.name);
    if (!cd) return fail(`unknown converter '${c.name}' in '${text}'`, ConfigErrorCode.UNSUPPORTED);
    if (c.args.length < cd.minArgs || c.args.length > cd.maxArgs) {
      return fail(`converter '${c.name}' expects ${cd.minArgs === cd.maxArgs ? cd.minArgs : `${cd.minArgs} to ${cd.maxArgs}`} argument(s) in '${text}'`);
    }
    if (!canCast(chainType, cd.in ?? 'str')) return fail(`converter '${c.name}' cannot be applied to a sample of type '${chainType}' in '${text}'`);
    try {
      const made = cd.make(c.args, chainType);
      chainType = cd.out ?? 'str';
      return made;
    } catch (err) {
      if (err instanceof ConverterError) return fail(`invalid args in converter '${c.name}' : ${err.message} in '${text}'`);
      throw err;
    }
  });
  const convert = (s: Sample, ctx: SampleContext): Sample | undefined => {
    let v: Sample | undefined = s;
    for (const c of convs) {
      if (v === undefined) return undefined;
      v = c(v, ctx);
    }
    return v;
  };
  // a binary sample is matched and printed as a string of bytes
  const type: SampleType = (chainType as ChainType) === 'bin' ? 'str' : (chainType as SampleType);
  return {
    text,
    fetchName: first!.name,
    type,
    phase: def.phase,
    all(ctx) {
      const values = def.fetch(ctx, fetchArgs);
      if (convs.length === 0) return values;
      const out: Sample[] = [];
      for (const v of values) {
        const c = convert(v, ctx);
        if (c !== undefined) out.push(c);
      }
      return out;
    },
    one(ctx) {
      if (def.one) {
        const v = def.one(ctx, fetchArgs);
        return v === undefined ? undefined : convert(v, ctx);
      }
      const values = def.fetch(ctx, fetchArgs);
      if (values.length === 0) return undefined;
      const v = def.single === 'last' ? values[values.length - 1]! : values[0]!;
      return convert(v, ctx);
    },
  };
}
