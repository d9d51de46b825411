// Sample fetches: HAProxy's names, arguments and types, for ACLs, log-format, set-var and
// stick rules alike.
import type { Phase, Sample, SampleContext, SampleType } from './sample.js';
import type { MatchMethod } from './pattern-match.js';
import net from 'node:net';
import { fullHash } from '../balance/hash-functions.js';
import { intSample, parseInt64 } from './int64.js';
import { addressBytes, expandIpv6, formatIpv6 } from './sample-cast.js';

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
  /** The one value, when it is not simply the first or last of `fetch`'s. */
  one?(ctx: SampleContext, args: readonly string[]): Sample | undefined;
  /** Checks the arguments at configuration time: what is wrong with them, in HAProxy's words. */
  check?(args: readonly string[]): string | undefined;
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

const list = <T extends Sample>(v: T | undefined): T[] => (v === undefined ? [] : [v]);

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

/** An argument of HAProxy's type SINT: what is wrong with it, as HAProxy words it. */
function badInt(args: readonly string[], index: number, required: boolean): string | undefined {
  const text = args[index];
  if (text === undefined || text === '') return required ? `expected type 'integer' at position ${index + 1}, but got nothing` : undefined;
  return parseInt64(text) === undefined ? `failed to parse '${text}' as type 'integer' at position ${index + 1}` : undefined;
}

const UNITS: Record<string, bigint> = { s: 1n, ms: 1000n, us: 1000000n };

/** HAProxy's date([offset[,unit]]): the time in the unit (seconds by default), plus the offset in that unit. */
function now(args: readonly string[]): Sample {
  const unit = UNITS[args[1] || 's']!;
  const us = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  const v = unit === 1n ? us / 1000000n : unit === 1000n ? us / 1000n : us;
  return intSample(v + (args[0] ? parseInt64(args[0])! : 0n));
}

/** HAProxy's rand([range]): 32 random bits, scaled to 0..range-1 by (bits * range) >> 32. */
function random(args: readonly string[]): Sample {
  const bits = Math.floor(Math.random() * 0x100000000);
  if (!args[0]) return bits;
  return intSample(BigInt.asIntN(64, BigInt.asUintN(64, BigInt(bits) * BigInt.asUintN(64, parseInt64(args[0])!)) >> 32n));
}

/**
 * A header value read as an address, as HAProxy's hdr_ip does: a dotted IPv4 address, alone or
 * followed by `:port`, or an IPv6 address as inet_pton(3) takes it; anything else is none.
 */
function headerAddress(value: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?::|$)/.exec(value);
  if (m) {
    const o = m.slice(1, 5).map(Number);
    return o.every((n) => n <= 255) ? o.join('.') : undefined;
  }
  if (value.includes(':') && addressBytes(value) !== undefined && !value.includes('%')) return formatIpv6(expandIpv6(value));
  return undefined;
}

const hdrIp: FetchDef = {
  type: 'ip', minArgs: 1, maxArgs: 2,
  check: (a) => (a[1] === undefined ? undefined : badInt(a, 1, false)),
  fetch: (ctx, a) => {
    const out: string[] = [];
    for (const v of occurrence(ctx.req.listValues(a[0]!), a)) {
      const ip = headerAddress(v);
      if (ip !== undefined) out.push(ip);
    }
    return out;
  },
  // one value: the occurrence asked for (the last by default), which has to be an address
  one: (ctx, a) => {
    const values = ctx.req.listValues(a[0]!);
    const v = a[1] === undefined ? values[values.length - 1] : occurrence(values, a)[0];
    return v === undefined ? undefined : headerAddress(v);
  },
};

/**
 * HAProxy's url_port: the port of an absolute URI whose host is an IPv4 address (80 when
 * absent); none for a relative URI or a host name (limpet never resolves names).
 */
function urlPort(target: string): number | undefined {
  const m = /^http:\/\/(\d+)\.(\d+)\.(\d+)\.(\d+)(?::(\d*))?(?:[/?]|$)/i.exec(target);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255)) return undefined;
  return m[5] ? Number(m[5]) & 0xffff : 80;
}

/** HAProxy's base32: sdbm over the Host header then the path (without query), avalanched. */
function base32(ctx: SampleContext): number {
  let h = 0;
  const add = (text: string) => {
    for (let i = 0; i < text.length; i++) h = (Math.imul(h, 65599) + text.charCodeAt(i)) >>> 0;
  };
  add(ctx.req.values('host')[0] ?? '');
  add(ctx.req.path);
  return fullHash(h);
}

/** HAProxy's req.hdrs: the header block as HTTP/1 lines, names lower-cased, ending with the empty line. */
function headerBlock(ctx: SampleContext): string {
  let out = '';
  for (const [name, value] of ctx.req.headers) out += `${name.toLowerCase()}: ${value}\r\n`;
  return `${out}\r\n`;
}

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
  ['int', { type: 'int', ...one, check: (a) => badInt(a, 0, true), fetch: (_ctx, a) => [intSample(parseInt64(a[0]!)!)] }],
  ['str', { type: 'str', minArgs: 0, maxArgs: 1, fetch: (_ctx, a) => [a[0] ?? ''] }], // str() is the empty string
  ['bool', {
    type: 'bool', ...one,
    check: (a) => (['true', 'false', '0', '1'].includes(a[0]!) ? undefined : "Expects 'true', 'false', '0' or '1'"),
    fetch: (_ctx, a) => [a[0] === 'true' || a[0] === '1'],
  }],
  ['ipv4', {
    type: 'ip', ...one,
    check: (a) => (net.isIPv4(a[0]!) ? undefined : `failed to parse '${a[0]}' as type 'IPv4 address' at position 1`),
    fetch: (_ctx, a) => [a[0]!.split('.').map(Number).join('.')],
  }],
  ['ipv6', {
    type: 'ip', ...one,
    check: (a) => (net.isIPv6(a[0]!) ? undefined : `failed to parse '${a[0]}' as type 'IPv6 address' at position 1`),
    fetch: (_ctx, a) => [formatIpv6(expandIpv6(a[0]!))],
  }],
  ['env', { type: 'str', ...one, fetch: (_ctx, a) => list(process.env[a[0]!]) }],
  ['rand', { type: 'int', minArgs: 0, maxArgs: 1, check: (a) => badInt(a, 0, false), fetch: (_ctx, a) => [random(a)] }],
  ['date', {
    type: 'int', minArgs: 0, maxArgs: 2,
    check: (a) => badInt(a, 0, false) ?? (a[1] && !(a[1] in UNITS) ? `expects 's', 'ms' or 'us', got '${a[1]}'` : undefined),
    fetch: (_ctx, a) => [now(a)],
  }],
  ['hdr_ip', hdrIp],
  ['req.hdr_ip', hdrIp],
  ['url_port', { type: 'int', ...none, fetch: (ctx) => list(urlPort(ctx.req.target)) }],
  ['base32', { type: 'int', ...none, fetch: (ctx) => [base32(ctx)] }],
  ['req.hdrs', { type: 'str', ...none, fetch: (ctx) => [headerBlock(ctx)] }],
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
