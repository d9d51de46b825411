// The only file that imports llhttp-wasm. llhttp decides whether a head is valid and how a
// chunked body is framed; the bytes limpet forwards come from its own scan of the raw head
// (see message-head.ts), because the wrapper decodes spans as UTF-8 and corrupts spans split
// across execute() calls. So heads are always fed whole, and chunked bodies are fed only for
// framing (onBody stays unset, so the wrapper copies nothing).
import { readFileSync } from 'node:fs';
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

// llhttp-wasm's wrapper decodes every URL, header name and value into a string (a new
// TextDecoder each time) and mallocs, copies and frees the input on every execute(): half the
// parse cost of a small request (scripts/bench/profile.js). limpet uses none of those strings,
// so it instantiates the same WASM module itself, with callbacks that record nothing and one
// reusable input area. Should a release of llhttp-wasm move its embedded module, the wrapper
// is used as before.
interface HeadersCompleteInfo {
  versionMajor: number;
  versionMinor: number;
  method?: number;
  statusCode?: number;
  upgrade: boolean;
  shouldKeepAlive: boolean;
}

interface LlhttpParser {
  onHeadersComplete?: (info: HeadersCompleteInfo) => number | void;
  onMessageComplete?: () => number | void;
  onBody?: (data: Uint8Array) => number | void;
  execute(data: Uint8Array): number;
  reset(): void;
  resume(): void;
  getErrorPosition(): number;
  getErrorReason(code: number): string | undefined;
  getErrorName(code: number): string | undefined;
  destroy(): void;
}

interface LlhttpExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_reset(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_resume(p: number): void;
  llhttp_get_type(p: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_get_status_code(p: number): number;
  llhttp_get_upgrade(p: number): number;
  llhttp_should_keep_alive(p: number): number;
  llhttp_get_error_pos(p: number): number;
  llhttp_get_error_reason(p: number): number;
  llhttp_errno_name(code: number): number;
}

const TYPE_REQUEST = llhttp.TYPE.REQUEST as number;
const TYPE_RESPONSE = llhttp.TYPE.RESPONSE as number;

function loadDirectLlhttp(): ((type: number) => LlhttpParser) | undefined {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const src = readFileSync(require.resolve('llhttp-wasm/out/index.js'), 'latin1');
    const b64 = /binaryString = "([A-Za-z0-9+/=]+)"/.exec(src)?.[1];
    if (!b64) return undefined;
    bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
  const byPointer = new Map<number, DirectParser>();
  const none = () => 0;
  let ex: LlhttpExports;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      wasm_on_message_begin: none,
      wasm_on_url: none,
      wasm_on_status: none,
      wasm_on_header_field: none,
      wasm_on_header_value: none,
      wasm_on_headers_complete: (p: number) => {
        const parser = byPointer.get(p);
        if (!parser?.onHeadersComplete) return 0;
        const request = ex.llhttp_get_type(p) === TYPE_REQUEST;
        return parser.onHeadersComplete({
          versionMajor: ex.llhttp_get_http_major(p),
          versionMinor: ex.llhttp_get_http_minor(p),
          method: request ? ex.llhttp_get_method(p) : undefined,
          statusCode: request ? undefined : ex.llhttp_get_status_code(p),
          upgrade: ex.llhttp_get_upgrade(p) === 1,
          shouldKeepAlive: ex.llhttp_should_keep_alive(p) === 1,
        }) ?? 0;
      },
      // A copy: the sink may keep it, and the WASM memory is reused.
      wasm_on_body: (p: number, at: number, len: number) => byPointer.get(p)?.onBody?.(new Uint8Array(ex.memory.buffer.slice(at, at + len))) ?? 0,
      wasm_on_message_complete: (p: number) => byPointer.get(p)?.onMessageComplete?.() ?? 0,
    },
  });
  ex = instance.exports as unknown as LlhttpExports;
  ex._initialize();
  // One input area for every parser: execute() runs to completion before another can start.
  let area = 0;
  let areaSize = 0;
  let busy = false;
  const cstr = (ptr: number): string => {
    const mem = new Uint8Array(ex.memory.buffer);
    return Buffer.from(mem.buffer, ptr, mem.indexOf(0, ptr) - ptr).toString('latin1');
  };

  class DirectParser implements LlhttpParser {
    onHeadersComplete?: (info: HeadersCompleteInfo) => number | void;
    onMessageComplete?: () => number | void;
    onBody?: (data: Uint8Array) => number | void;
    readonly #p: number;
    #input = 0;

    constructor(type: number) {
      this.#p = ex.llhttp_alloc(type);
      byPointer.set(this.#p, this);
    }

    execute(data: Uint8Array): number {
      // A callback that re-entered execute() gets an area of its own.
      const shared = !busy;
      let at: number;
      if (shared) {
        if (data.length > areaSize) {
          if (area) ex.free(area);
          areaSize = Math.max(data.length, 65536);
          area = ex.malloc(areaSize);
        }
        at = area;
        busy = true;
      } else at = ex.malloc(data.length);
      try {
        new Uint8Array(ex.memory.buffer, at, data.length).set(data);
        this.#input = at;
        return ex.llhttp_execute(this.#p, at, data.length);
      } finally {
        if (shared) busy = false;
        else ex.free(at);
      }
    }

    reset(): void {
      ex.llhttp_reset(this.#p);
    }

    resume(): void {
      ex.llhttp_resume(this.#p);
    }

    getErrorPosition(): number {
      return this.#input ? ex.llhttp_get_error_pos(this.#p) - this.#input : 0;
    }

    getErrorReason(code: number): string | undefined {
      return code === HPE_OK ? undefined : cstr(ex.llhttp_get_error_reason(this.#p));
    }

    getErrorName(code: number): string | undefined {
      return code === HPE_OK ? undefined : cstr(ex.llhttp_errno_name(code));
    }

    destroy(): void {
      ex.free(this.#p);
      byPointer.delete(this.#p);
    }
  }
  return (type) => new DirectParser(type);
}

const createLlhttpParser: (type: number) => LlhttpParser =
  loadDirectLlhttp() ?? ((type) => llhttp.createParser(type) as unknown as LlhttpParser);

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

/** Parsers handed back by finished messages, per kind: bounded so a burst does not stay allocated. */
const idleParsers: Record<'request' | 'response', MessageParser[]> = { request: [], response: [] };
const MAX_IDLE_PARSERS = 64;

export class MessageParser {
  /**
   * A parser for one message in flight. Every parseHead() resets it, so parsers are shared
   * between connections instead of two living with each connection, idle ones included.
   */
  static take(kind: 'request' | 'response'): MessageParser {
    return idleParsers[kind].pop() ?? new MessageParser(kind);
  }

  readonly kind: 'request' | 'response';
  #parser: LlhttpParser;
  #head: ParsedHead | undefined;
  #complete = false;
  #skipBody = false;

  constructor(kind: 'request' | 'response') {
    this.kind = kind;
    this.#parser = createLlhttpParser(kind === 'request' ? TYPE_REQUEST : TYPE_RESPONSE);
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

  /** Back to the pool (or destroyed when it is full); the caller no longer uses it. */
  release(): void {
    this.#parser.onBody = undefined;
    const idle = idleParsers[this.kind];
    if (idle.length < MAX_IDLE_PARSERS) idle.push(this);
    else this.destroy();
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
