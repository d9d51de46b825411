// Sample fetches: HAProxy's names, arguments and types, for ACLs, log-format, set-var and
// stick rules alike.
import { splitCommas } from '../rules/http-message.js';
import type { Phase, Sample, SampleContext, SampleType } from './sample.js';
import type { MatchMethod } from './pattern-match.js';

export interface FetchDef {
  type: SampleType;
  /** 'response' fetches are refused in request rules */
  phase?: Phase;
  minArgs: number;
  maxArgs: number;
  /** Every value found; empty when the sample does not exist. */
  fetch(ctx: SampleContext, args: readonly string[]): Sample[];
  /** In a sample expression (not an ACL) only one value is used: HAProxy takes the last header occurrence. */
  single?: 'first' | 'last';
}

const none = { minArgs: 0, maxArgs: 0 };
const one = { minArgs: 1, maxArgs: 1 };

function occurrence(values: string[], args: readonly string[]): string[] {
  if (args[1] === undefined) return values;
  const n = Number(args[1]);
  const v = n < 0 ? values[values.length + n] : values[n - 1];
  return v === undefined ? [] : [v];
}

function cookies(values: string[], name: string | undefined): string[] {
  const out: string[] = [];
  for (const line of values) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const k = part.slice(0, eq).trim();
      if (name === undefined || name === '' || k === name) out.push(part.slice(eq + 1).trim());
    }
  }
  return out;
}

/** The value of the first Set-Cookie of that name (a Set-Cookie line names one cookie). */
function setCookies(values: string[], name: string): string[] {
  const out: string[] = [];
  for (const line of values) {
    const first = line.split(';')[0]!;
    const eq = first.indexOf('=');
    if (eq >= 0 && first.slice(0, eq).trim() === name) out.push(first.slice(eq + 1).trim());
  }
  return out;
}

const delimiters = new Map<string, RegExp>();

function urlParam(ctx: SampleContext, args: readonly string[]): string[] {
  const q = ctx.req.query;
  if (q === undefined) return [];
  const delim = args[1] || '&';
  // Compiled once per delimiter set, not per request.
  let re = delimiters.get(delim);
  if (re === undefined) delimiters.set(delim, (re = new RegExp(`[${delim.replace(/[\]\\^-]/g, '\\$&')}]`)));
  const out: string[] = [];
  for (const part of q.split(re)) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (args[0] === undefined || args[0] === '' || k === args[0]) out.push(eq < 0 ? '' : part.slice(eq + 1));
  }
  return out;
}

function basicAuth(ctx: SampleContext): [string, string] | undefined {
  const h = ctx.req.values('authorization')[0];
  if (!h) return undefined;
  const m = /^basic\s+(\S+)$/i.exec(h.trim());
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('latin1');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : [text.slice(0, colon), text.slice(colon + 1)];
}

const list = (v: string | undefined): string[] => (v === undefined ? [] : [v]);

const hdr = (side: 'req' | 'res'): FetchDef => ({
  type: 'str',
  phase: side === 'res' ? 'response' : undefined,
  minArgs: 1,
  maxArgs: 2,
  single: 'last',
  fetch: (ctx, a) => {
    const msg = side === 'req' ? ctx.req : ctx.res;
    return msg ? occurrence(msg.listValues(a[0]!), a) : [];
  },
});
const fhdr = (side: 'req' | 'res'): FetchDef => ({
  ...hdr(side),
  fetch: (ctx, a) => {
    const msg = side === 'req' ? ctx.req : ctx.res;
    return msg ? occurrence(msg.values(a[0]!), a) : [];
  },
});
const hdrCnt = (side: 'req' | 'res'): FetchDef => ({
  type: 'int',
  phase: side === 'res' ? 'response' : undefined,
  minArgs: 0,
  maxArgs: 1,
  fetch: (ctx, a) => {
    const msg = side === 'req' ? ctx.req : ctx.res;
    if (!msg) return [];
    return [a[0] ? msg.listValues(a[0]).length : msg.headerCount];
  },
});
const reqCook: FetchDef = { type: 'str', minArgs: 0, maxArgs: 1, single: 'first', fetch: (ctx, a) => cookies(ctx.req.values('cookie'), a[0]) };
const resCook: FetchDef = {
  type: 'str', phase: 'response', minArgs: 1, maxArgs: 1, single: 'first',
  fetch: (ctx, a) => (ctx.res ? setCookies(ctx.res.values('set-cookie'), a[0]!) : []),
};
const urlParamDef: FetchDef = { type: 'str', minArgs: 1, maxArgs: 2, single: 'first', fetch: urlParam };

export const FETCHES: ReadonlyMap<string, FetchDef> = new Map<string, FetchDef>([
  ['always_true', { type: 'bool', ...none, fetch: () => [true] }],
  ['always_false', { type: 'bool', ...none, fetch: () => [false] }],
  ['src', { type: 'ip', ...none, fetch: (ctx) => [ctx.src] }],
  ['src_port', { type: 'int', ...none, fetch: (ctx) => [ctx.srcPort] }],
  ['dst', { type: 'ip', ...none, fetch: (ctx) => [ctx.dst] }],
  ['dst_port', { type: 'int', ...none, fetch: (ctx) => [ctx.dstPort] }],
  ['ssl_fc', { type: 'bool', ...none, fetch: () => [false] }], // no TLS listener yet
  ['method', { type: 'meth', ...none, fetch: (ctx) => [ctx.req.method] }],
  ['req.ver', { type: 'str', ...none, fetch: (ctx) => [ctx.req.requestVersion.replace(/^HTTP\//, '')] }],
  ['req_ver', { type: 'str', ...none, fetch: (ctx) => [ctx.req.requestVersion.replace(/^HTTP\//, '')] }],
  ['res.ver', { type: 'str', phase: 'response', ...none, fetch: (ctx) => (ctx.res ? [ctx.res.responseVersion.replace(/^HTTP\//, '')] : []) }],
  ['path', { type: 'str', ...none, fetch: (ctx) => [ctx.req.path] }],
  ['url', { type: 'str', ...none, fetch: (ctx) => [ctx.req.target] }],
  ['query', { type: 'str', ...none, fetch: (ctx) => list(ctx.req.query) }],
  ['base', { type: 'str', ...none, fetch: (ctx) => [(ctx.req.values('host')[0] ?? '') + ctx.req.path] }],
  ['url_param', urlParamDef],
  ['urlp', urlParamDef],
  ['hdr', hdr('req')],
  ['req.hdr', hdr('req')],
  ['req.fhdr', fhdr('req')],
  ['hdr_cnt', hdrCnt('req')],
  ['req.hdr_cnt', hdrCnt('req')],
  ['res.hdr', hdr('res')],
  ['shdr', hdr('res')],
  ['res.fhdr', fhdr('res')],
  ['res.hdr_cnt', hdrCnt('res')],
  ['shdr_cnt', hdrCnt('res')],
  ['req.cook', reqCook],
  ['cook', reqCook],
  ['cookie', reqCook], // HAProxy's older name, still accepted
  ['req.cook_cnt', { type: 'int', minArgs: 0, maxArgs: 1, fetch: (ctx, a) => [cookies(ctx.req.values('cookie'), a[0]).length] }],
  ['res.cook', resCook],
  ['scook', resCook],
  ['set-cookie', resCook], // HAProxy's older name, still accepted
  ['status', { type: 'int', phase: 'response', ...none, fetch: (ctx) => (ctx.res ? [ctx.res.status] : []) }],
  ['nbsrv', { type: 'int', ...one, fetch: (ctx, a) => [ctx.usableServers(a[0]!) ?? 0] }],
  ['http_auth', {
    type: 'bool', ...one,
    fetch: (ctx, a) => {
      const cred = basicAuth(ctx);
      return [cred !== undefined && (ctx.userlist(a[0]!)?.check(cred[0], cred[1]) ?? false)];
    },
  }],
  ['http_auth_group', {
    type: 'str', ...one,
    fetch: (ctx, a) => {
      const cred = basicAuth(ctx);
      const ul = ctx.userlist(a[0]!);
      return cred && ul?.check(cred[0], cred[1]) ? ul.groupsOf(cred[0]) : [];
    },
  }],
  ['http_auth_user', { type: 'str', ...none, fetch: (ctx) => list(basicAuth(ctx)?.[0]) }],
  ['var', {
    type: 'str', ...one,
    fetch: (ctx, a) => {
      const v = ctx.vars.get(a[0]!);
      return v === undefined ? [] : [v];
    },
  }],
  ['capture.req.hdr', { type: 'str', ...one, fetch: (ctx, a) => list(ctx.captures[Number(a[0])]) }],
  ['unique-id', { type: 'str', ...none, fetch: (ctx) => list(ctx.uniqueId) }],
  ['fe_name', { type: 'str', ...none, fetch: (ctx) => [ctx.frontend] }],
  ['be_name', { type: 'str', ...none, fetch: (ctx) => list(ctx.backend) }],
  ['req.rdp_cookie_cnt', {
    type: 'int', minArgs: 0, maxArgs: 1,
    // An RDP client's first bytes carry `Cookie: mstshash=...`; in HTTP this is a Cookie header.
    fetch: (ctx, a) => [cookies(ctx.req.values('cookie'), a[0] || 'mstshash').length],
  }],
]);

/** ACL keywords that are a fetch plus a match method: `path_beg` is `path -m beg`. */
export const ACL_ALIASES: ReadonlyMap<string, [fetch: string, method: MatchMethod]> = (() => {
  const m = new Map<string, [string, MatchMethod]>();
  const suffixes: MatchMethod[] = ['beg', 'end', 'sub', 'reg', 'dom', 'dir', 'len'];
  for (const [prefix, fetch] of [['hdr', 'hdr'], ['path', 'path'], ['url', 'url'], ['urlp', 'url_param'], ['cook', 'req.cook'], ['shdr', 'res.hdr'], ['scook', 'res.cook']] as const) {
    for (const s of suffixes) m.set(`${prefix}_${s}`, [fetch, s]);
  }
  m.set('hdr_val', ['hdr', 'int']);
  m.set('urlp_val', ['url_param', 'int']);
  m.set('path_found', ['path', 'found']);
  return m;
})();
