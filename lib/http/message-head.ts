// A validated message head kept as raw bytes plus an index of its lines, so that unchanged
// headers are forwarded byte for byte (non-ASCII values included) and edits touch only the
// lines they name.

export interface HeaderLine {
  /** lower-cased header name (names are tokens: ASCII only, validated by llhttp) */
  name: string;
  /** offsets into the raw head: the whole line, without its CRLF */
  start: number;
  end: number;
  /** offset of the value, leading whitespace skipped */
  valueStart: number;
  /** value end, trailing whitespace trimmed */
  valueEnd: number;
}

const CR = 13;
const LF = 10;
const COLON = 58;

export class MessageHead {
  readonly raw: Buffer;
  /** the request line or status line, without CRLF */
  readonly startLine: string;
  readonly headers: HeaderLine[];

  constructor(raw: Buffer) {
    this.raw = raw;
    this.headers = [];
    let lineStart = 0;
    let lineEnd = raw.indexOf(LF, 0);
    this.startLine = raw.toString('latin1', 0, lineEnd > 0 && raw[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd);
    lineStart = lineEnd + 1;
    while (lineStart < raw.length) {
      lineEnd = raw.indexOf(LF, lineStart);
      if (lineEnd === -1) break;
      const end = raw[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      if (end === lineStart) break; // the blank line
      const colon = raw.indexOf(COLON, lineStart);
      if (colon !== -1 && colon < end) {
        let vs = colon + 1;
        while (vs < end && (raw[vs] === 32 || raw[vs] === 9)) vs++;
        let ve = end;
        while (ve > vs && (raw[ve - 1] === 32 || raw[ve - 1] === 9)) ve--;
        this.headers.push({
          name: raw.toString('latin1', lineStart, colon).toLowerCase(),
          start: lineStart,
          end,
          valueStart: vs,
          valueEnd: ve,
        });
      }
      lineStart = lineEnd + 1;
    }
  }

  value(h: HeaderLine): string {
    return this.raw.toString('latin1', h.valueStart, h.valueEnd);
  }

  /** Every value of a header, in order (lower-case name). */
  values(name: string): string[] {
    const out: string[] = [];
    for (const h of this.headers) if (h.name === name) out.push(this.value(h));
    return out;
  }

  first(name: string): string | undefined {
    for (const h of this.headers) if (h.name === name) return this.value(h);
    return undefined;
  }

  has(name: string): boolean {
    for (const h of this.headers) if (h.name === name) return true;
    return false;
  }

  /** Comma-separated tokens of a list header (Connection, Transfer-Encoding), lower-cased. */
  tokens(name: string): string[] {
    const out: string[] = [];
    for (const v of this.values(name)) {
      for (const part of v.split(',')) {
        const tok = part.trim().toLowerCase();
        if (tok) out.push(tok);
      }
    }
    return out;
  }
}

/**
 * Builds an edited head from a MessageHead: lines are dropped or replaced by index, new
 * lines appended before the blank line. With no edits the raw buffer is returned as is.
 */
export class HeadEdit {
  #head: MessageHead;
  #startLine: string | undefined;
  // Made on the first edit: most heads go out unchanged, and one is built per message.
  #drop: Set<HeaderLine> | undefined;
  #replace: Map<HeaderLine, string> | undefined;
  #append: string[] | undefined;

  constructor(head: MessageHead) {
    this.#head = head;
  }

  setStartLine(line: string): void {
    this.#startLine = line;
  }

  drop(h: HeaderLine): void {
    (this.#drop ??= new Set()).add(h);
  }

  replace(h: HeaderLine, line: string): void {
    (this.#replace ??= new Map()).set(h, line);
  }

  append(line: string): void {
    (this.#append ??= []).push(line);
  }

  get changed(): boolean {
    return this.#startLine !== undefined || this.#drop !== undefined || this.#replace !== undefined || this.#append !== undefined;
  }

  toBuffer(): Buffer {
    const head = this.#head;
    if (!this.changed) return head.raw;
    const raw = head.raw;
    // What goes out, in order: [start, end) ranges of the raw head (adjacent kept lines make
    // one range) and new lines as strings; then one buffer of the exact size, filled by copies.
    const out: Array<number | string> = [];
    let runStart = -1;
    let runEnd = -1;
    const flush = (): void => {
      if (runStart !== -1) out.push(runStart, runEnd);
      runStart = -1;
    };
    const keep = (start: number, end: number): void => {
      if (runStart !== -1 && start === runEnd) runEnd = end;
      else {
        flush();
        runStart = start;
        runEnd = end;
      }
    };
    if (this.#startLine !== undefined) out.push(this.#startLine + '\r\n');
    else keep(0, raw.indexOf(LF) + 1);
    for (const h of head.headers) {
      if (this.#drop?.has(h)) continue;
      const repl = this.#replace?.get(h);
      if (repl === undefined) keep(h.start, h.end + 2);
      else {
        flush();
        out.push(repl + '\r\n');
      }
    }
    flush();
    if (this.#append !== undefined) out.push(this.#append.join('\r\n') + '\r\n');
    out.push('\r\n');
    let length = 0;
    for (let i = 0; i < out.length; i++) {
      const x = out[i]!;
      if (typeof x === 'string') length += x.length;
      else length += (out[++i] as number) - x;
    }
    const buf = Buffer.allocUnsafe(length);
    let at = 0;
    for (let i = 0; i < out.length; i++) {
      const x = out[i]!;
      if (typeof x === 'string') at += buf.write(x, at, 'latin1');
      else at += raw.copy(buf, at, x, out[++i] as number);
    }
    return buf;
  }
}

