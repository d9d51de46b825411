// A stick table shared by every instance through Redis. A local StickMemoryStore answers
// hits at once; a miss asks Redis within the section's timeout and otherwise gives up (the
// late answer still lands in the cache). Writes go through: first writer wins (Lua GET/SET
// with PX, atomic), other instances hear of each write on a pub/sub channel, and a sliding
// expiry is pushed to Redis at most once per quarter of the TTL, not on every request. While
// Redis is unreachable the local table keeps serving and learning; what it learned is written
// back (first writer still wins) when Redis returns.
import type { Logger } from '../observe/logger.js';
import type { RedisLink, RedisLinkListener } from './redis-link.js';
import { StickMemoryStore, type MemoryStoreOptions, type StickEntry } from './stick-memory-store.js';
import { newStickCounters, type StickStore } from './stick-store.js';

// How many write-backs are in flight at once after a reconnection.
const RESYNC_BATCH = 256;

export class RedisStickStore implements StickStore, RedisLinkListener {
  readonly shared = true;
  readonly counters = newStickCounters();
  readonly table: string;
  readonly #link: RedisLink;
  readonly #local: StickMemoryStore;
  readonly #ttl: number;
  readonly #refreshEvery: number;
  readonly #log: Logger;
  #resyncing = false;

  constructor(table: string, link: RedisLink, opts: MemoryStoreOptions, log: Logger) {
    this.table = table;
    this.#link = link;
    this.#local = new StickMemoryStore(opts);
    this.#ttl = opts.expire ?? 0;
    this.#refreshEvery = this.#ttl > 0 ? this.#ttl / 4 : Infinity;
    this.#log = log;
    link.register(this);
  }

  get degraded(): boolean {
    return !this.#link.up;
  }

  /** entries held locally */
  get localCount(): number {
    return this.#local.count;
  }

  match(key: string, done: (serverKey: string | undefined) => void): void {
    const e = this.#local.get(key);
    if (e) {
      this.#hit(key, e);
      this.counters.localHits++;
      return done(e.server);
    }
    if (!this.#link.up) {
      this.counters.misses++;
      return done(undefined);
    }
    const answer = once(done, this.#link.timeout, () => this.counters.timeouts++);
    const started = performance.now();
    this.#link.client.limpetLookup(this.#link.key(this.table, key), this.#ttl).then(
      (server) => {
        this.#link.roundTrip(performance.now() - started);
        if (server !== null) this.#local.set(key, server);
        if (answer(server ?? undefined)) this.counters[server === null ? 'misses' : 'redisHits']++;
      },
      () => answer(undefined),
    );
  }

  claim(key: string, candidate: () => string | undefined, done: (serverKey: string | undefined) => void): void {
    const e = this.#local.get(key);
    if (e) {
      this.#hit(key, e);
      this.counters.localHits++;
      return done(e.server);
    }
    const server = this.#link.up ? candidate() : undefined;
    if (server === undefined) {
      this.counters.misses++;
      return done(undefined);
    }
    const answer = once(done, this.#link.timeout, () => this.counters.timeouts++);
    const started = performance.now();
    this.#claimed(key, server).then(
      ({ winner, existed }) => {
        this.#link.roundTrip(performance.now() - started);
        // existed: another instance wrote it first (possibly naming the same server)
        if (answer(winner)) this.counters[existed ? 'redisHits' : 'misses']++;
      },
      () => answer(undefined),
    );
  }

  store(key: string, serverKey: string): void {
    const e = this.#local.get(key);
    if (e && e.server === serverKey) {
      this.#hit(key, e);
      return;
    }
    const known = e !== undefined;
    const entry = this.#local.set(key, serverKey, !this.#link.up);
    if (!entry || !this.#link.up) return;
    entry.pushedAt = Date.now();
    // An entry we knew pointed elsewhere: the client was deliberately sent to another server
    // (server down, cookie, redispatch), so overwrite. A new one: first writer wins.
    if (known) {
      this.#put(key, serverKey).catch(() => this.#markDirty(key, serverKey));
    } else {
      this.#claim(key, serverKey).catch(() => this.#markDirty(key, serverKey));
    }
  }

  remote(key: string, serverKey: string): void {
    const e = this.#local.get(key);
    if (e?.server === serverKey) return;
    const entry = this.#local.set(key, serverKey);
    if (entry) entry.pushedAt = Date.now();
  }

  reconnected(): void {
    if (this.#resyncing) return;
    this.#resyncing = true;
    this.#resync().then(
      (n) => {
        this.#resyncing = false;
        if (n > 0) this.#log.warning(`stick-table ${this.table}: ${n} entries resynced with redis ${this.#link.name}`);
      },
      () => {
        this.#resyncing = false;
      },
    );
  }

  close(): void {
    this.#local.close();
  }

  /** A local hit refreshes locally, and in Redis once per fraction of the TTL. */
  #hit(key: string, e: StickEntry): void {
    this.#local.touch(key, e);
    if (!this.#link.up) return;
    const now = Date.now();
    if (now - e.pushedAt < this.#refreshEvery) return;
    e.pushedAt = now;
    const server = e.server;
    this.#link.client.pexpire(this.#link.key(this.table, key), this.#ttl).then(
      // Gone from Redis (expired there, or Redis restarted empty): recreate it, first writer wins.
      (n) => (n === 0 ? this.#claim(key, server) : undefined),
      () => undefined,
    ).catch(() => undefined);
  }

  /** Claims in Redis and adopts the winner locally; resolves with the winner. */
  async #claim(key: string, server: string): Promise<string> {
    return (await this.#claimed(key, server)).winner;
  }

  /** #claim, also saying whether Redis already had an entry. */
  async #claimed(key: string, server: string): Promise<{ winner: string; existed: boolean }> {
    const l = this.#link;
    const existing = await l.client.limpetClaim(l.key(this.table, key), server, this.#ttl, l.channel, l.message(this.table, key, server));
    const winner = existing ?? server;
    const e = this.#local.get(key);
    if (!e || e.server !== winner) {
      const entry = this.#local.set(key, winner);
      if (entry) entry.pushedAt = Date.now();
    } else {
      e.dirty = false;
      e.pushedAt = Date.now();
    }
    return { winner, existed: existing !== null };
  }

  async #put(key: string, server: string): Promise<void> {
    const l = this.#link;
    await l.client.limpetPut(l.key(this.table, key), server, this.#ttl, l.channel, l.message(this.table, key, server));
  }

  #markDirty(key: string, server: string): void {
    const e = this.#local.get(key);
    if (e && e.server === server) e.dirty = true;
  }

  /**
   * After an outage every local entry is claimed again: ours are written back where Redis has
   * none (Redis may have restarted empty), and where another instance wrote first we adopt its
   * server, so the instances converge.
   */
  async #resync(): Promise<number> {
    const keys = [...this.#local.entries()].map(([k, e]) => [k, e.server] as const);
    let written = 0;
    for (let i = 0; i < keys.length && this.#link.up; i += RESYNC_BATCH) {
      const batch = keys.slice(i, i + RESYNC_BATCH);
      const results = await Promise.allSettled(batch.map(([k, s]) => this.#claim(k, s)));
      for (let j = 0; j < batch.length; j++) {
        const r = results[j]!;
        if (r.status === 'fulfilled' && r.value === batch[j]![1]) written++;
      }
    }
    return written;
  }
}

/**
 * `done` exactly once: with the answer, or with undefined when the budget runs out first
 * (then `late` is called). The returned function says whether it was in time.
 */
function once(done: (v: string | undefined) => void, budget: number, late: () => void): (v: string | undefined) => boolean {
  let called = false;
  const timer = setTimeout(() => {
    called = true;
    late();
    done(undefined);
  }, budget);
  return (v) => {
    if (called) return false;
    called = true;
    clearTimeout(timer);
    done(v);
    return true;
  };
}
