// `acl NAME FETCH [flags] [operator] PATTERN...`: a fetch (or a suffixed ACL keyword such as
// path_beg), flags (-i, -m METHOD, -f FILE, -n, --), and patterns; true when any value the
// fetch returns matches any pattern. Several lines with one name are ORed, as in HAProxy.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import { splitCalls } from './call-syntax.js';
import { ACL_ALIASES } from './fetches.js';
import { compileMatcher, MATCH_METHODS, PatternError, type MatchMethod } from './pattern-match.js';
import { PatternFileError, readPatternFile } from './pattern-file.js';
import type { Phase, SampleContext } from './sample.js';
import { compileSampleExpr } from './sample-expr.js';

export interface Acl {
  readonly phase: Phase | undefined;
  test(ctx: SampleContext): boolean;
}

/** ACLs declared in one proxy, by name. */
export type AclTable = Map<string, Acl[]>;

const DEFAULT_METHOD: Record<string, MatchMethod> = { str: 'str', int: 'int', bool: 'bool', ip: 'ip', meth: 'str' };

/** Compiles the words after the ACL name: `FETCH [flags] [patterns]`. */
export function compileAcl(words: readonly string[], where: SourceLocation, keyword: string): Acl {
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE): never => {
    throw new ConfigError(code, where, keyword, `'${keyword}' : ${detail}`);
  };
  if (words.length === 0) fail('missing fetch method', ConfigErrorCode.MISSING_ARGUMENT);
  let text = words[0]!;
  const head = splitCalls(text, where, keyword)[0]!;
  let method: MatchMethod | undefined;
  const alias = ACL_ALIASES.get(head.name);
  if (alias) {
    text = alias[0] + text.slice(head.name.length);
    method = alias[1];
  }
  const expr = compileSampleExpr(text, where, keyword);
  let icase = false;
  const patterns: string[] = [];
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || /^-\d/.test(w)) break;
    if (w === '-i') icase = true;
    else if (w === '-n') continue; // no DNS resolution: limpet never resolves patterns
    else if (w === '-m') {
      const m = words[++i];
      if (m === undefined) fail("'-m' expects a match method", ConfigErrorCode.MISSING_ARGUMENT);
      if (!MATCH_METHODS.includes(m as MatchMethod)) fail(`unknown match method '${m}' (expected ${MATCH_METHODS.join(', ')})`, ConfigErrorCode.UNSUPPORTED);
      method = m as MatchMethod;
    } else if (w === '-f') {
      const file = words[++i];
      if (file === undefined) fail("'-f' expects a file name", ConfigErrorCode.MISSING_ARGUMENT);
      try {
        patterns.push(...readPatternFile(file!));
      } catch (err) {
        if (err instanceof PatternFileError) fail(err.message, ConfigErrorCode.UNREADABLE_FILE);
        throw err;
      }
    } else fail(`unsupported flag '${w}' (use '--' before a pattern starting with '-')`, ConfigErrorCode.UNSUPPORTED);
  }
  patterns.push(...words.slice(i));
  method ??= DEFAULT_METHOD[expr.type]!;
  if (patterns.length === 0 && method !== 'found' && method !== 'bool') {
    // HAProxy accepts an ACL without pattern and it never matches; say so rather than guess.
    fail(`no pattern to match '${words[0]}' against (use '-m found' to test presence)`, ConfigErrorCode.MISSING_ARGUMENT);
  }
  let match;
  try {
    match = compileMatcher(method, patterns, icase);
  } catch (err) {
    if (err instanceof PatternError) return fail(err.message);
    throw err;
  }
  return {
    phase: expr.phase,
    test(ctx) {
      const values = expr.all(ctx);
      for (const v of values) if (match(v)) return true;
      return false;
    },
  };
}

/** HAProxy's predefined ACLs. */
const PREDEFINED: Record<string, string[]> = {
  TRUE: ['always_true'],
  FALSE: ['always_false'],
  HTTP: ['always_true'], // every request a `mode http` proxy sees is HTTP
  'HTTP_1.0': ['req.ver', '1.0'],
  'HTTP_1.1': ['req.ver', '1.1'],
  'HTTP_2.0': ['req.ver', '2.0'],
  'HTTP_3.0': ['req.ver', '3.0'],
  HTTP_CONTENT: ['hdr_val(content-length)', 'gt', '0'],
  HTTP_URL_ABS: ['url_reg', '^[^/:]*://'],
  HTTP_URL_SLASH: ['url_beg', '/'],
  HTTP_URL_STAR: ['url', '*'],
  LOCALHOST: ['src', '127.0.0.1/8', '::1'],
  METH_CONNECT: ['method', 'CONNECT'],
  METH_DELETE: ['method', 'DELETE'],
  METH_GET: ['method', 'GET', 'HEAD'],
  METH_HEAD: ['method', 'HEAD'],
  METH_OPTIONS: ['method', 'OPTIONS'],
  METH_POST: ['method', 'POST'],
  METH_PUT: ['method', 'PUT'],
  METH_TRACE: ['method', 'TRACE'],
  RDP_COOKIE: ['req.rdp_cookie_cnt', 'gt', '0'],
};

const predefined = new Map<string, Acl>();

export function predefinedAcl(name: string): Acl | undefined {
  const words = PREDEFINED[name];
  if (!words) return undefined;
  let acl = predefined.get(name);
  if (!acl) {
    acl = compileAcl(words, { file: '<predefined>', line: 0 }, name);
    predefined.set(name, acl);
  }
  return acl;
}
