// `balance url_param NAME [check_post]`: a POST whose query string lacks the parameter is
// placed on the parameter found in its form body (HAProxy's get_server_ph_post). HAProxy 2.x
// does this for every url_param backend, `check_post` or not (the option is kept for old
// configurations, and HAProxy 2.6 places such POSTs by their body without it). It waits before
// placing the request until the body announced has fully arrived or the request buffer is
// full, then scans the first bytes of the body; a body that is not URL-encoded gives no key.
import type { BalanceConfig } from '../config/types.js';
import { urlParam } from './request-key.js';

/** How the request body is delimited, as the HTTP session reads it. */
export type BodyFramingView = { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

/** Whether this request must wait for its body before a server is picked. */
export function wantsPostBody(balance: BalanceConfig, method: string, target: string): boolean {
  return (
    balance.algorithm === 'url_param' &&
    method === 'POST' &&
    urlParam(target, balance.args[0]!) === undefined
  );
}

/**
 * The body bytes to scan, once all of the body is in `input` or `limit` bytes are (at most
 * `limit`: what a buffer holds; HAProxy's is a little smaller, as it also holds the head);
 * undefined while more should come. Chunked bodies give their data without the chunk framing; a
 * malformed chunk ends the scan (the session answers it when it forwards the body).
 */
export function postBodyToScan(framing: BodyFramingView, input: Buffer, limit: number): Buffer | undefined {
  switch (framing.kind) {
    case 'none':
    case 'close':
      return Buffer.alloc(0);
    case 'length':
      // never more than a buffer holds, even when more has already arrived
      if (input.length >= framing.remaining || input.length >= limit) return input.subarray(0, Math.min(framing.remaining, limit));
      return undefined;
    case 'chunked': {
      const { data, complete } = chunkedData(input.subarray(0, limit));
      return complete || input.length >= limit ? data : undefined;
    }
  }
}

/** The data of the chunks in `input` (a partial last chunk included); complete once the last chunk or an error is seen. */
function chunkedData(input: Buffer): { data: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = input.indexOf('\r\n', at, 'latin1');
    if (eol === -1) return { data: Buffer.concat(parts), complete: false };
    const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/s.exec(input.toString('latin1', at, eol));
    if (!m) return { data: Buffer.concat(parts), complete: true };
    const size = parseInt(m[1]!, 16);
    if (size === 0) return { data: Buffer.concat(parts), complete: true };
    const start = eol + 2;
    parts.push(input.subarray(start, Math.min(start + size, input.length)));
    if (start + size + 2 > input.length) return { data: Buffer.concat(parts), complete: false };
    at = start + size + 2;
  }
}

// HAProxy's HTTP_IS_TOKEN and HTTP_IS_LWS.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const LWS = new Set([0x20, 0x09, 0x0d, 0x0a]);

/**
 * The value of `name` in a form body (`a=1&b=2`), up to the next '&' or the end of the bytes
 * scanned. HAProxy 2.6 judges the value by its first byte only (its loop tests the start of
 * the value, not each byte; later versions test each byte and stop at white space): white
 * space there gives an empty value, any other byte that is not a token character means the
 * body is not URL-encoded, hence no key.
 */
export function bodyParam(body: Buffer, name: string): Buffer | undefined {
  const key = Buffer.from(name, 'latin1');
  let at = 0;
  while (body.length - at > key.length) {
    if (body[at + key.length] === 0x3d && body.compare(key, 0, key.length, at, at + key.length) === 0) {
      const start = at + key.length + 1;
      const amp = body.indexOf(0x26, start);
      const end = amp === -1 ? body.length : amp;
      if (end === start || LWS.has(body[start]!)) return body.subarray(start, start);
      if (!TOKEN.test(String.fromCharCode(body[start]!))) return undefined;
      return body.subarray(start, end);
    }
    const amp = body.indexOf(0x26, at);
    if (amp === -1) return undefined;
    at = amp + 1;
  }
  return undefined;
}
