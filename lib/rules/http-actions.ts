// `http-request ACTION ... [if|unless COND]` and `http-response ACTION ...`: each action is
// parsed once into a small function over the message being edited. Actions apply at once, so
// later rules see earlier edits, as in HAProxy. An unknown action is a configuration error.
import type { AclTable } from '../acl/acl.js';
import { compileCondition, splitCondition, type Condition } from '../acl/condition.js';
import { compileLogFormat, type LogFormat } from '../acl/log-format.js';
import { compileMatcher, PatternError, type MatchMethod } from '../acl/pattern-match.js';
import type { Phase, SampleContext } from '../acl/sample.js';
import { compileSampleExpr } from '../acl/sample-expr.js';
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import type { HttpMessage } from './http-message.js';
import { authResponse, buildResponse, ERROR_CODES, reason, redirectResponse } from './responses.js';
import { readFileSync } from 'node:fs';
import { SERVICES, serviceResponse, type ServiceName } from '../observe/services.js';
import type { LocalResponse } from '../observe/stats-page.js';

export interface RuleState {
  ctx: SampleContext;
  /** the message the rule edits: the request, or the response in http-response rules */
  msg: HttpMessage;
  /** the page for a status, honouring errorfile */
  errorPage(status: number): Buffer;
}

/**
 * undefined: go on with the next rule. `later`: the answer is on its way (use-service in a
 * worker of several); `respond` is then empty and the session waits for `later`. `redirect`:
 * the answer is a redirect, after which HAProxy closes when the request has a body.
 */
export type RuleOutcome = undefined | { stop: true } | { respond: Buffer; status: number; later?: Promise<LocalResponse>; redirect?: boolean };

/** The `respond` of an answer that comes `later`. */
const NOT_YET = Buffer.alloc(0);

export interface HttpRule {
  action: string;
  cond?: Condition;
  where: SourceLocation;
  run(state: RuleState): RuleOutcome;
}

interface ParseCtx {
  phase: Phase;
  where: SourceLocation;
  keyword: string;
  fail(detail: string, code?: ConfigErrorCode): never;
  lf(text: string | undefined, what: string): LogFormat;
}

type ActionParser = (args: string[], p: ParseCtx) => (s: RuleState) => RuleOutcome;

const REDIRECT_CODES = [301, 302, 303, 307, 308];

function headerName(args: string[], p: ParseCtx): string {
  const n = args[0];
  if (n === undefined || n === '') p.fail('missing header name', ConfigErrorCode.MISSING_ARGUMENT);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(n!)) p.fail(`invalid header name '${n}'`);
  return n!;
}

function noMore(args: string[], from: number, p: ParseCtx): void {
  if (args.length > from) p.fail(`unexpected argument '${args[from]}'`, ConfigErrorCode.UNKNOWN_OPTION);
}

function regex(text: string | undefined, p: ParseCtx): RegExp {
  if (text === undefined) return p.fail('missing regex', ConfigErrorCode.MISSING_ARGUMENT);
  try {
    return new RegExp(text);
  } catch (err) {
    return p.fail(`invalid regex '${text}': ${(err as Error).message}`);
  }
}

/** HAProxy's exp_replace: the output is the replacement, with \N taken from the match. */
function expReplace(re: RegExp, value: string, replacement: string): string | undefined {
  const m = re.exec(value);
  if (!m) return undefined;
  return replacement.replace(/\\(\d)/g, (_, d: string) => m[Number(d)] ?? '');
}

const setHeader = (mode: 'set' | 'add'): ActionParser => (args, p) => {
  const name = headerName(args, p);
  const value = p.lf(args[1], 'header value');
  noMore(args, 2, p);
  return (s) => {
    const v = value.render(s.ctx);
    if (mode === 'set') s.msg.set(name, v);
    else s.msg.add(name, v);
    return undefined;
  };
};

const delHeader: ActionParser = (args, p) => {
  const name = headerName(args, p);
  let method: MatchMethod = 'str';
  if (args[1] === '-m') {
    const m = args[2];
    if (!['str', 'beg', 'end', 'sub', 'reg'].includes(m ?? '')) p.fail(`'-m' expects str, beg, end, sub or reg (got '${m ?? ''}')`);
    method = m as MatchMethod;
    noMore(args, 3, p);
  } else noMore(args, 1, p);
  let match;
  try {
    match = compileMatcher(method, [name], method !== 'reg');
  } catch (err) {
    if (err instanceof PatternError) p.fail(err.message);
    throw err;
  }
  return (s) => {
    s.msg.remove((n) => match(n));
    return undefined;
  };
};

const replaceHeader = (perValue: boolean): ActionParser => (args, p) => {
  const name = headerName(args, p);
  const re = regex(args[1], p);
  const fmt = p.lf(args[2], 'replacement');
  noMore(args, 3, p);
  return (s) => {
    const repl = fmt.render(s.ctx);
    const one = (v: string) => expReplace(re, v, repl) ?? v;
    // replace-value: an element that matches is replaced whole, its leading spaces included;
    // the others keep their bytes (HAProxy's own output)
    s.msg.mapValues(name, perValue ? (v) => v.split(',').map((x) => expReplace(re, x.trim(), repl) ?? x).join(',') : one);
    return undefined;
  };
};

const setStartLine = (part: 'path' | 'query' | 'uri' | 'method'): ActionParser => (args, p) => {
  const fmt = p.lf(args[0], part);
  noMore(args, 1, p);
  return (s) => {
    const v = fmt.render(s.ctx);
    if (part === 'path') s.msg.path = v;
    else if (part === 'query') s.msg.setQuery(v.startsWith('?') ? v.slice(1) : v);
    else if (part === 'uri') s.msg.target = v;
    else if (v !== '') s.msg.method = v;
    return undefined;
  };
};

const redirect: ActionParser = (args, p) => {
  const type = args[0];
  if (type !== 'location' && type !== 'prefix' && type !== 'scheme') p.fail(`expects 'location', 'prefix' or 'scheme' (got '${type ?? ''}')`);
  const target = p.lf(args[1], `redirect ${type}`);
  let code = 302;
  let dropQuery = false;
  let appendSlash = false;
  const cookies: string[] = [];
  for (let i = 2; i < args.length; i++) {
    const w = args[i]!;
    if (w === 'code') {
      code = Number(args[++i]);
      if (!REDIRECT_CODES.includes(code)) p.fail(`'code' expects one of ${REDIRECT_CODES.join(', ')} (got '${args[i] ?? ''}')`);
    } else if (w === 'drop-query') dropQuery = true;
    else if (w === 'append-slash') appendSlash = true;
    else if (w === 'set-cookie' || w === 'clear-cookie') {
      const c = args[++i] ?? p.fail(`'${w}' expects a cookie name`, ConfigErrorCode.MISSING_ARGUMENT);
      const [n, v] = c.includes('=') ? [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)] : [c, ''];
      // worded byte for byte as HAProxy writes them
      cookies.push(w === 'set-cookie' ? `set-cookie: ${n}=${v}; path=/;` : `set-cookie: ${n}; path=/; Max-Age=0;`);
    } else p.fail(`unknown redirect option '${w}'`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  return (s) => {
    const req = s.ctx.req;
    const t = target.render(s.ctx);
    let location: string;
    if (type === 'location') location = t;
    else {
      let uri = req.path + (dropQuery || req.query === undefined ? '' : `?${req.query}`);
      // HAProxy appends the slash to the end of what it keeps, query included
      if (appendSlash && !uri.endsWith('/')) uri += '/';
      if (type === 'prefix') location = (t === '/' ? '' : t) + uri;
      else location = `${t}://${req.values('host')[0] ?? ''}${uri}`;
    }
    return { respond: redirectResponse(code, location, cookies), status: code, redirect: true };
  };
};

const deny = (defaultStatus: number): ActionParser => (args, p) => {
  let status = defaultStatus;
  if (args[0] === 'deny_status') {
    status = Number(args[1]);
    if (!ERROR_CODES.includes(status)) p.fail(`'deny_status' expects one of ${ERROR_CODES.join(', ')} (got '${args[1] ?? ''}')`);
    noMore(args, 2, p);
  } else noMore(args, 0, p);
  return (s) => ({ respond: s.errorPage(status), status });
};

const returnAction: ActionParser = (args, p) => {
  let status = 200;
  let contentType: string | undefined;
  let body: Buffer | LogFormat | undefined;
  const headers: Array<[string, LogFormat]> = [];
  let errorfile: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    const next = () => args[++i] ?? p.fail(`'${w}' expects a value`, ConfigErrorCode.MISSING_ARGUMENT);
    if (w === 'status') {
      status = Number(next());
      if (!Number.isInteger(status) || status < 200 || status > 599) p.fail(`'status' expects a code from 200 to 599 (got '${args[i]}')`);
    } else if (w === 'content-type') contentType = next();
    else if (w === 'string') body = Buffer.from(next(), 'latin1');
    else if (w === 'lf-string') body = p.lf(next(), 'lf-string');
    else if (w === 'file' || w === 'lf-file') {
      const f = next();
      let text: Buffer;
      try {
        text = readFileSync(f);
      } catch (err) {
        return p.fail(`cannot read '${f}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ConfigErrorCode.UNREADABLE_FILE);
      }
      body = w === 'file' ? text : p.lf(text.toString('latin1'), 'lf-file');
    } else if (w === 'default-errorfiles') errorfile = -1;
    else if (w === 'hdr') {
      const n = headerName([next()], p);
      headers.push([n, p.lf(next(), 'header value')]);
    } else p.fail(`unknown 'return' option '${w}'`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  if (body !== undefined && contentType === undefined) p.fail("'content-type' is required with a body");
  if (errorfile !== undefined && (body !== undefined || headers.length > 0)) p.fail("'default-errorfiles' cannot be combined with a body or headers");
  return (s) => {
    if (errorfile !== undefined) return { respond: s.errorPage(status), status };
    const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body.render(s.ctx), 'latin1');
    const lines = contentType === undefined ? [] : [`content-type: ${contentType}`];
    for (const [n, v] of headers) lines.push(`${n}: ${v.render(s.ctx)}`);
    return { respond: buildResponse(status, reason(status), lines, b), status };
  };
};

const auth: ActionParser = (args, p) => {
  let realm: string | undefined;
  if (args[0] === 'realm') {
    realm = args[1] ?? p.fail("'realm' expects a value", ConfigErrorCode.MISSING_ARGUMENT);
    noMore(args, 2, p);
  } else noMore(args, 0, p);
  return (s) => ({ respond: authResponse(realm ?? s.ctx.backend ?? s.ctx.frontend), status: 401 });
};

const setVar = (name: string, args: string[], p: ParseCtx) => {
  if (!/^(txn|req|res|sess|proc)\.[A-Za-z0-9_.]+$/.test(name)) p.fail(`invalid variable name '${name}' (expected txn.NAME)`);
  if (args.length === 0) p.fail('missing sample expression', ConfigErrorCode.MISSING_ARGUMENT);
  const expr = compileSampleExpr(args[0]!, p.where, p.keyword);
  if (p.phase === 'request' && expr.phase === 'response') p.fail(`'${args[0]}' is not available in a request rule`);
  noMore(args, 1, p);
  return (s: RuleState): RuleOutcome => {
    const v = expr.one(s.ctx);
    if (v !== undefined) s.ctx.vars.set(name, v);
    return undefined;
  };
};

const capture: ActionParser = (args, p) => {
  if (args.length === 0) p.fail('missing sample expression', ConfigErrorCode.MISSING_ARGUMENT);
  const expr = compileSampleExpr(args[0]!, p.where, p.keyword);
  if (args[1] !== 'len' || !/^\d+$/.test(args[2] ?? '')) p.fail("expects 'len <length>' after the sample", ConfigErrorCode.MISSING_ARGUMENT);
  const len = Number(args[2]);
  noMore(args, 3, p);
  return (s) => {
    const v = expr.one(s.ctx);
    s.ctx.captures.push(v === undefined ? '' : String(v).slice(0, len));
    return undefined;
  };
};

const setStatus: ActionParser = (args, p) => {
  const code = Number(args[0]);
  if (!Number.isInteger(code) || code < 100 || code > 999) p.fail(`expects a status code (got '${args[0] ?? ''}')`);
  let why: string | undefined;
  if (args[1] === 'reason') {
    why = args[2] ?? p.fail("'reason' expects a value", ConfigErrorCode.MISSING_ARGUMENT);
    noMore(args, 3, p);
  } else noMore(args, 1, p);
  return (s) => {
    s.msg.setStatus(code, why ?? reason(code));
    return undefined;
  };
};

const REQUEST_ACTIONS: Record<string, ActionParser> = {
  'set-header': setHeader('set'),
  'add-header': setHeader('add'),
  'del-header': delHeader,
  'replace-header': replaceHeader(false),
  'replace-value': replaceHeader(true),
  'set-path': setStartLine('path'),
  'set-query': setStartLine('query'),
  'set-uri': setStartLine('uri'),
  'set-method': setStartLine('method'),
  redirect,
  deny: deny(403),
  return: returnAction,
  auth,
  allow: (args, p) => {
    noMore(args, 0, p);
    return () => ({ stop: true });
  },
  capture,
  'use-service': (args, p) => {
    const name = args[0];
    if (!SERVICES.includes(name as ServiceName)) p.fail(`unknown service '${name ?? ''}' (limpet provides '${SERVICES.join("', '")}')`);
    noMore(args, 1, p);
    return () => {
      const r = serviceResponse(name as ServiceName);
      return r instanceof Promise ? { respond: NOT_YET, status: 200, later: r } : { respond: r.bytes, status: r.status };
    };
  },
};

const RESPONSE_ACTIONS: Record<string, ActionParser> = {
  'set-header': setHeader('set'),
  'add-header': setHeader('add'),
  'del-header': delHeader,
  'replace-header': replaceHeader(false),
  'replace-value': replaceHeader(true),
  deny: deny(502),
  'set-status': setStatus,
  allow: REQUEST_ACTIONS.allow!,
  return: returnAction,
};

export function parseHttpRule(
  phase: Phase,
  words: readonly string[],
  acls: AclTable,
  where: SourceLocation,
  keyword: string,
): HttpRule {
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE): never => {
    throw new ConfigError(code, where, keyword, `'${keyword}' : ${detail}`);
  };
  const { body, cond } = splitCondition(words);
  const action = body[0];
  if (action === undefined) fail('missing action', ConfigErrorCode.MISSING_ARGUMENT);
  const p: ParseCtx = {
    phase,
    where,
    keyword: `${keyword} ${action}`,
    fail: (d, c) => fail(`'${action}' ${d}`, c),
    lf(text, what) {
      if (text === undefined) return fail(`'${action}' missing ${what}`, ConfigErrorCode.MISSING_ARGUMENT);
      const f = compileLogFormat(text, where, keyword);
      if (phase === 'request' && f.phase === 'response') fail(`'${text}' uses a response fetch in a request rule`);
      return f;
    },
  };
  let run: (s: RuleState) => RuleOutcome;
  const setVarMatch = /^set-var\((.*)\)$/.exec(action!);
  if (setVarMatch) run = setVar(setVarMatch[1]!, body.slice(1), p);
  else {
    const table = phase === 'request' ? REQUEST_ACTIONS : RESPONSE_ACTIONS;
    const parser = table[action!];
    if (!parser) {
      return fail(`unsupported action '${action}' (supported: ${[...Object.keys(table), 'set-var(NAME)'].join(', ')})`, ConfigErrorCode.UNSUPPORTED);
    }
    run = parser(body.slice(1), p);
  }
  const rule: HttpRule = { action: action!, where, run };
  if (cond) rule.cond = compileCondition(cond.unless, cond.words, acls, phase, where, keyword);
  return rule;
}
