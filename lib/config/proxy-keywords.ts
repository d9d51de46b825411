// Keywords of `defaults`, `frontend`, `backend` and `listen` sections. Each entry lists the
// section types that accept it, following the keyword matrix of HAProxy's manual.
import { parseBalance } from './balance-keyword.js';
import { parseBind } from './bind-keyword.js';
import { ConfigErrorCode } from './config-error.js';
import { parseCookie } from './cookie-keyword.js';
import { FARM_PROXY_KEYWORDS } from './farm-keywords.js';
import type { Keyword, KeywordContext, KeywordTable, SectionKind } from './keyword-context.js';
import { parseLogTarget } from './log-target.js';
import { OBSERVE_PROXY_KEYWORDS } from './observe-keywords.js';
import { RULE_KEYWORDS } from '../rules/rule-keywords.js';
import { parseServer } from './server-keyword.js';
import { parseStickRule, setStickTable } from './stick-keywords.js';
import type { ProxyConfig, ProxyKind, ProxyOptions, SourceLocation, Timeouts } from './types.js';

export function newProxy(kind: ProxyKind, name: string, where: SourceLocation): ProxyConfig {
  return {
    kind,
    name,
    where,
    // HAProxy's default mode is tcp; keep its semantics rather than guess.
    mode: 'tcp',
    binds: [],
    balance: { algorithm: 'roundrobin', args: [], where },
    servers: [],
    timeouts: {},
    retries: 3,
    options: { redispatch: false, httplog: false, tcplog: false, forwardfor: false },
    logs: [],
  };
}

const ALL: readonly SectionKind[] = ['defaults', 'frontend', 'listen', 'backend'];
const FE: readonly SectionKind[] = ['defaults', 'frontend', 'listen'];
const BE: readonly SectionKind[] = ['defaults', 'listen', 'backend'];
const FE_ONLY: readonly SectionKind[] = ['frontend', 'listen'];
const BE_ONLY: readonly SectionKind[] = ['listen', 'backend'];

type P = Keyword<ProxyConfig>;

function timeout(field: keyof Timeouts, sections: readonly SectionKind[]): [string, P] {
  return [`timeout ${timeoutName(field)}`, {
    sections,
    parse(p, ctx) {
      p.timeouts[field] = ctx.time(ctx.arg(0, 'time value'), 'value');
      ctx.noArgsFrom(1);
    },
  }];
}

function timeoutName(field: keyof Timeouts): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

type FlagOption = Exclude<keyof ProxyOptions, 'httpchk'>;

function flagOption(name: FlagOption, sections: readonly SectionKind[], exclusive?: FlagOption): [string, P] {
  return [`option ${name}`, {
    sections,
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      p.options[name] = !ctx.negated;
      // httplog and tcplog select one log format: the last one written wins, as in HAProxy.
      if (exclusive && !ctx.negated) p.options[exclusive] = false;
    },
  }];
}

/** The three HTTP connection modes exclude each other; `no option X` returns to keep-alive. */
function connMode(name: string, mode: NonNullable<ProxyConfig['httpConnMode']>): [string, P] {
  return [`option ${name}`, {
    sections: ALL,
    negatable: true,
    parse(p, ctx) {
      ctx.noArgsFrom(0);
      if (!ctx.negated) p.httpConnMode = mode;
      else if (p.httpConnMode === mode) p.httpConnMode = 'keep-alive';
    },
  }];
}

function parseHttpchk(p: ProxyConfig, ctx: KeywordContext): void {
  if (ctx.negated) {
    ctx.noArgsFrom(0);
    delete p.options.httpchk;
    return;
  }
  const a = ctx.args;
  ctx.noArgsFrom(3);
  // `option httpchk URI` is the one-argument form; otherwise METHOD URI [VERSION].
  const check = a.length === 1
    ? { method: 'OPTIONS', uri: a[0]!, version: 'HTTP/1.0' }
    : { method: a[0] ?? 'OPTIONS', uri: a[1] ?? '/', version: a[2] ?? 'HTTP/1.0' };
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(check.method)) ctx.fail(`invalid HTTP method '${check.method}'`);
  if (!check.uri.startsWith('/') && check.uri !== '*') ctx.fail(`invalid URI '${check.uri}' (must start with '/')`);
  if (!/^HTTP\/\d\.\d$/.test(check.version)) ctx.fail(`invalid HTTP version '${check.version}'`);
  p.options.httpchk = check;
}

// Only the rule RDP farms need; any other action or condition is an error, not a rule ignored.
function parseTcpRequestContent(p: ProxyConfig, ctx: KeywordContext): void {
  if (ctx.args.join(' ') !== 'accept if RDP_COOKIE') {
    ctx.fail(`unsupported rule '${ctx.args.join(' ')}' (limpet supports only 'tcp-request content accept if RDP_COOKIE')`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  (p.tcpRequest ??= {}).acceptIfRdpCookie = true;
}

// `persist rdp-cookie` or `persist rdp-cookie(NAME)`
function parsePersist(p: ProxyConfig, ctx: KeywordContext): void {
  const m = /^rdp-cookie(?:\(([^()]*)\))?$/.exec(ctx.arg(0, "method ('rdp-cookie')"));
  if (!m) ctx.fail(`unknown persistence method '${ctx.args[0]}' (expected 'rdp-cookie' or 'rdp-cookie(NAME)')`);
  if (m[1] === '') ctx.fail("'rdp-cookie()' needs a cookie name");
  ctx.noArgsFrom(1);
  p.persistRdpCookie = m[1] ?? 'msts';
}

export const PROXY_KEYWORDS: KeywordTable<ProxyConfig> = new Map<string, P>([
  ['bind', { sections: FE_ONLY, parse: (p, ctx) => void p.binds.push(...parseBind(ctx)) }],
  ['mode', {
    sections: ALL,
    parse(p, ctx) {
      const mode = ctx.arg(0, "mode ('http' or 'tcp')");
      if (mode !== 'http' && mode !== 'tcp') return ctx.fail(`unknown mode '${mode}' (expected 'http' or 'tcp')`);
      p.mode = mode;
      ctx.noArgsFrom(1);
    },
  }],
  ['balance', { sections: BE, parse: (p, ctx) => void (p.balance = parseBalance(ctx)) }],
  ['cookie', { sections: BE, parse: (p, ctx) => void (p.cookie = parseCookie(ctx)) }],
  ['server', { sections: BE_ONLY, parse: (p, ctx) => void p.servers.push(parseServer(ctx)) }],
  ['default_backend', {
    sections: FE,
    parse(p, ctx) {
      p.defaultBackend = { name: ctx.arg(0, 'backend name'), where: ctx.where };
      ctx.noArgsFrom(1);
    },
  }],
  ['maxconn', {
    sections: FE,
    parse(p, ctx) {
      p.maxconn = ctx.int(ctx.arg(0, 'integer value'), 'value');
      ctx.noArgsFrom(1);
    },
  }],
  ['retries', {
    sections: BE,
    parse(p, ctx) {
      p.retries = ctx.int(ctx.arg(0, 'integer value'), 'value');
      ctx.noArgsFrom(1);
    },
  }],
  ['log', {
    sections: ALL,
    negatable: true,
    parse(p, ctx) {
      // `no log` drops the targets inherited from defaults.
      if (ctx.negated) {
        ctx.noArgsFrom(0);
        p.logs = [];
      } else p.logs.push(parseLogTarget(ctx));
    },
  }],
  timeout('connect', BE),
  timeout('client', FE),
  timeout('server', BE),
  timeout('httpRequest', ALL),
  timeout('httpKeepAlive', ALL),
  timeout('queue', BE),
  timeout('tunnel', BE),
  timeout('check', BE),
  timeout('clientFin', FE),
  timeout('serverFin', BE),
  ['tcp-request inspect-delay', {
    sections: ALL,
    parse(p, ctx) {
      (p.tcpRequest ??= {}).inspectDelay = ctx.time(ctx.arg(0, 'time value'), 'value');
      ctx.noArgsFrom(1);
    },
  }],
  ['tcp-request content', { sections: ALL, parse: parseTcpRequestContent }],
  ['persist', { sections: BE, parse: parsePersist }],
  flagOption('httplog', FE, 'tcplog'),
  flagOption('tcplog', FE, 'httplog'),
  ['http-reuse', {
    sections: BE,
    parse(p, ctx) {
      const mode = ctx.arg(0, "mode ('never', 'safe', 'aggressive' or 'always')");
      if (mode !== 'never' && mode !== 'safe' && mode !== 'aggressive' && mode !== 'always') {
        return ctx.fail(`unknown mode '${mode}' (expected 'never', 'safe', 'aggressive' or 'always')`);
      }
      p.httpReuse = mode;
      ctx.noArgsFrom(1);
    },
  }],
  connMode('http-keep-alive', 'keep-alive'),
  connMode('http-server-close', 'server-close'),
  connMode('httpclose', 'close'),
  ['option httpchk', { sections: BE, negatable: true, parse: parseHttpchk }],
  ...OBSERVE_PROXY_KEYWORDS,
  ...FARM_PROXY_KEYWORDS,
  ...RULE_KEYWORDS,
  ['stick-table', { sections: BE_ONLY, parse: setStickTable }],
  ['stick on', { sections: BE_ONLY, parse: (p, ctx) => parseStickRule('on', p, ctx) }],
  ['stick match', { sections: BE_ONLY, parse: (p, ctx) => parseStickRule('match', p, ctx) }],
  ['stick store-request', { sections: BE_ONLY, parse: (p, ctx) => parseStickRule('store-request', p, ctx) }],
  ['stick store-response', { sections: BE_ONLY, parse: (p, ctx) => parseStickRule('store-response', p, ctx) }],
]);
