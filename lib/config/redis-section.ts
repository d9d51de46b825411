// The `redis NAME` section: a Redis deployment (standalone, Sentinel or Cluster) that stick
// tables attach to with `stick-table ... redis NAME`, as HAProxy tables attach to `peers`.
import { parseServerAddress } from './address.js';
import { ConfigErrorCode } from './config-error.js';
import type { Keyword, KeywordContext, KeywordTable } from './keyword-context.js';
import type { RedisConfig, RedisDeployment, SourceLocation } from './types.js';
import { ValueError } from './units.js';

export function newRedis(name: string, where: SourceLocation): RedisConfig {
  return { name, prefix: 'limpet', timeout: 50, where };
}

type R = Keyword<RedisConfig>;
const SECTION = ['redis'] as const;

function address(ctx: KeywordContext, text: string): { host: string; port: number } {
  try {
    return parseServerAddress(text);
  } catch (err) {
    if (err instanceof ValueError) return ctx.fail(`invalid address '${text}': ${err.message}`, ConfigErrorCode.BAD_ADDRESS);
    throw err;
  }
}

function setDeployment(r: RedisConfig, ctx: KeywordContext, d: RedisDeployment): void {
  if (r.deployment) {
    ctx.fail(`redis section '${r.name}' already names a ${r.deployment.kind} deployment: use one of 'server', 'sentinel' or 'cluster'`);
  }
  r.deployment = d;
}

function text(field: 'user' | 'password' | 'prefix'): R {
  return {
    sections: SECTION,
    parse(r, ctx) {
      const v = ctx.arg(0, `${field} value`);
      if (field === 'prefix' && !/^[A-Za-z0-9_.:{}-]+$/.test(v)) ctx.fail(`invalid prefix '${v}' (allowed: letters, digits, '-', '_', '.', ':', '{', '}')`);
      r[field] = v;
      ctx.noArgsFrom(1);
    },
  };
}

export const REDIS_KEYWORDS: KeywordTable<RedisConfig> = new Map<string, R>([
  ['server', {
    sections: SECTION,
    parse(r, ctx) {
      const { host, port } = address(ctx, ctx.arg(0, 'address (host:port)'));
      ctx.noArgsFrom(1);
      setDeployment(r, ctx, { kind: 'standalone', host, port });
    },
  }],
  ['sentinel', {
    sections: SECTION,
    parse(r, ctx) {
      const m = ctx.args.indexOf('master');
      if (m === -1) ctx.fail("missing 'master NAME' (e.g. 'sentinel s1:26379 s2:26379 master mymaster')", ConfigErrorCode.MISSING_ARGUMENT);
      if (m === 0) ctx.fail('missing sentinel address before \'master\'', ConfigErrorCode.MISSING_ARGUMENT);
      const master = ctx.arg(m + 1, "master name after 'master'");
      ctx.noArgsFrom(m + 2);
      setDeployment(r, ctx, { kind: 'sentinel', sentinels: ctx.args.slice(0, m).map((a) => address(ctx, a)), master });
    },
  }],
  ['cluster', {
    sections: SECTION,
    parse(r, ctx) {
      ctx.arg(0, 'node address (host:port)');
      setDeployment(r, ctx, { kind: 'cluster', nodes: ctx.args.map((a) => address(ctx, a)) });
    },
  }],
  ['user', text('user')],
  ['password', text('password')],
  ['prefix', text('prefix')],
  ['database', {
    sections: SECTION,
    parse(r, ctx) {
      r.database = ctx.int(ctx.arg(0, 'database number'), 'database', 0, 65535);
      ctx.noArgsFrom(1);
    },
  }],
  ['timeout', {
    sections: SECTION,
    parse(r, ctx) {
      r.timeout = ctx.time(ctx.arg(0, 'time value'), 'timeout');
      if (r.timeout === 0) ctx.fail("'timeout' must be above 0");
      ctx.noArgsFrom(1);
    },
  }],
]);
