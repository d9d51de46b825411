// The checks RFC 9112 asks for that llhttp lets through, made on heads llhttp already accepted.
// llhttp refuses bad tokens, CTLs, obs-fold, bare LF, CL with TE and bad lengths; these rules add
// what a proxy must also refuse so that no server behind it sees an ambiguous message.
import type { MessageHead } from './message-head.js';
import type { ParsedHead } from './parser.js';

/** HAProxy's default `tune.http.maxhdr`. */
export const DEFAULT_MAXHDR = 101;

// method SP request-target SP HTTP-version, each separated by exactly one space
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ ]+ HTTP\/1\.[01]$/;

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/** Why a request head must be refused with 400, or undefined when it may be forwarded. */
export function requestHeadProblem(head: MessageHead, parsed: ParsedHead, maxhdr: number): string | undefined {
  if (parsed.versionMajor !== 1 || parsed.versionMinor > 1) return `unsupported version ${parsed.versionMajor}.${parsed.versionMinor}`;
  if (!REQUEST_LINE.test(head.startLine)) return 'malformed request line';
  const target = head.startLine.slice(head.startLine.indexOf(' ') + 1, head.startLine.lastIndexOf(' '));
  // A fragment never travels in a request (RFC 9112 3.2); HAProxy refuses '#' too.
  if (target.includes('#')) return "'#' in the request target";
  if (head.headers.length > maxhdr) return `more than ${maxhdr} header fields (tune.http.maxhdr)`;
  let hosts = 0;
  for (const h of head.headers) if (h.name === 'host') hosts++;
  // RFC 9112 3.2: exactly one Host in HTTP/1.1, and never two.
  if (hosts > 1) return 'several Host header fields';
  if (hosts === 0 && parsed.versionMinor === 1) return 'HTTP/1.1 request without Host';
  // RFC 9112 3.2: with an authority in the target, Host must be that authority (HAProxy
  // enforces it since 2.1), or the server and limpet could disagree on where it goes.
  // (origin-form, `/...`, the usual case, has none: no regex run for it)
  const authority = parsed.method === 'CONNECT' ? target : target.charCodeAt(0) === 47 ? undefined : ABSOLUTE_FORM.exec(target)?.[1]?.replace(/^[^@]*@/, '');
  if (authority !== undefined && hosts === 1 && head.first('host')!.toLowerCase() !== authority.toLowerCase()) {
    return 'Host does not match the authority of the target';
  }
  // RFC 9112 6.1: an HTTP/1.0 message cannot be chunked; its framing would be ambiguous.
  if (parsed.versionMinor === 0 && head.has('transfer-encoding')) return 'Transfer-Encoding in an HTTP/1.0 request';
  return undefined;
}

/** Why a response head must be answered with 502 instead, or undefined. */
export function responseHeadProblem(head: MessageHead, parsed: ParsedHead, maxhdr: number): string | undefined {
  if (parsed.versionMajor !== 1 || parsed.versionMinor > 1) return `unsupported version ${parsed.versionMajor}.${parsed.versionMinor}`;
  if (head.headers.length > maxhdr) return `more than ${maxhdr} header fields (tune.http.maxhdr)`;
  if (head.has('transfer-encoding')) {
    if (parsed.versionMinor === 0) return 'Transfer-Encoding in an HTTP/1.0 response';
    const te = head.tokens('transfer-encoding');
    if (te.filter((t) => t === 'chunked').length > 1) return 'chunked applied twice';
  }
  return undefined;
}

/**
 * The header lines a proxy must not forward (RFC 9110 7.6.1): Connection, the fields it names,
 * and the old keep-alive fields. `keep` names fields to forward anyway (Upgrade on an upgrade).
 */
export function hopByHopLines(head: MessageHead, keep?: string): ReadonlySet<MessageHead['headers'][number]> {
  // Most messages carry none of these: no allocation for them.
  let any = false;
  for (const h of head.headers) {
    if (h.name === 'connection' || h.name === 'keep-alive' || h.name === 'proxy-connection') {
      any = true;
      break;
    }
  }
  if (!any) return NONE;
  const named = new Set(head.tokens('connection'));
  named.delete('close');
  named.delete('keep-alive');
  const out = new Set<MessageHead['headers'][number]>();
  for (const h of head.headers) {
    if (h.name === keep) continue;
    if (h.name === 'connection' || h.name === 'keep-alive' || h.name === 'proxy-connection' || (named.has(h.name) && !PROTECTED.has(h.name))) {
      out.add(h);
    }
  }
  return out;
}

const NONE: ReadonlySet<MessageHead['headers'][number]> = new Set();

// Fields whose removal would change the framing or the routing: a Connection token cannot strip them.
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding']);
