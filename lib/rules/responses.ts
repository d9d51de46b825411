// Responses the rules answer with themselves: redirects, deny pages, `return`, 401 for auth,
// the monitor-uri page and errorfiles. Each closes the connection after it (`connection: close`).
import { errorResponse } from '../http/error-pages.js';

export const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
  303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad request',
  401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 407: 'Proxy Authentication Required',
  408: 'Request Time-out', 410: 'Gone', 413: 'Payload Too Large', 425: 'Too Early', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Time-out',
};

/** The status codes HAProxy has an error page for (deny_status, errorfile). */
export const ERROR_CODES = [200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504];

const EXTRA_TEXT: Record<number, string> = {
  200: 'Service ready.',
  401: 'You need a valid user and password to access this content.',
  404: 'The resource could not be found.',
  405: 'A request was made of a resource using a request method not supported by that resource',
  407: 'You need a valid user and password to access this content.',
  410: 'The resource is no longer available and will not be available again.',
  413: 'The request entity exceeds the maximum allowed.',
  425: 'Your browser sent early data.',
  429: 'You have sent too many requests in a given amount of time.',
};

export function reason(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** HAProxy's built-in page for `status`, with extra header lines. */
export function generatedPage(status: number, extraHeaders: string[] = []): Buffer {
  const text = EXTRA_TEXT[status];
  if (text === undefined && extraHeaders.length === 0) return errorResponse(status);
  const body = `<html><body><h1>${status} ${reason(status)}</h1>\n${text ?? 'An error occurred.'}\n</body></html>\n`;
  return buildResponse(status, reason(status), ['cache-control: no-cache', 'content-type: text/html', ...extraHeaders], Buffer.from(body, 'latin1'));
}

export function buildResponse(status: number, why: string, headers: string[], body: Buffer): Buffer {
  const head = `HTTP/1.1 ${status} ${why}\r\ncontent-length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join('')}connection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function redirectResponse(code: number, location: string, extraHeaders: string[]): Buffer {
  // Temporary redirects must not be cached; HAProxy says so only for those.
  const noCache = code === 302 || code === 303 || code === 307 ? ['cache-control: no-cache'] : [];
  return buildResponse(code, reason(code), [`location: ${location}`, ...noCache, ...extraHeaders], Buffer.alloc(0));
}

export function monitorResponse(): Buffer {
  return generatedPage(200);
}

export function authResponse(realm: string): Buffer {
  return generatedPage(401, [`www-authenticate: Basic realm="${realm.replace(/["\\]/g, '\\$&')}"`]);
}
