// The `cookie` keyword: which server a request's persistence cookie names, what the request
// forwarded to the server keeps of it, and what the response tells the client. Decided on the
// request (HAProxy's "assigned, direct") and applied on the response, never re-derived.
import type { CookieConfig } from '../config/types.js';
import type { Server } from '../backend/server.js';
import type { HeadEdit, MessageHead } from '../http/message-head.js';
import { parseCookieHeader, removeCookie, setCookieName } from '../http/cookie-header.js';

/** HAProxy's client-cookie log flag: N none, I invalid, D server down, V valid. */
export type ClientCookieState = 'N' | 'I' | 'D' | 'V';

export interface CookieLookup {
  state: ClientCookieState;
  /** the server the cookie routes to (state V) */
  server?: Server;
}

const PREFIX_DELIMITER = '~';

/** Finds the persistence cookie in a request and the usable server it names. */
export function lookupCookie(cfg: CookieConfig, head: MessageHead, servers: Server[]): CookieLookup {
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
  if (value === undefined) return { state: 'N' };
  const serverValue = cfg.mode === 'prefix' ? value.split(PREFIX_DELIMITER, 1)[0]! : value;
  if (serverValue === '') return { state: 'I' }; // an empty value never matches a cookie-less server
  let known = false;
  // Several servers may share a value (a normal one and its backup): the first usable one wins.
  for (const s of servers) {
    if (s.cookie !== serverValue) continue;
    known = true;
    if (s.usable) return { state: 'V', server: s };
  }
  return { state: known ? 'D' : 'I' };
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

/** HAProxy's server-cookie log flag: N none, I inserted, P provided by the server, R rewritten, D deleted. */
export type ServerCookieState = 'N' | 'I' | 'P' | 'R' | 'D';

export interface ResponseCookieContext {
  server: Server;
  /** the request was routed by a valid persistence cookie */
  direct: boolean;
  method: string | undefined;
}

/** Applies insert / rewrite / prefix to a response head. */
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
    if (cfg.mode === 'insert') {
      // The application's own cookie of that name is removed, unless `preserve` lets it end persistence.
      if (!cfg.preserve) {
        edit.drop(h);
        state = 'D';
      } else state = 'P';
    } else if (cfg.mode === 'rewrite' || cfg.mode === 'prefix') {
      if (cfg.indirect && ctx.direct) {
        edit.drop(h);
        state = 'D';
        continue;
      }
      if (ctx.server.cookie === undefined) continue;
      const eq = value.indexOf('=');
      const semi = value.indexOf(';', eq);
      const appValue = value.slice(eq + 1, semi === -1 ? value.length : semi);
      const newValue = cfg.mode === 'rewrite' ? ctx.server.cookie : `${ctx.server.cookie}${PREFIX_DELIMITER}${appValue}`;
      const headerName = head.raw.toString('latin1', h.start, h.start + 10);
      edit.replace(h, `${headerName}: ${cfg.name}=${newValue}${semi === -1 ? '' : value.slice(semi)}`);
      state = 'R';
    }
  }
  if (cfg.mode !== 'insert') return state;
  if (ctx.direct) return state;
  if (cfg.preserve && serverSetIt) return state;
  if (cfg.postonly && ctx.method !== 'POST') return state;
  edit.append(`Set-Cookie: ${insertedCookie(cfg, ctx.server)}`);
  if (cfg.nocache && isCacheable(head)) edit.append('Cache-control: private');
  return 'I';
}

/** The Set-Cookie value HAProxy builds, attribute for attribute. */
export function insertedCookie(cfg: CookieConfig, server: Server): string {
  if (server.cookie === undefined) {
    // A server without a cookie value (a cookie-less backup) clears the client's cookie.
    return `${cfg.name}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/`;
  }
  let out = `${cfg.name}=${server.cookie}; path=/`;
  for (const d of cfg.domains) out += `; domain=${d}`;
  if (cfg.httponly) out += '; HttpOnly';
  if (cfg.secure) out += '; Secure';
  for (const a of cfg.attrs) out += `; ${a}`;
  return out;
}

function isCacheable(head: MessageHead): boolean {
  for (const tok of head.tokens('cache-control')) {
    if (tok === 'private' || tok === 'no-cache' || tok === 'no-store' || tok.startsWith('private=') || tok.startsWith('no-cache=')) {
      return false;
    }
  }
  for (const tok of head.tokens('pragma')) if (tok === 'no-cache') return false;
  return true;
}
