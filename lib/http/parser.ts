// The only file that imports llhttp-wasm. llhttp decides whether a head is valid and how a
// chunked body is framed; the bytes limpet forwards come from its own scan of the raw head
// (see message-head.ts), because the wrapper decodes spans as UTF-8 and corrupts spans split
// across execute() calls. So heads are always fed whole, and chunked bodies are fed only for
// framing (onBody stays unset, so the wrapper copies nothing).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// llhttp-wasm is CommonJS; load it through require so tsup leaves it external and untouched.
const llhttp = require('llhttp-wasm') as typeof import('llhttp-wasm');
const constants = require('llhttp-wasm/out/constants.js') as { ERROR: Record<string, number>; METHODS: Record<string, number> };

const HPE_OK = constants.ERROR.OK!;
const HPE_PAUSED = constants.ERROR.PAUSED!;
const HPE_PAUSED_UPGRADE = constants.ERROR.PAUSED_UPGRADE!;
const HPE_INVALID_METHOD = constants.ERROR.INVALID_METHOD!;
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const POST = Buffer.from('POST');

const METHOD_NAMES: string[] = [];
for (const [name, code] of Object.entries(constants.METHODS)) METHOD_NAMES[code] = name;

export interface ParsedHead {
  versionMajor: number;
  versionMinor: number;
  /** request only */
  method?: string;
  /** response only */
  statusCode?: number;
  upgrade: boolean;
  shouldKeepAlive: boolean;
}

export class HttpParseError extends Error {
  readonly code = 'LIMPET_HTTP_PARSE';
  constructor(readonly reason: string, readonly llhttpName: string) {
    super(`${llhttpName}: ${reason}`);
  }
}

export interface ChunkedProgress {
  /** bytes of the input that belong to this message's body */
  consumed: number;
  /** the terminating chunk and trailers were seen */
  done: boolean;
}

export class MessageParser {
  #parser: ReturnType<typeof llhttp.createParser>;
  #head: ParsedHead | undefined;
  #complete = false;
  #skipBody = false;

  constructor(kind: 'request' | 'response') {
    this.#parser = llhttp.createParser(kind === 'request' ? llhttp.TYPE.REQUEST : llhttp.TYPE.RESPONSE);
    this.#parser.onHeadersComplete = (msg) => {
      this.#head = {
        versionMajor: msg.versionMajor,
        versionMinor: msg.versionMinor,
        method: msg.method === undefined ? undefined : METHOD_NAMES[msg.method],
        statusCode: msg.statusCode,
        upgrade: msg.upgrade,
        shouldKeepAlive: msg.shouldKeepAlive,
      };
      // 1: tell llhttp there is no body (a response to HEAD); llhttp handles 1xx/204/304 itself.
      return this.#skipBody ? 1 : 0;
    };
    this.#parser.onMessageComplete = () => {
      this.#complete = true;
      // Stop at the end of this message so pipelined bytes after it stay ours to route.
      return HPE_PAUSED;
    };
  }

  /**
   * Validates one complete head (through its blank line). `noBody` marks a response to HEAD.
   * Throws HttpParseError when llhttp rejects it.
   */
  parseHead(head: Uint8Array, noBody = false): ParsedHead {
    this.#parser.reset();
    this.#head = undefined;
    this.#complete = false;
    this.#skipBody = noBody;
    let rc = this.#parser.execute(head);
    if (rc === HPE_INVALID_METHOD) {
      // llhttp knows a fixed list of methods, but any token is a method (RFC 9110 9.1) and
      // HAProxy forwards them. The rest of the head is validated with POST in its place, which
      // llhttp frames like any request with no special method.
      const sp = head.indexOf(32);
      const method = sp > 0 ? Buffer.from(head.buffer, head.byteOffset, sp).toString('latin1') : '';
      if (METHOD_TOKEN.test(method)) {
        this.#parser.reset();
        rc = this.#parser.execute(Buffer.concat([POST, head.subarray(sp)]));
        const parsed = this.#head as ParsedHead | undefined; // set by the callback during execute()
        if (parsed) parsed.method = method;
      }
    }
    if (rc !== HPE_OK && rc !== HPE_PAUSED && rc !== HPE_PAUSED_UPGRADE) this.#fail(rc);
    if (rc === HPE_PAUSED) this.#parser.resume();
    if (!this.#head) throw new HttpParseError('incomplete head', 'HPE_INCOMPLETE');
    return this.#head;
  }

  /**
   * Feeds chunked body bytes after parseHead(); reports how many belong to this message.
   * With `sink`, the decoded payload is handed over too (for an HTTP/1.0 peer, which cannot
   * read chunked); without it llhttp copies nothing.
   */
  feedChunked(data: Uint8Array, sink?: (payload: Buffer) => void): ChunkedProgress {
    if (this.#complete) return { consumed: 0, done: true };
    this.#parser.onBody = sink ? (d) => (sink(Buffer.from(d.buffer, d.byteOffset, d.byteLength)), 0) : undefined;
    const rc = this.#parser.execute(data);
    if (rc === HPE_OK) return { consumed: data.length, done: this.#complete };
    if (rc === HPE_PAUSED) {
      const consumed = this.#parser.getErrorPosition();
      this.#parser.resume();
      return { consumed, done: true };
    }
    this.#fail(rc);
  }

  #fail(rc: number): never {
    const reason = this.#parser.getErrorReason(rc) ?? 'invalid message';
    const name = this.#parser.getErrorName(rc) ?? `HPE_${rc}`;
    this.#parser.reset();
    throw new HttpParseError(reason, name);
  }

  destroy(): void {
    this.#parser.destroy();
  }
}

/**
 * Finds the end of a message head: the offset just past the blank line, or -1.
 * A bare-LF blank line also ends a head, so that llhttp sees it and rejects it rather than
 * limpet waiting for a CRLF that never comes.
 */
export function findHeadEnd(buf: Buffer, from = 0): number {
  let i = buf.indexOf(10, from);
  while (i !== -1) {
    const next = buf[i + 1];
    if (next === 10) return i + 2;
    if (next === 13 && buf[i + 2] === 10) return i + 3;
    if (next === undefined || (next === 13 && i + 2 >= buf.length)) return -1;
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}
