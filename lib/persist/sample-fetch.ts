// Sample fetches: the expressions stick rules (and later ACLs) read from a connection, a
// request or a response, with HAProxy's names. Parsing is pure (the config layer uses it to
// reject bad expressions with file:line); evaluation reads a message head.
import { parseCookieHeader } from '../http/cookie-header.js';
import type { MessageHead } from '../http/message-head.js';

export type FetchName = 'src' | 'req.cook' | 'res.cook' | 'req.hdr' | 'res.hdr' | 'url_param' | 'path';

/** A parsed fetch, plain data so it can live in the configuration model. */
export interface SampleFetch {
  /** canonical name (aliases such as `cookie(N)` are resolved to `req.cook`) */
  name: FetchName;
  /** the name argument: cookie, header or parameter name */
  arg?: string;
  /** which message it reads: the connection, the request or the response */
  phase: 'connection' | 'request' | 'response';
  /** as written in the configuration, for messages */
  text: string;
}

export interface SampleSource {
  /** client address, IPv4-mapped IPv6 already unwrapped */
  src: string;
  request?: MessageHead;
  response?: MessageHead;
}

const FETCHES: Record<string, { name: FetchName; needsArg: boolean }> = {
  src: { name: 'src', needsArg: false },
  path: { name: 'path', needsArg: false },
  'req.cook': { name: 'req.cook', needsArg: true },
  cookie: { name: 'req.cook', needsArg: true },
  'res.cook': { name: 'res.cook', needsArg: true },
  'set-cookie': { name: 'res.cook', needsArg: true },
  'req.hdr': { name: 'req.hdr', needsArg: true },
  hdr: { name: 'req.hdr', needsArg: true },
  'res.hdr': { name: 'res.hdr', needsArg: true },
  shdr: { name: 'res.hdr', needsArg: true },
  url_param: { name: 'url_param', needsArg: true },
  urlp: { name: 'url_param', needsArg: true },
};

/** Parses `src`, `req.cook(JSESSIONID)`, `url_param(id)`...; throws an Error saying what is wrong. */
export function parseSampleFetch(text: string): SampleFetch {
  const m = /^([a-z_.-]+)(?:\(([^()]*)\))?$/.exec(text);
  if (!m) {
    if (text.includes(',')) throw new Error(`converters are not supported yet in '${text}'`);
    throw new Error(`invalid sample fetch expression '${text}'`);
  }
  const known = FETCHES[m[1]!];
  if (!known) {
    throw new Error(`unknown fetch method '${m[1]}' (supported: src, req.cook(), res.cook(), req.hdr(), res.hdr(), url_param(), path)`);
  }
  const arg = m[2]?.trim();
  if (known.needsArg && !arg) throw new Error(`fetch method '${m[1]}' expects a name argument, as in ${m[1]}(NAME)`);
  if (!known.needsArg && m[2] !== undefined && m[2] !== '') throw new Error(`fetch method '${m[1]}' takes no argument`);
  if (arg?.includes(',')) throw new Error(`'${text}': only the name argument is supported yet`);
  const phase = known.name === 'src' ? 'connection' : known.name.startsWith('res.') ? 'response' : 'request';
  return { name: known.name, ...(known.needsArg ? { arg: arg! } : {}), phase, text };
}

/** The sample's value, or undefined when it is absent (no such cookie, header or parameter). */
export function fetchSample(fetch: SampleFetch, source: SampleSource): string | undefined {
  switch (fetch.name) {
    case 'src':
      return source.src;
    case 'req.cook':
      return source.request ? requestCookie(source.request, fetch.arg!) : undefined;
    case 'res.cook':
      return source.response ? responseCookie(source.response, fetch.arg!) : undefined;
    case 'req.hdr':
      return source.request ? lastHeaderValue(source.request, fetch.arg!) : undefined;
    case 'res.hdr':
      return source.response ? lastHeaderValue(source.response, fetch.arg!) : undefined;
    case 'url_param':
      return source.request ? urlParam(target(source.request), fetch.arg!) : undefined;
    case 'path':
      return source.request ? pathOf(target(source.request)) : undefined;
  }
}

function target(head: MessageHead): string {
  const line = head.startLine;
  return line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
}

function pathOf(t: string): string {
  let start = 0;
  // Absolute form (`http://host/p`): the path starts after the authority, as HAProxy's `path`.
  const scheme = t.indexOf('://');
  if (scheme !== -1 && !t.startsWith('/')) {
    const slash = t.indexOf('/', scheme + 3);
    if (slash === -1) return '/';
    start = slash;
  }
  const q = t.indexOf('?', start);
  return t.slice(start, q === -1 ? t.length : q);
}

function urlParam(t: string, name: string): string | undefined {
  const q = t.indexOf('?');
  if (q === -1) return undefined;
  const hash = t.indexOf('#', q);
  const query = t.slice(q + 1, hash === -1 ? t.length : hash);
  for (const part of query.split(/[&;]/)) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq) === name) return part.slice(eq + 1);
  }
  return undefined;
}

// HAProxy's req.hdr(name) without an occurrence returns the last occurrence; a comma-separated
// header counts each element as an occurrence.
function lastHeaderValue(head: MessageHead, name: string): string | undefined {
  const values = head.values(name.toLowerCase());
  if (values.length === 0) return undefined;
  const last = values[values.length - 1]!;
  const comma = last.lastIndexOf(',');
  return comma === -1 ? last : last.slice(comma + 1).trim();
}

function requestCookie(head: MessageHead, name: string): string | undefined {
  for (const value of head.values('cookie')) {
    for (const pair of parseCookieHeader(value)) if (pair.name === name) return pair.value;
  }
  return undefined;
}

function responseCookie(head: MessageHead, name: string): string | undefined {
  for (const value of head.values('set-cookie')) {
    const eq = value.indexOf('=');
    if (eq === -1 || value.slice(0, eq).trim() !== name) continue;
    const semi = value.indexOf(';', eq);
    return value.slice(eq + 1, semi === -1 ? value.length : semi).trim();
  }
  return undefined;
}
