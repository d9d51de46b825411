// Keywords of the operational surface: `log-format`, `option dontlognull`,
// `option log-health-checks`, `stats enable|uri|realm|auth|refresh` (proxy sections) and
// `stats socket` (global). Kept apart so the main tables only list them.
import { parseBindAddresses } from './address.js';
import { ConfigErrorCode } from './config-error.js';
import type { Keyword, SectionKind } from './keyword-context.js';
import { ValueError } from './units.js';
import { compileLogFormat, LogFormatError } from '../observe/log-format.js';
import type { GlobalConfig, ProxyConfig, StatsConfig } from './types.js';

const ALL: readonly SectionKind[] = ['defaults', 'frontend', 'listen', 'backend'];
const FE: readonly SectionKind[] = ['defaults', 'frontend', 'listen'];

type P = Keyword<ProxyConfig>;

export const DEFAULT_STATS_URI = '/haproxy?stats';

function stats(p: ProxyConfig): StatsConfig {
  return (p.stats ??= { enabled: false, uri: DEFAULT_STATS_URI, auth: [] });
}

/** Any `stats` keyword enables the page, as in HAProxy. */
function statsKeyword(name: string, parse: (s: StatsConfig, args: readonly string[], fail: (m: string) => never, ctx: Parameters<P['parse']>[1]) => void): [string, P] {
  return [`stats ${name}`, {
    sections: ALL,
    parse(p, ctx) {
      const s = stats(p);
      s.enabled = true;
      parse(s, ctx.args, (m) => ctx.fail(m), ctx);
    },
  }];
}

export const OBSERVE_PROXY_KEYWORDS: Array<[string, P]> = [
  ['log-format', {
    sections: FE,
    parse(p, ctx) {
      // Unquoted words are one format separated by single spaces, as HAProxy joins them.
      if (ctx.args.length === 0) ctx.fail('missing log format string');
      const format = ctx.args.join(' ');
      try {
        compileLogFormat(format);
      } catch (err) {
        if (!(err instanceof LogFormatError)) throw err;
        ctx.fail(err.message);
      }
      p.logFormat = format;
    },
  }],
  ['option dontlognull', {
    sections: FE,
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      p.options.dontlognull = !ctx.negated;
    },
  }],
  ['option log-health-checks', {
    sections: ['defaults', 'listen', 'backend'],
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      p.options.logHealthChecks = !ctx.negated;
    },
  }],
  statsKeyword('enable', (_s, _a, _f, ctx) => ctx.noArgsFrom(0)),
  statsKeyword('uri', (s, _a, _f, ctx) => {
    const uri = ctx.arg(0, 'URI prefix');
    if (!uri.startsWith('/')) ctx.fail(`invalid URI '${uri}' (must start with '/')`);
    ctx.noArgsFrom(1);
    s.uri = uri;
  }),
  statsKeyword('realm', (s, _a, _f, ctx) => {
    s.realm = ctx.arg(0, 'realm');
    ctx.noArgsFrom(1);
  }),
  statsKeyword('auth', (s, _a, fail, ctx) => {
    const text = ctx.arg(0, "'user:password'");
    const colon = text.indexOf(':');
    if (colon <= 0) fail(`invalid credentials '${text}' (expected 'user:password')`);
    ctx.noArgsFrom(1);
    s.auth.push({ user: text.slice(0, colon), password: text.slice(colon + 1) });
  }),
  statsKeyword('refresh', (s, _a, _f, ctx) => {
    s.refresh = ctx.time(ctx.arg(0, 'delay'), 'value', 's');
    ctx.noArgsFrom(1);
  }),
];

export const OBSERVE_GLOBAL_KEYWORDS: Array<[string, Keyword<GlobalConfig>]> = [
  ['stats socket', {
    sections: ['global'],
    parse(g, ctx) {
      const text = ctx.arg(0, "address (a unix socket path, 'ipv4@host:port' or 'fd@N')");
      let address;
      try {
        // A bare path is a unix socket, as in HAProxy.
        [address] = parseBindAddresses(text.startsWith('/') ? `unix@${text}` : text);
      } catch (err) {
        /* c8 ignore next */
        if (!(err instanceof ValueError)) throw err;
        return ctx.fail(`invalid address: ${err.message}`, ConfigErrorCode.BAD_ADDRESS);
      }
      let level: 'user' | 'operator' | 'admin' = 'operator';
      const rest = ctx.args.slice(1);
      for (let i = 0; i < rest.length; i += 2) {
        const word = rest[i]!;
        const value = rest[i + 1];
        if (word === 'level') {
          if (value !== 'user' && value !== 'operator' && value !== 'admin') return ctx.fail(`invalid level '${value ?? ''}' (expected 'user', 'operator' or 'admin')`);
          level = value;
        } else ctx.fail(`unknown option '${word}' (limpet supports only 'level')`, ConfigErrorCode.UNKNOWN_OPTION);
      }
      (g.statsSockets ??= []).push({ address: address!, level, where: ctx.where });
    },
  }],
];
