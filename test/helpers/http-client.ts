import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** Every byte received on the connection for this response (all bytes, for rawRequest). */
  raw: Buffer;
  /** Status of the final (non-1xx) response, if a status line was received. */
  status?: number;
  /** The status line's reason phrase. */
  reason?: string;
  /** Header fields of the final response, as received (name case kept), in order. */
  headers: [string, string][];
  /** De-chunked body bytes. */
  body: Buffer;
  /** True when the response's framing was complete. */
  complete: boolean;
  /** True when the server had closed (or reset) the connection by the time we resolved. */
  closed: boolean;
  /** True when we gave up waiting. */
  timedOut: boolean;
}

export interface RawRequestOptions {
  host?: string;
  /** Overall limit, ms (default 5000). On timeout the partial response is returned. */
  timeout?: number;
  /** After a complete response, keep waiting (within `timeout`) for the server to close. */
  waitClose?: boolean;
  /** Treat the response as one to HEAD (no body). Default: the request bytes start with "HEAD ". */
  head?: boolean;
}

/** Incremental parser of a stream of HTTP/1.x responses: just enough framing for tests. */
class ResponseReader {
  #buffer: Buffer = Buffer.alloc(0);
  #isHead: () => boolean;

  constructor(isHead: () => boolean) {
    this.#isHead = isHead;
  }

  push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
  }

  get pending(): Buffer {
    return this.#buffer;
  }

  /**
   * Takes one complete response off the buffer, or returns undefined when more bytes are
   * needed. With `eof`, a response delimited by close is complete, and a partial one is
   * returned as incomplete.
   */
  take(eof: boolean): Omit<RawResponse, 'closed' | 'timedOut'> | undefined {
    let offset = 0;
    const buf = this.#buffer;
    for (;;) {
      const headEnd = buf.indexOf('\r\n\r\n', offset);
      if (headEnd < 0) return eof && buf.length > 0 ? this.#consume(buf.length, undefined, undefined, [], Buffer.alloc(0), false) : undefined;
      const lines = buf.subarray(offset, headEnd).toString('latin1').split('\r\n');
      const statusLine = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
      const status = statusLine ? Number(statusLine[1]) : undefined;
      const reason = statusLine?.[2];
      const headers: [string, string][] = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
      }
      const bodyStart = headEnd + 4;
      if (status !== undefined && status >= 100 && status < 200 && status !== 101) {
        offset = bodyStart; // interim response: its bytes stay in raw, parse the next head
        continue;
      }
      const get = (name: string): string | undefined =>
        headers.find(([n]) => n.toLowerCase() === name)?.[1];
      const noBody = this.#isHead() || status === 204 || status === 304 || status === undefined;
      const te = get('transfer-encoding');
      const cl = get('content-length');
      if (noBody) return this.#consume(bodyStart, status, reason, headers, Buffer.alloc(0), true);
      if (te !== undefined && /chunked\s*$/i.test(te)) {
        const chunks: Buffer[] = [];
        let pos = bodyStart;
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', pos);
          if (lineEnd < 0) break;
          const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
          if (Number.isNaN(size)) break;
          if (size === 0) {
            // No trailers: "0\r\n\r\n"; with trailers, they end at the first blank line.
            const trailersEnd = buf.indexOf('\r\n\r\n', lineEnd);
            if (trailersEnd >= 0) {
              return this.#consume(trailersEnd + 4, status, reason, headers, Buffer.concat(chunks), true);
            }
            break;
          }
          if (buf.length < lineEnd + 2 + size + 2) break;
          chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          pos = lineEnd + 2 + size + 2;
        }
        return eof ? this.#consume(buf.length, status, reason, headers, Buffer.concat(chunks), false) : undefined;
      }
      if (cl !== undefined) {
        const length = Number(cl);
        if (buf.length >= bodyStart + length) {
          return this.#consume(bodyStart + length, status, reason, headers, buf.subarray(bodyStart, bodyStart + length), true);
        }
        return eof ? this.#consume(buf.length, status, reason, headers, buf.subarray(bodyStart), false) : undefined;
      }
      // Delimited by close.
      return eof ? this.#consume(buf.length, status, reason, headers, buf.subarray(bodyStart), true) : undefined;
    }
  }

  #consume(
    end: number,
    status: number | undefined,
    reason: string | undefined,
    headers: [string, string][],
    body: Buffer,
    complete: boolean,
  ): Omit<RawResponse, 'closed' | 'timedOut'> {
    const raw = this.#buffer.subarray(0, end);
    this.#buffer = this.#buffer.subarray(end);
    const out: Omit<RawResponse, 'closed' | 'timedOut'> = { raw: Buffer.from(raw), headers, body: Buffer.from(body), complete };
    if (status !== undefined) out.status = status;
    if (reason !== undefined) out.reason = reason;
    return out;
  }
}

const startsWithHead = (bytes: string | Buffer): boolean =>
  (typeof bytes === 'string' ? bytes : bytes.subarray(0, 5).toString('latin1')).startsWith('HEAD ');

/**
 * Connects, writes `bytes` exactly as given and collects the response: until it is complete
 * (Content-Length or chunked framing), the server closes, or `timeout` ms pass. `raw` holds
 * every byte received. Never rejects for a server's behaviour: a refused connection resolves
 * with `closed: true` and no status.
 */
export const rawRequest = (port: number, bytes: string | Buffer, opts: RawRequestOptions = {}): Promise<RawResponse> =>
  new Promise(resolve => {
    const timeout = opts.timeout ?? 5000;
    const head = opts.head ?? startsWithHead(bytes);
    const reader = new ResponseReader(() => head);
    const all: Buffer[] = [];
    let closed = false;
    let done: Omit<RawResponse, 'closed' | 'timedOut'> | undefined;
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    const finish = (timedOut: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const parsed = done ?? reader.take(true) ?? { headers: [], body: Buffer.alloc(0), complete: false, raw: Buffer.alloc(0) };
      resolve({ ...parsed, raw: Buffer.concat(all), closed, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeout);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      all.push(chunk);
      if (done) return;
      reader.push(chunk);
      done = reader.take(false);
      if (done && !opts.waitClose) finish(false);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
  });

export interface KeepAliveConnection {
  /** Writes `bytes` and resolves with the next response on this connection. */
  send(bytes: string | Buffer, opts?: { timeout?: number; head?: boolean }): Promise<RawResponse>;
  /** True once the server closed the connection. */
  readonly closed: boolean;
  /** Resolves when the server closes the connection, or false after `timeout` ms. */
  waitClose(timeout?: number): Promise<boolean>;
  close(): void;
}

/**
 * One client connection over which requests are sent one after another; each `send`
 * resolves with the next response (its `raw` is that response's bytes only).
 */
export const keepAliveConnection = (port: number, opts: { host?: string; timeout?: number } = {}): Promise<KeepAliveConnection> =>
  new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    let head = false;
    const reader = new ResponseReader(() => head);
    let closed = false;
    let waiter: ((eof: boolean) => void) | undefined;
    const closeWaiters: Array<() => void> = [];
    const connectTimer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`keepAliveConnection: connect to ${port} timed out`));
    }, opts.timeout ?? 5000);
    socket.on('error', err => {
      clearTimeout(connectTimer);
      reject(err); // no effect once connected
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      waiter?.(false);
    });
    socket.on('close', () => {
      closed = true;
      waiter?.(true);
      for (const w of closeWaiters.splice(0)) w();
    });
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      resolve({
        get closed() {
          return closed;
        },
        send(bytes, sendOpts = {}) {
          head = sendOpts.head ?? startsWithHead(bytes);
          return new Promise(done => {
            const finish = (response: Omit<RawResponse, 'closed' | 'timedOut'> | undefined, timedOut: boolean): void => {
              clearTimeout(timer);
              waiter = undefined;
              done({ ...(response ?? { raw: Buffer.alloc(0), headers: [], body: Buffer.alloc(0), complete: false }), closed, timedOut });
            };
            const timer = setTimeout(() => finish(reader.take(true), true), sendOpts.timeout ?? opts.timeout ?? 5000);
            waiter = eof => {
              const response = reader.take(eof);
              if (response || eof) finish(response, false);
            };
            if (!closed) socket.write(bytes);
            waiter(closed);
          });
        },
        waitClose(timeout = 5000) {
          if (closed) return Promise.resolve(true);
          return new Promise(done => {
            const timer = setTimeout(() => done(false), timeout);
            closeWaiters.push(() => {
              clearTimeout(timer);
              done(true);
            });
          });
        },
        close() {
          socket.destroy();
        },
      });
    });
  });

/** Sends each request in turn over one connection and returns every response. */
export const sendSequentially = async (
  port: number,
  requests: Array<string | Buffer>,
  opts: { host?: string; timeout?: number } = {},
): Promise<RawResponse[]> => {
  const connection = await keepAliveConnection(port, opts);
  try {
    const responses: RawResponse[] = [];
    for (const bytes of requests) {
      const response = await connection.send(bytes);
      responses.push(response);
      if (!response.complete) break;
    }
    return responses;
  } finally {
    connection.close();
  }
};

export interface SimpleResponse {
  status: number;
  /** Raw pairs as received, so repeated fields (Set-Cookie) are all visible. */
  headers: [string, string][];
  body: string;
}

export interface RequestOptions {
  host?: string;
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders | [string, string][];
  body?: string | Buffer;
  timeout?: number;
}

/** A single request with node:http (no agent, so a fresh connection each time). */
export const request = (port: number, opts: RequestOptions = {}): Promise<SimpleResponse> =>
  new Promise((resolve, reject) => {
    const host = opts.host ?? '127.0.0.1';
    let headers: OutgoingHttpHeaders | string[] = opts.headers && !Array.isArray(opts.headers) ? opts.headers : {};
    if (Array.isArray(opts.headers)) {
      // node:http adds no Host header when given raw pairs: add one unless the caller did.
      const hasHost = opts.headers.some(([name]) => name.toLowerCase() === 'host');
      const hostValue = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      headers = [...(hasHost ? [] : ['Host', hostValue]), ...opts.headers.flat()];
    }
    const req = httpRequest(
      {
        host,
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers,
        agent: false,
        timeout: opts.timeout ?? 5000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
          resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to port ${port} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });

/** GET `path` with node:http and `agent: false`. */
export const get = (
  port: number,
  path = '/',
  headers?: OutgoingHttpHeaders | [string, string][],
  opts: Omit<RequestOptions, 'path' | 'headers' | 'method'> = {},
): Promise<SimpleResponse> => request(port, { ...opts, path, ...(headers ? { headers } : {}) });

/** Every value of header `name` (case-insensitive) in raw pairs. */
export const headerValues = (headers: [string, string][], name: string): string[] =>
  headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
