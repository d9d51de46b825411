// `stick-table` and the `stick on|match|store-request|store-response` rules of backends.
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import { compileCondition, splitCondition } from '../acl/condition.js';
import { compileStickExpr } from '../persist/stick-expr.js';
import { newProxyRules } from '../rules/proxy-rules.js';
import type { ProxyConfig, StickRuleKind, StickTableConfig, StickTableType } from './types.js';

const TYPES: readonly StickTableType[] = ['ip', 'ipv6', 'integer', 'string', 'binary'];
// HAProxy's keywords for what limpet does not do (yet): named so the error can say so.
const UNSUPPORTED_TABLE_OPTIONS: Record<string, string> = {
  peers: "'peers' replication is not supported: share the table through a 'redis' section instead ('redis NAME')",
  store: "'store' data types (counters) are not supported yet: limpet tables hold the server only",
  'write-to': "'write-to' is not supported",
  'recv-only': "'recv-only' is not supported",
};

/** `stick-table type T [len N] size N [expire T] [nopurge] [srvkey name|addr] [redis NAME]` */
export function parseStickTable(ctx: KeywordContext): StickTableConfig {
  const a = ctx.args;
  let type: StickTableType | undefined;
  let len: number | undefined;
  let size: number | undefined;
  const table: Omit<StickTableConfig, 'type' | 'len' | 'size'> = { nopurge: false, srvkey: 'name', where: ctx.where };
  for (let i = 0; i < a.length; i++) {
    const word = a[i]!;
    const value = (what: string) => ctx.arg(++i, `${what} after '${word}'`);
    switch (word) {
      case 'type': {
        const t = value('table type');
        if (!TYPES.includes(t as StickTableType)) ctx.fail(`unknown table type '${t}' (expected ${TYPES.join(', ')})`);
        type = t as StickTableType;
        break;
      }
      case 'len':
        len = ctx.int(value('length'), "'len'", 1, 65536);
        break;
      case 'size':
        size = ctx.size(value('size'), "'size'");
        if (size === 0) ctx.fail("'size' must be at least 1");
        break;
      case 'expire':
        table.expire = ctx.time(value('time'), "'expire'");
        break;
      case 'nopurge':
        table.nopurge = true;
        break;
      case 'srvkey': {
        const k = value("'name' or 'addr'");
        if (k !== 'name' && k !== 'addr') ctx.fail(`unknown srvkey '${k}' (expected 'name' or 'addr')`);
        table.srvkey = k;
        break;
      }
      case 'redis':
        table.redis = { name: value('redis section name'), where: ctx.where };
        break;
      default:
        if (UNSUPPORTED_TABLE_OPTIONS[word]) ctx.fail(UNSUPPORTED_TABLE_OPTIONS[word], ConfigErrorCode.UNSUPPORTED);
        ctx.fail(`unknown argument '${word}'`, ConfigErrorCode.UNKNOWN_OPTION);
    }
  }
  if (type === undefined) return ctx.fail("missing 'type' (ip, ipv6, integer, string or binary)", ConfigErrorCode.MISSING_ARGUMENT);
  if (size === undefined) return ctx.fail("missing 'size'", ConfigErrorCode.MISSING_ARGUMENT);
  if (len !== undefined && type !== 'string' && type !== 'binary') ctx.fail(`'len' applies to string and binary tables only (type is '${type}')`);
  return { type, len: len ?? 32, size, ...table };
}

/** `stick <kind> <pattern> [table NAME] [if|unless COND]`; COND may name ACLs declared above it. */
export function parseStickRule(kind: StickRuleKind, p: ProxyConfig, ctx: KeywordContext): void {
  const text = ctx.arg(0, 'sample expression (e.g. src or req.cook(NAME),lower)');
  const fetch = compileStickExpr(text, ctx.where, `stick ${kind}`);
  if (fetch.phase === 'response' && kind !== 'store-response') {
    ctx.fail(`fetch method '${fetch.expr.fetchName}' reads the response, which is not available to 'stick ${kind}' (use 'stick store-response')`);
  }
  const rule: NonNullable<ProxyConfig['stickRules']>[number] = { kind, fetch, where: ctx.where };
  const a = ctx.args;
  let i = 1;
  if (a[i] === 'table') {
    rule.table = { name: ctx.arg(i + 1, "table name after 'table'"), where: ctx.where };
    i += 2;
  }
  const { body, cond } = splitCondition(a.slice(i));
  if (body.length > 0) ctx.noArgsFrom(i);
  if (cond) {
    const acls = (p.rules ??= newProxyRules()).acls;
    rule.cond = compileCondition(cond.unless, cond.words, acls, kind === 'store-response' ? 'response' : 'request', ctx.where, `stick ${kind}`);
  }
  (p.stickRules ??= []).push(rule);
}

/** One table per backend, as in HAProxy. */
export function setStickTable(p: ProxyConfig, ctx: KeywordContext): void {
  if (p.stickTable) ctx.fail(`${p.kind} '${p.name}' already has a stick-table (declared at line ${p.stickTable.where.line})`);
  p.stickTable = parseStickTable(ctx);
}
