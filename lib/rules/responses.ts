// Responses the rules answer with themselves: redirects, deny pages, `return`, 401 for auth,
// the monitor-uri page. As in HAProxy the client connection stays open after them when nothing
// of the request is left to read; pages for errors that end the connection say `connection: close`.

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
  400: 'Your browser sent an invalid request.',
  403: 'Request forbidden by administrative rules.',
  408: "Your browser didn't send a complete request in time.",
  500: 'An internal server error occurred.',
  501: 'The server does not support the functionality required to fulfill the request.',
  502: 'The server returned an invalid or incomplete response.',
  503: 'No server is available to handle this request.',
  504: "The server didn't respond in time.",
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
// Of HAProxy 2.6's own pages only these say `connection: close` when a rule answers with them
// (deny_status 400 or 408); after the others (500 to 504 included) the connection goes on.
const CLOSING = new Set([400, 408]);

export function generatedPage(status: number, extraHeaders: string[] = [], close = CLOSING.has(status)): Buffer {
  const text = EXTRA_TEXT[status] ?? 'An error occurred.';
  const body = `<html><body><h1>${status} ${reason(status)}</h1>\n${text}\n</body></html>\n`;
  return buildResponse(status, reason(status), ['cache-control: no-cache', 'content-type: text/html', ...extraHeaders], Buffer.from(body, 'latin1'), close);
}

export function buildResponse(status: number, why: string, headers: string[], body: Buffer, close = false): Buffer {
  const head = `HTTP/1.1 ${status} ${why}\r\ncontent-length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join('')}${close ? 'connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Whether a response (an errorfile, say) tells the client the connection ends. */
export function saysClose(response: Buffer): boolean {
  const end = response.indexOf('\r\n\r\n');
  return /\r\nconnection:[ \t]*close/i.test(response.toString('latin1', 0, end < 0 ? response.length : end));
}

/**
 * The answer with `connection: VALUE` added as its last header line, as HAProxy adds it when it
 * closes the client connection after the answer (`close`) or keeps an HTTP/1.0 one (`keep-alive`).
 */
export function withConnection(response: Buffer, value: 'close' | 'keep-alive'): Buffer {
  const end = response.indexOf('\r\n\r\n');
  if (end < 0) return response;
  return Buffer.concat([response.subarray(0, end + 2), Buffer.from(`connection: ${value}\r\n`, 'latin1'), response.subarray(end + 2)]);
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
