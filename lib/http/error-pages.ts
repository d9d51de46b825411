// The responses limpet generates itself, worded as HAProxy's built-in error pages so that
// clients, monitors and log parsers see what they would see in front of HAProxy.

const PAGES: Record<number, [reason: string, text: string]> = {
  400: ['Bad request', 'Your browser sent an invalid request.'],
  403: ['Forbidden', 'Request forbidden by administrative rules.'],
  408: ['Request Time-out', "Your browser didn't send a complete request in time."],
  413: ['Payload Too Large', 'The request entity exceeds the maximum allowed.'],
  431: ['Request Header Fields Too Large', 'Your browser sent a request whose header fields are too large.'],
  500: ['Internal Server Error', 'An internal server error occurred.'],
  501: ['Not Implemented', 'The server does not support the functionality required to fulfill the request.'],
  502: ['Bad Gateway', 'The server returned an invalid or incomplete response.'],
  503: ['Service Unavailable', 'No server is available to handle this request.'],
  504: ['Gateway Time-out', "The server didn't respond in time."],
};

const cache = new Map<number, Buffer>();

/** The full response for a generated error: always `connection: close`, limpet closes after it. */
export function errorResponse(status: number): Buffer {
  let buf = cache.get(status);
  if (buf) return buf;
  const [reason, text] = PAGES[status] ?? ['Error', 'An error occurred.'];
  const body = `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`;
  buf = Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-cache\r\n' +
      'content-type: text/html\r\n' +
      'connection: close\r\n' +
      '\r\n' +
      body,
    'latin1',
  );
  cache.set(status, buf);
  return buf;
}
