// A request or response head as rules see and edit it: HAProxy applies each action at once,
// so a later rule or ACL sees what an earlier one changed. Built from a MessageHead only when a
// proxy has rules; turned back into raw bytes only when something changed.
import { MessageHead, type HeaderLine } from '../http/message-head.js';

export class HttpMessage {
  /** request: method, target, version; response: version, status, reason */
  #start: [string, string, string];
  /** [name as written, value] in order; built on the first edit, reads use the MessageHead until then */
  #headers: [string, string][] | undefined;
  /** per entry of #headers: the source line it still equals, forwarded as its original bytes */
  #origin: Array<HeaderLine | undefined> = [];
  #changed = false;
  readonly #source: MessageHead;

  constructor(head: MessageHead) {
    this.#source = head;
    const line = head.startLine;
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    this.#start = b < 0 ? [line.slice(0, a), line.slice(a + 1), ''] : [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1)];
  }

  // The raw head as one latin1 string: offsets are byte offsets, and one conversion is far
  // cheaper than one small Buffer slice per header.
  #textCache: string | undefined;
  get #text(): string {
    return (this.#textCache ??= this.#source.raw.toString('latin1'));
  }

  get headers(): [string, string][] {
    if (this.#headers === undefined) {
      const text = this.#text;
      this.#headers = this.#source.headers.map((h) => [text.slice(h.start, text.indexOf(':', h.start)), text.slice(h.valueStart, h.valueEnd)]);
      this.#origin = [...this.#source.headers];
    }
    return this.#headers;
  }

  /** How many header lines. */
  get headerCount(): number {
    return this.#headers === undefined ? this.#source.headers.length : this.#headers.length;
  }

  get changed(): boolean {
    return this.#changed;
  }

  // request line
  get method(): string {
    return this.#start[0];
  }
  set method(m: string) {
    this.#start[0] = m;
    this.#changed = true;
  }
  get target(): string {
    return this.#start[1];
  }
  set target(t: string) {
    this.#start[1] = t;
    this.#changed = true;
  }
  get requestVersion(): string {
    return this.#start[2];
  }

  // status line
  get status(): number {
    return Number(this.#start[1]);
  }
  setStatus(code: number, reason: string): void {
    this.#start[1] = String(code);
    this.#start[2] = reason;
    this.#changed = true;
  }
  get responseVersion(): string {
    return this.#start[0];
  }

  /** The path part of the target (origin form or absolute form), without the query. */
  get path(): string {
    let t = this.target;
    const scheme = t.indexOf('://');
    if (scheme > 0 && !t.startsWith('/')) {
      const slash = t.indexOf('/', scheme + 3);
      t = slash < 0 ? '/' : t.slice(slash);
    }
    const q = t.indexOf('?');
    return q < 0 ? t : t.slice(0, q);
  }

  get query(): string | undefined {
    const q = this.target.indexOf('?');
    return q < 0 ? undefined : this.target.slice(q + 1);
  }

  /** Replaces the path, keeping any scheme://authority prefix and the query. */
  set path(p: string) {
    const t = this.target;
    let prefix = '';
    const scheme = t.indexOf('://');
    if (scheme > 0 && !t.startsWith('/')) {
      const slash = t.indexOf('/', scheme + 3);
      prefix = slash < 0 ? t.split('?')[0]! : t.slice(0, slash);
    }
    const q = this.query;
    this.target = prefix + p + (q === undefined ? '' : `?${q}`);
  }

  setQuery(q: string): void {
    const t = this.target;
    const i = t.indexOf('?');
    const base = i < 0 ? t : t.slice(0, i);
    this.target = q === '' ? base : `${base}?${q}`;
  }

  /** Every value of a header (case-insensitive name), whole lines, in order. */
  values(name: string): string[] {
    const n = name.toLowerCase();
    if (this.#headers === undefined) {
      const out: string[] = [];
      for (const h of this.#source.headers) if (h.name === n) out.push(this.#text.slice(h.valueStart, h.valueEnd));
      return out;
    }
    const out: string[] = [];
    for (const [k, v] of this.#headers) if (k.toLowerCase() === n) out.push(v);
    return out;
  }

  /** Values split at commas, as HAProxy's hdr() fetches see them. */
  listValues(name: string): string[] {
    const out: string[] = [];
    for (const v of this.values(name)) {
      if (!v.includes(',')) out.push(v);
      else for (const part of splitCommas(v)) out.push(part);
    }
    return out;
  }

  add(name: string, value: string): void {
    this.headers.push([name, value]);
    this.#origin.push(undefined);
    this.#changed = true;
  }

  /** Deletes the headers whose name satisfies `match`; returns how many went. */
  remove(match: (lowerName: string) => boolean): number {
    if (this.#headers === undefined && !this.#source.headers.some((h) => match(h.name))) return 0;
    const headers = this.headers;
    const keptHeaders: [string, string][] = [];
    const keptOrigin: Array<HeaderLine | undefined> = [];
    for (let i = 0; i < headers.length; i++) {
      if (match(headers[i]![0].toLowerCase())) continue;
      keptHeaders.push(headers[i]!);
      keptOrigin.push(this.#origin[i]);
    }
    const removed = headers.length - keptHeaders.length;
    this.#headers = keptHeaders;
    this.#origin = keptOrigin;
    if (removed > 0) this.#changed = true;
    return removed;
  }

  set(name: string, value: string): void {
    const n = name.toLowerCase();
    this.remove((k) => k === n);
    this.add(name, value);
  }

  /** Rewrites each value of `name` through `f`. */
  mapValues(name: string, f: (value: string) => string): void {
    const n = name.toLowerCase();
    if (this.#headers === undefined && !this.#source.has(n)) return;
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      if (h[0].toLowerCase() !== n) continue;
      const v = f(h[1]);
      if (v !== h[1]) {
        h[1] = v;
        this.#origin[i] = undefined;
        this.#changed = true;
      }
    }
  }

  /** The head to forward: the original bytes when nothing changed. */
  toHead(): MessageHead {
    if (!this.#changed) return this.#source;
    let text = `${this.#start[0]} ${this.#start[1]}${this.#start[2] === '' ? '' : ` ${this.#start[2]}`}\r\n`;
    // A line no rule touched goes out as its original bytes (spacing, case, non-ASCII kept).
    const raw = this.#source.raw;
    const headers = this.headers;
    const parts: Buffer[] = [];
    // adjacent untouched lines are copied as one run
    let runStart = -1;
    let runEnd = -1;
    const flushRun = () => {
      if (runStart >= 0) parts.push(raw.subarray(runStart, runEnd));
      runStart = -1;
    };
    for (let i = 0; i < headers.length; i++) {
      const original = this.#origin[i];
      if (original) {
        if (text !== '') {
          parts.push(Buffer.from(text, 'latin1'));
          text = '';
        }
        if (runStart >= 0 && original.start === runEnd) runEnd = original.end + 2;
        else {
          flushRun();
          runStart = original.start;
          runEnd = original.end + 2;
        }
      } else {
        flushRun();
        text += `${headers[i]![0]}: ${headers[i]![1]}\r\n`;
      }
    }
    flushRun();
    parts.push(Buffer.from(text + '\r\n', 'latin1'));
    return new MessageHead(Buffer.concat(parts));
  }
}

/** Splits a header value at commas outside double quotes, trimming each part. */
export function splitCommas(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) i++;
    else if (c === ',' && !quoted) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}
