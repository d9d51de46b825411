// A stick table in memory: an expiring LRU bounded by the table's size. Map iteration order
// is the LRU order (a touched entry is re-inserted at the end), and since every entry of a
// table lives `expire` after its last touch, the oldest entries are also the first to expire:
// purging walks from the front and stops at the first live entry.
import { newStickCounters, type StickStore } from './stick-store.js';

export interface StickEntry {
  server: string;
  /** ms timestamp; Infinity without `expire` */
  expires: number;
  /** when the shared copy's TTL was last pushed (RedisStore) */
  pushedAt: number;
  /** learned while the shared store was unreachable: to write back when it returns */
  dirty: boolean;
}

export interface MemoryStoreOptions {
  size: number;
  /** ms; undefined: entries never expire */
  expire: number | undefined;
  nopurge: boolean;
  /** clock, for tests */
  now?: () => number;
  /** an entry was dropped to make room (LRU): the primary tells the workers' copies */
  onEvict?: (key: string) => void;
}

export class StickMemoryStore implements StickStore {
  readonly shared = false;
  readonly degraded = false;
  readonly counters = newStickCounters();
  readonly #entries = new Map<string, StickEntry>();
  readonly #size: number;
  readonly #expire: number | undefined;
  readonly #nopurge: boolean;
  readonly #now: () => number;
  readonly #onEvict: ((key: string) => void) | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: MemoryStoreOptions) {
    this.#size = opts.size;
    this.#expire = opts.expire;
    this.#nopurge = opts.nopurge;
    this.#now = opts.now ?? Date.now;
    this.#onEvict = opts.onEvict;
    if (opts.expire !== undefined && !opts.now) {
      // Expired entries would otherwise hold memory until touched or evicted.
      this.#sweeper = setInterval(() => this.purgeExpired(), Math.min(Math.max(opts.expire, 100), 10_000));
      this.#sweeper.unref();
    }
  }

  get count(): number {
    return this.#entries.size;
  }

  /** The live entry, without refreshing it. */
  get(key: string): StickEntry | undefined {
    const e = this.#entries.get(key);
    if (e && e.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Refreshes expiry and LRU position. */
  touch(key: string, e: StickEntry): void {
    e.expires = this.#expiry();
    this.#entries.delete(key);
    this.#entries.set(key, e);
  }

  /** Creates or overwrites; false when full with `nopurge`. */
  set(key: string, server: string, dirty = false): StickEntry | undefined {
    const old = this.#entries.get(key);
    if (old) {
      old.server = server;
      old.dirty = dirty;
      this.touch(key, old);
      return old;
    }
    if (this.#entries.size >= this.#size) {
      this.purgeExpired();
      if (this.#entries.size >= this.#size) {
        if (this.#nopurge) return undefined;
        const oldest = this.#entries.keys().next().value!;
        this.#entries.delete(oldest);
        this.#onEvict?.(oldest);
      }
    }
    const e: StickEntry = { server, expires: this.#expiry(), pushedAt: this.#now(), dirty };
    this.#entries.set(key, e);
    return e;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  entries(): IterableIterator<[string, StickEntry]> {
    return this.#entries.entries();
  }

  /** least recently used first */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  purgeExpired(): void {
    const now = this.#now();
    for (const [key, e] of this.#entries) {
      if (e.expires > now) break;
      this.#entries.delete(key);
    }
  }

  match(key: string, done: (serverKey: string | undefined) => void): void {
    const e = this.get(key);
    if (e) {
      this.touch(key, e);
      this.counters.localHits++;
    } else {
      this.counters.misses++;
    }
    done(e?.server);
  }

  claim(key: string, candidate: () => string | undefined, done: (serverKey: string | undefined) => void): void {
    const e = this.get(key);
    if (e) {
      this.touch(key, e);
      this.counters.localHits++;
      return done(e.server);
    }
    this.counters.misses++;
    const server = candidate();
    done(server === undefined ? undefined : this.set(key, server)?.server);
  }

  store(key: string, serverKey: string): void {
    this.set(key, serverKey);
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  #expiry(): number {
    return this.#expire === undefined ? Infinity : this.#now() + this.#expire;
  }
}
