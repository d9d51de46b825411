// The `cookie` keyword: which server a request's persistence cookie names, what the request
// forwarded to the server keeps of it, and what the response tells the client. Decided on the
// request (HAProxy's "assigned, direct") and applied on the response, never re-derived.
import type { SampleContext } from '../acl/sample.js';
import type { CookieConfig, PersistRule } from '../config/types.js';
import type { Server } from '../backend/server.js';
import type { HeadEdit, MessageHead } from '../http/message-head.js';
import { parseCookieHeader, removeCookie, setCookieName } from '../http/cookie-header.js';
import { encodeCookieDate, encodeQuanta, splitCookieValue } from './cookie-date.js';

/**
 * HAProxy's client-cookie log flag: N none, I invalid, D server down, V valid, E expired
 * (maxidle), O too old (maxlife), U unused (persistence decided otherwise).
 */
export type ClientCookieState = 'N' | 'I' | 'D' | 'V' | 'E' | 'O' | 'U';

export interface CookieLookup {
  state: ClientCookieState;
  /** the server the cookie routes to (state V, or D with `option persist`) */
  server?: Server;
  /** `ignore-persist` matched: the cookie is neither used nor inserted */
  ignored?: boolean;
  /** `force-persist` matched: the cookie's server is used even down or in maintenance, never redispatched */
  forced?: boolean;
  /** the dates the cookie carried (unix seconds), kept for the Set-Cookie refresh */
  lastDate?: number;
  firstDate?: number;
}

export interface CookieLookupOptions {
  /** `option persist`: a cookie naming a down server still routes to it */
  persist?: boolean;
  /** `ignore-persist` matched for this request */
  ignore?: boolean;
  /** `force-persist` matched for this request */
  force?: boolean;
  /** now, in unix milliseconds (tests) */
  now?: number;
}

const PREFIX_DELIMITER = '~';
/** dates further than this in the future are not trusted (HAProxy: one day) */
const FUTURE_SLACK_S = 86400;

/** The first `force-persist` / `ignore-persist` rule of the backend whose condition matches. */
export function persistRuleFor(backend: { config: { persistRules?: PersistRule[] } }, ctx: SampleContext | undefined): { force?: true; ignore?: true } {
  if (!ctx) return {};
  for (const r of backend.config.persistRules ?? []) {
    if (r.cond.test(ctx)) return r.force ? { force: true } : { ignore: true };
  }
  return {};
}

/** Finds the persistence cookie in a request and the server it names (HAProxy's rules). */
export function lookupCookie(cfg: CookieConfig, head: MessageHead, servers: Server[], opts: CookieLookupOptions = {}): CookieLookup {
  let value: string | undefined;
  for (const h of head.headers) {
    if (h.name !== 'cookie') continue;
    for (const pair of parseCookieHeader(head.value(h))) {
      if (pair.name === cfg.name) {
        value = pair.value;
        break;
      }
    }
    if (value !== undefined) break;
  }
  const flags = opts.ignore ? { ignored: true } : {};
  if (value === undefined) return { state: 'N', ...flags };
  let serverValue: string;
  const out: CookieLookup = { state: 'I', ...flags };
  if (cfg.mode === 'prefix') serverValue = value.split(PREFIX_DELIMITER, 1)[0]!;
  else {
    const parts = splitCookieValue(value);
    serverValue = parts.server;
    if (parts.last !== undefined) out.lastDate = parts.last;
    if (parts.first !== undefined) out.firstDate = parts.first;
  }
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const maxlife = cfg.maxlife === undefined ? 0 : Math.floor(cfg.maxlife / 1000);
  const maxidle = cfg.maxidle === undefined ? 0 : Math.floor(cfg.maxidle / 1000);
  // Too old, then idle too long; a date far in the future is not trusted either.
  if (out.firstDate && maxlife && (now - out.firstDate > maxlife || out.firstDate - now > FUTURE_SLACK_S)) {
    return { state: 'O', ...flags };
  }
  if (out.lastDate && maxidle && (now - out.lastDate > maxidle || out.lastDate - now > FUTURE_SLACK_S)) {
    return { state: 'E', ...flags };
  }
  // ignore-persist: the cookie is "unused" (HAProxy's U), persistence does not decide.
  if (opts.ignore) return { state: 'U', ignored: true };
  if (serverValue === '') return out; // an empty value never matches a cookie-less server
  // Several servers may share a value (a normal one and its backup): the first usable one wins;
  // with `option persist` the first one, even down.
  for (const s of servers) {
    if (s.cookie !== serverValue) continue;
    // `option persist` and `force-persist` reach a down server, and one in maintenance too.
    if (s.usable || opts.force || opts.persist) {
      out.state = s.usable ? 'V' : 'D';
      out.server = s;
      if (opts.force) out.forced = true;
      return out;
    }
    out.state = 'D';
  }
  return out;
}

/**
 * Edits the request forwarded to the server: `indirect` insert mode hides the persistence
 * cookie from the application; prefix mode strips `SRV~` so the application sees its own value.
 */
export function editRequestCookie(cfg: CookieConfig, head: MessageHead, edit: HeadEdit): void {
  if (!(cfg.mode === 'insert' && cfg.indirect) && cfg.mode !== 'prefix') return;
  for (const h of head.headers) {
    if (h.name !== 'cookie') continue;
    const value = head.value(h);
    const pairs = parseCookieHeader(value);
    if (!pairs.some((p) => p.name === cfg.name)) continue;
    const headerName = head.raw.toString('latin1', h.start, h.start + 6);
    if (cfg.mode === 'insert') {
      const rest = removeCookie(value, cfg.name);
      if (rest === undefined) edit.drop(h);
      else edit.replace(h, `${headerName}: ${rest}`);
    } else {
      const rebuilt = pairs
        .map((p) => {
          if (p.name !== cfg.name) return value.slice(p.start, p.end);
          const cut = p.value.indexOf(PREFIX_DELIMITER);
          return cut === -1 ? value.slice(p.start, p.end) : `${p.name}=${p.value.slice(cut + 1)}`;
        })
        .join('; ');
      edit.replace(h, `${headerName}: ${rebuilt}`);
    }
  }
}

/**
 * HAProxy's server-cookie log flag: N none, I inserted, U date updated, P provided by the server
 * and passed as is, R rewritten (rewrite / prefix), D deleted.
 */
export type ServerCookieState = 'N' | 'I' | 'U' | 'P' | 'R' | 'D';

export interface ResponseCookieContext {
  server: Server;
  /** the request was routed by its persistence cookie */
  direct: boolean;
  method: string | undefined;
  /** what the request's cookie said (for the maxidle / maxlife dates) */
  lookup?: CookieLookup;
  /** now, in unix milliseconds (tests) */
  now?: number;
}

/** Applies insert / rewrite / prefix to a response head; returns the server-side log flag. */
export function editResponseCookie(
  cfg: CookieConfig,
  head: MessageHead,
  edit: HeadEdit,
  ctx: ResponseCookieContext,
): ServerCookieState {
  let serverSetIt = false;
  let state: ServerCookieState = 'N';
  for (const h of head.headers) {
    if (h.name !== 'set-cookie') continue;
    const value = head.value(h);
    if (setCookieName(value) !== cfg.name) continue;
    serverSetIt = true;
    state = 'P';
    // `preserve` leaves the application's cookie alone (it may be ending persistence).
    if (cfg.preserve) continue;
    if (cfg.mode === 'insert' || (cfg.indirect && ctx.direct)) {
      // Insert mode replaces it with ours; `indirect` hides it from a client already routed.
      edit.drop(h);
      state = 'D';
    } else if (ctx.server.cookie !== undefined) {
      const eq = value.indexOf('=');
      const semi = value.indexOf(';', eq);
      const appValue = value.slice(eq + 1, semi === -1 ? value.length : semi).trim();
      const newValue = cfg.mode === 'rewrite' ? ctx.server.cookie : `${ctx.server.cookie}${PREFIX_DELIMITER}${appValue}`;
      const headerName = head.raw.toString('latin1', h.start, h.start + 10);
      edit.replace(h, `${headerName}: ${cfg.name}=${newValue}${semi === -1 ? '' : value.slice(semi)}`);
      state = 'R';
    }
  }
  if (cfg.mode !== 'insert') return state;
  if (cfg.preserve && serverSetIt) return state;
  if (cfg.postonly && ctx.method !== 'POST') return state;
  if (ctx.lookup?.ignored) return state;
  const now = Math.floor((ctx.now ?? Date.now()) / 1000);
  // The request's dates count even when it was not routed by them (HAProxy keeps the first-seen
  // date of a client redispatched away from a down server).
  const last = ctx.lookup?.lastDate;
  const first = ctx.lookup?.firstDate;
  // A routed client gets a new cookie only to refresh its last-seen date (at most every ~4 s),
  // to add a first-seen date maxlife now wants, or to drop one it no longer wants.
  const refresh =
    ((cfg.maxidle !== undefined || last !== undefined) && (last === undefined || last < now)) ||
    (cfg.maxlife !== undefined && first === undefined) ||
    (cfg.maxlife === undefined && first !== undefined);
  if (ctx.direct && !refresh) return state;
  edit.append(`Set-Cookie: ${insertedCookie(cfg, ctx.server, now, first)}`);
  if (cfg.nocache && isCacheable(head, ctx.method)) edit.append('Cache-control: private');
  return ctx.server.cookie !== undefined && ctx.direct ? 'U' : 'I';
}

/** The Set-Cookie value HAProxy builds, attribute for attribute. */
export function insertedCookie(cfg: CookieConfig, server: Server, nowSeconds = Math.floor(Date.now() / 1000), firstDate?: number): string {
  let out: string;
  if (server.cookie === undefined) {
    // A server without a cookie value (a cookie-less backup) clears the client's cookie.
    out = `${cfg.name}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/`;
  } else {
    out = `${cfg.name}=${server.cookie}`;
    if (cfg.maxidle !== undefined || cfg.maxlife !== undefined) {
      out += `|${encodeCookieDate(nowSeconds)}`;
      if (cfg.maxlife !== undefined) out += `|${firstDate !== undefined ? encodeQuanta(firstDate >>> 2) : encodeCookieDate(nowSeconds)}`;
    }
    out += '; path=/';
  }
  for (const d of cfg.domains) out += `; domain=${d}`;
  if (cfg.httponly) out += '; HttpOnly';
  if (cfg.secure) out += '; Secure';
  for (const a of cfg.attrs) out += `; ${a}`;
  return out;
}

/** HAProxy's two cookie characters of the termination state (%tsc), '-' without a cookie. */
export function cookieLogFlags(client: ClientCookieState | undefined, server: ServerCookieState | undefined): string {
  return (client ?? '-') + (server ?? '-');
}

/** Statuses HAProxy considers cacheable by default (RFC 7231 section 6.1). */
const CACHEABLE_STATUS = new Set([200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501]);

/**
 * Whether a shared cache could store this response, as HAProxy decides before `nocache` adds
 * `Cache-control: private`: a GET or HEAD, a cacheable status, nothing forbidding it, and a
 * freshness lifetime or a validator (a plain response without one is not cached).
 */
export function isCacheable(head: MessageHead, method: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head.startLine)?.[1]);
  if (!CACHEABLE_STATUS.has(status)) return false;
  for (const tok of head.tokens('pragma')) if (tok === 'no-cache') return false;
  let fresh = head.has('expires') || head.has('last-modified') || head.has('etag');
  for (const tok of head.tokens('cache-control')) {
    if (tok === 'private' || tok === 'no-cache' || tok === 'no-store' || tok === 'max-age=0' || tok === 's-maxage=0') return false;
    if (tok.startsWith('private=') || tok.startsWith('no-cache=')) return false;
    if (tok.startsWith('max-age=') || tok.startsWith('s-maxage=')) fresh = true;
  }
  return fresh;
}
