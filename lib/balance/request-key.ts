// What a hash balancer hashes, taken from the request as HAProxy's backend.c takes it:
// `source` (the client address), `uri`, `url_param`, `hdr`, `rdp-cookie` and `hash <expr>`
// (with the ACL engine's converters).
// Each extractor returns the 32-bit hash, or undefined when the request has no such key (the
// balancer then falls back to round robin, as HAProxy does).
import { isIP } from 'node:net';
import type { PickContext } from './balancer.js';
import { fullHash, genHash, type HashFunction } from './hash-functions.js';
import { splitCalls, type Call } from '../acl/call-syntax.js';
import { ConverterError, CONVERTERS, type Converter } from '../acl/converters.js';
import type { Sample } from '../acl/sample.js';
import { ConfigError } from '../config/config-error.js';
import { bodyParam } from './post-body.js';

export interface HashSettings {
  fn: HashFunction;
  avalanche: boolean;
}

export type KeyHasher = (ctx: PickContext) => number | undefined;

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Builds the hasher for `balance ALGO ARGS`, or throws on something limpet cannot hash. */
export function requestKeyHasher(algorithm: string, args: readonly string[], h: HashSettings): KeyHasher {
  const hash = (s: string | Uint8Array | undefined): number | undefined =>
    s === undefined ? undefined : genHash(h.fn, h.avalanche, typeof s === 'string' ? latin1(s) : s);
  switch (algorithm) {
    case 'source':
      return (ctx) => sourceHash(ctx.clientAddress, h.avalanche);
    case 'uri': {
      const opts = uriOptions(args);
      return (ctx) => (ctx.uri === undefined ? undefined : hash(uriKey(ctx.uri, opts)));
    }
    case 'url_param': {
      const name = args[0]!;
      return (ctx) => {
        if (ctx.uri === undefined) return undefined;
        const inQuery = urlParam(ctx.uri, name);
        if (inQuery !== undefined) return hash(inQuery);
        // a POST without the parameter in its query string is looked up in its body (HAProxy
        // 2.x does so with or without `check_post`)
        if (ctx.method === 'POST' && ctx.body) return hash(bodyParam(ctx.body, name));
        return undefined;
      };
    }
    case 'hdr': {
      const name = args[0]!.toLowerCase();
      const domainOnly = args[1] === 'use_domain_only';
      return (ctx) => {
        const v = ctx.header?.(name);
        if (v === undefined) return undefined;
        const first = v.split(',', 1)[0]!.trim();
        return hash(domainOnly ? mainDomain(first) : first);
      };
    }
    case 'rdp-cookie': {
      const name = args[0] ?? 'mstshash';
      return (ctx) => hash(ctx.rdpCookie?.(name));
    }
    case 'hash':
      return sampleHasher(args.join(' '), hash);
    default:
      throw new Error(`'${algorithm}' is not a hash-based algorithm`);
  }
}

/** HAProxy's source hash: the address' 32-bit big-endian words XORed, not the hash function. */
export function sourceHash(address: string | undefined, avalanche: boolean): number | undefined {
  const bytes = addressBytes(address);
  if (!bytes) return undefined;
  let h = 0;
  for (let i = 0; i + 4 <= bytes.length; i += 4) h ^= bytes.readUInt32BE(i);
  h >>>= 0;
  return avalanche ? fullHash(h) : h;
}

/** 4 bytes for IPv4 (including IPv4-mapped IPv6, as a v4 listener sees it), 16 for IPv6. */
export function addressBytes(address: string | undefined): Buffer | undefined {
  if (!address) return undefined;
  let a = address;
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  const kind = isIP(a);
  if (kind === 4) return Buffer.from(a.split('.').map(Number));
  if (kind !== 6) return undefined;
  return ipv6Bytes(a);
}

/** The 16 bytes of an IPv6 address written as text (`::` and a trailing dotted quad allowed). */
export function ipv6Bytes(a: string): Buffer {
  const out = Buffer.alloc(16);
  let text = a;
  // a trailing dotted quad (::1.2.3.4) stands for the last two groups
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = quad[1]!.split('.').map(Number);
    text = text.slice(0, -quad[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface UriOptions {
  whole: boolean;
  pathOnly: boolean;
  len: number;
  /** HAProxy stores depth + 1: the number of the '/' that ends the hashed part */
  depthSlash: number;
}

export function uriOptions(args: readonly string[]): UriOptions {
  const o: UriOptions = { whole: false, pathOnly: false, len: 0, depthSlash: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === 'whole') o.whole = true;
    else if (a === 'path-only') o.pathOnly = true;
    else if (a === 'len') o.len = Number(args[++i]);
    else if (a === 'depth') o.depthSlash = Number(args[++i]) + 1;
  }
  return o;
}

/** The part of the request target that `balance uri` hashes (get_server_uh). */
export function uriKey(target: string, o: UriOptions): string {
  let uri = target;
  if (o.pathOnly) uri = pathOf(uri);
  let n = uri.length;
  if (o.len && o.len < n) n = o.len;
  let slashes = 0;
  let end = 0;
  for (; end < n; end++) {
    const c = uri.charCodeAt(end);
    if (c === 0x2f) {
      if (++slashes === o.depthSlash) break;
    } else if (c === 0x3f && !o.whole) break;
  }
  return uri.slice(0, end);
}

/** The path of a request target: an absolute-form target loses its scheme and authority. */
export function pathOf(target: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  const rest = m ? target.slice(m[0].length) : target;
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  return m && path === '' ? '/' : path;
}

/** The value of query parameter `name` (get_server_ph): the first `name=` after the '?'. */
export function urlParam(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q === -1) return undefined;
  return formParam(target.slice(q + 1), name);
}

/** The value of `name` in an `a=1&b=2` list; a parameter without '=' never matches. */
export function formParam(list: string, name: string): string | undefined {
  for (const part of list.split('&')) {
    if (part.length > name.length && part[name.length] === '=' && part.startsWith(name)) {
      return part.slice(name.length + 1);
    }
  }
  return undefined;
}

/** `use_domain_only`: the label before the top-level domain ("www.example.com" → "example"). */
export function mainDomain(host: string): string {
  let end = -1;
  for (let i = host.length - 1; i > 0; i--) {
    if (end === -1) {
      if (host[i] === '.') end = i;
    } else if (host[i - 1] === '.') return host.slice(i, end);
  }
  return end === -1 ? host : host.slice(0, end);
}

/** `balance hash <expr>` for the sample fetches limpet supports. */
function sampleHasher(expr: string, hash: (s: string | Uint8Array | undefined) => number | undefined): KeyHasher {
  const fetch = parseSample(expr);
  return (ctx) => hash(fetch(ctx));
}

export const SUPPORTED_SAMPLES = 'src, path, url, req.hdr(NAME), hdr(NAME), req.cook(NAME), req.cookie(NAME), cook(NAME), url_param(NAME), urlp(NAME)';

type Fetch = (ctx: PickContext) => string | Uint8Array | undefined;

/**
 * Parses a sample expression, `fetch(args),converter(args),...` in the ACL engine's syntax;
 * the converters are the ACL engine's (lib/acl/converters.ts). Throws, naming what limpet
 * supports, on an unknown fetch or converter.
 */
export function parseSample(expr: string): Fetch {
  let calls: Call[];
  try {
    calls = splitCalls(expr.trim(), { file: '', line: 0 }, 'balance');
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(err.detail.replace(/^'balance' : /, ''));
    throw err;
  }
  const [first, ...rest] = calls;
  if (rest.length === 0) return fetchOf(first!.name, first!.args, expr);
  const source: (ctx: PickContext) => Sample | undefined =
    first!.name === 'src' ? (ctx) => addressText(ctx.clientAddress) : (fetchOf(first!.name, first!.args, expr) as (ctx: PickContext) => string | undefined);
  const convs = rest.map((c): Converter => {
    const def = CONVERTERS.get(c.name);
    if (!def) throw new Error(`unsupported converter '${c.name}' in '${expr}' (limpet supports ${[...CONVERTERS.keys()].join(', ')})`);
    if (c.args.length < def.minArgs || c.args.length > def.maxArgs) {
      throw new Error(`converter '${c.name}' expects ${def.minArgs === def.maxArgs ? def.minArgs : `${def.minArgs} to ${def.maxArgs}`} argument(s) in '${expr}'`);
    }
    try {
      return def.make(c.args);
    } catch (err) {
      if (err instanceof ConverterError) throw new Error(`converter '${c.name}': ${err.message}`);
      throw err;
    }
  });
  return (ctx) => {
    let v = source(ctx);
    for (const c of convs) {
      if (v === undefined) return undefined;
      v = c(v);
    }
    return v === undefined ? undefined : sampleBytes(v);
  };
}

/** HAProxy hashes a sample cast to binary: a string as its bytes, an integer as 8 bytes, big-endian. */
function sampleBytes(v: Sample): string | Uint8Array {
  if (typeof v === 'string') return v;
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(typeof v === 'boolean' ? Number(v) : Math.trunc(v)));
  return b;
}

/** The client address as a string sample (what a converter after `src` sees). */
function addressText(address: string | undefined): string | undefined {
  if (!address) return undefined;
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function fetchOf(name: string, arg: readonly string[], expr: string): Fetch {
  const need = (): string => {
    if (!arg[0]) throw new Error(`'${name}' needs a name argument`);
    return arg[0];
  };
  switch (name) {
    case 'src':
      return (ctx) => addressBytes(ctx.clientAddress);
    case 'path':
      return (ctx) => (ctx.uri === undefined ? undefined : pathOf(ctx.uri));
    case 'url':
      return (ctx) => ctx.uri;
    case 'req.hdr':
    case 'hdr': {
      const h = need().toLowerCase();
      // Outside an ACL a header fetch returns the last value of the list.
      return (ctx) => ctx.header?.(h)?.split(',').pop()!.trim();
    }
    case 'req.cook':
    case 'req.cookie':
    case 'cook': {
      const c = need();
      return (ctx) => cookieValue(ctx.header?.('cookie'), c);
    }
    case 'url_param':
    case 'urlp': {
      const p = need();
      return (ctx) => (ctx.uri === undefined ? undefined : urlParam(ctx.uri, p));
    }
    default:
      throw new Error(`unsupported sample expression '${expr}' (limpet supports ${SUPPORTED_SAMPLES})`);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
