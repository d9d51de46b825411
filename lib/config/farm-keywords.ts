// Keywords of a backend's server farm beyond `balance` and `server`: `hash-type`,
// `hash-balance-factor`, `option allbackups`, `option persist`, `option redispatch [N]`,
// `http-check expect` and `dynamic-cookie-key`, with HAProxy's syntax and limits.
import { compileCondition, splitCondition } from '../acl/condition.js';
import { newProxyRules } from '../rules/proxy-rules.js';
import { ConfigErrorCode } from './config-error.js';
import type { Keyword, KeywordContext, SectionKind } from './keyword-context.js';
import type { HashTypeConfig, ProxyConfig } from './types.js';

const BE: readonly SectionKind[] = ['defaults', 'listen', 'backend'];
/** HAProxy's `retry-on` failure types limpet implements, and the statuses it accepts. */
const RETRY_ON_SUPPORTED = new Set(['none', 'conn-failure', 'empty-response', 'junk-response', 'response-timeout', 'all-retryable-errors']);
const RETRY_ON_STATUS = new Set(['401', '403', '404', '408', '425', '500', '501', '502', '503', '504']);
type P = Keyword<ProxyConfig>;

function parseHashType(p: ProxyConfig, ctx: KeywordContext): void {
  const lookup = ctx.arg(0, "method ('map-based' or 'consistent')");
  if (lookup !== 'map-based' && lookup !== 'consistent') {
    ctx.fail(`unknown method '${lookup}' (expected 'map-based' or 'consistent')`);
  }
  const fn = ctx.args[1];
  // HAProxy: `hash-type consistent` alone means sdbm with avalanche; naming a function drops it.
  const h: HashTypeConfig = { lookup, fn: 'sdbm', avalanche: lookup === 'consistent' && fn === undefined };
  if (fn !== undefined) {
    if (fn !== 'sdbm' && fn !== 'djb2' && fn !== 'wt6' && fn !== 'crc32') {
      ctx.fail(`unknown hash function '${fn}' (expected sdbm, djb2, wt6 or crc32)`);
    }
    h.fn = fn;
  }
  const modifier = ctx.args[2];
  if (modifier !== undefined) {
    if (modifier !== 'avalanche') ctx.fail(`unknown modifier '${modifier}' (expected 'avalanche')`);
    h.avalanche = true;
  }
  ctx.noArgsFrom(3);
  p.hashType = h;
}

function parseExpect(p: ProxyConfig, ctx: KeywordContext): void {
  let i = 0;
  const negate = ctx.args[0] === '!';
  if (negate) i++;
  const kind = ctx.arg(i, "match ('status', 'rstatus', 'string' or 'rstring')");
  if (kind !== 'status' && kind !== 'rstatus' && kind !== 'string' && kind !== 'rstring') {
    ctx.fail(`unsupported match '${kind}' (limpet supports status, rstatus, string and rstring)`, ConfigErrorCode.UNSUPPORTED);
  }
  const pattern = ctx.arg(i + 1, `pattern for '${kind}'`);
  ctx.noArgsFrom(i + 2);
  if (kind === 'rstatus' || kind === 'rstring') {
    try {
      new RegExp(pattern);
    } catch (err) {
      ctx.fail(`invalid regex '${pattern}': ${(err as Error).message}`);
    }
  }
  if (kind === 'status' && !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(pattern)) {
    ctx.fail(`invalid status '${pattern}' (expected a code, a range such as 200-399, or a comma-separated list)`);
  }
  p.httpCheckExpect = { negate, kind, pattern };
}

// `force-persist if COND` / `ignore-persist if COND`, with the section's ACLs.
function persistRule(force: boolean): P {
  const keyword = force ? 'force-persist' : 'ignore-persist';
  return {
    sections: ['listen', 'backend'],
    parse(p, ctx) {
      const { body, cond } = splitCondition(ctx.args);
      if (body.length > 0) ctx.fail(`unexpected '${body[0]}' (expected 'if' or 'unless')`, ConfigErrorCode.SYNTAX);
      if (!cond) return ctx.fail("requires a condition ('if' or 'unless')", ConfigErrorCode.MISSING_ARGUMENT);
      const acls = (p.rules ??= newProxyRules()).acls;
      (p.persistRules ??= []).push({ force, cond: compileCondition(cond.unless, cond.words, acls, 'request', ctx.where, keyword), where: ctx.where });
    },
  };
}

export const FARM_PROXY_KEYWORDS: Array<[string, P]> = [
  ['force-persist', persistRule(true)],
  ['ignore-persist', persistRule(false)],
  ['hash-type', { sections: BE, parse: parseHashType }],
  ['hash-balance-factor', {
    sections: BE,
    parse(p, ctx) {
      const f = ctx.int(ctx.arg(0, 'integer value'), 'value', 0, 65535);
      if (f !== 0 && f <= 100) ctx.fail(`must be 0 or greater than 100 (got ${f})`);
      p.hashBalanceFactor = f;
      ctx.noArgsFrom(1);
    },
  }],
  ['option allbackups', {
    sections: BE,
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      p.options.allbackups = !ctx.negated;
    },
  }],
  ['option persist', {
    sections: BE,
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      p.options.persist = !ctx.negated;
    },
  }],
  ['option redispatch', {
    sections: BE,
    negatable: true,
    parse(p, ctx) {
      // `option redispatch N`: every Nth retry; negative: the Nth before the last; 0 disables.
      ctx.noArgsFrom(ctx.negated ? 0 : 1);
      const text = ctx.args[0];
      if (text !== undefined && !/^-?\d+$/.test(text)) ctx.fail(`invalid interval '${text}' (expected an integer)`);
      const n = text === undefined ? -1 : Number(text);
      p.options.redispatch = !ctx.negated && n !== 0;
      p.redispatchInterval = n === 0 ? -1 : n;
    },
  }],
  ['retry-on', {
    sections: BE,
    parse(p, ctx) {
      ctx.arg(0, 'failure type');
      const kinds: string[] = [];
      for (const k of ctx.args) {
        if (RETRY_ON_SUPPORTED.has(k) || RETRY_ON_STATUS.has(k)) kinds.push(k);
        else if (k === '0rtt-rejected') ctx.fail(`'${k}' is not supported by limpet (no TLS)`, ConfigErrorCode.UNSUPPORTED);
        else ctx.fail(`unknown failure type '${k}' (expected none, conn-failure, empty-response, junk-response, response-timeout, all-retryable-errors or a status among ${[...RETRY_ON_STATUS].join(' ')})`);
      }
      if (kinds.includes('none') && kinds.length > 1) ctx.fail("'none' cannot be combined with other failure types");
      p.retryOn = kinds;
    },
  }],
  ['http-check expect', { sections: BE, parse: parseExpect }],
  ['dynamic-cookie-key', {
    sections: BE,
    parse(p, ctx) {
      p.dynamicCookieKey = ctx.arg(0, 'key');
      ctx.noArgsFrom(1);
    },
  }],
];
