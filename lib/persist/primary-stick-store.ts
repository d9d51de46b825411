// A memory stick table in one worker of `--workers N`: a full local copy of the primary's
// table (lib/cluster/stick-service.ts), so that the workers behave as one table. Hits answer
// from the copy at once. A key the copy lacks is asked of the primary, within a budget: the
// copy is complete except for changes still on their way, and a client can outrun them (a
// response's Set-Cookie learned in one worker, the next request in another). A new key is
// claimed at the primary, first writer wins; stores, deletes, and a sliding expiry's refresh
// (at most once per quarter of `expire`) are sent, and the primary tells every worker what
// changed. The copy starts from the whole table, sent in chunks by the primary when the store
// attaches.
import { STICK_TOPICS, stickTableId, type ClaimReply, type DumpChunk, type LookupReply, type StickEvent } from '../cluster/stick-protocol.js';
import type { StickTableConfig } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import type { PrimaryStickLink, PrimaryStickListener } from './primary-stick-link.js';
import { StickMemoryStore, type StickEntry } from './stick-memory-store.js';
import { newStickCounters, type StickStore } from './stick-store.js';

/**
 * The most a request waits on the primary for a lookup or a claim. The primary only answers
 * from memory; waiting longer means it is stuck, and the client is then placed as a shared
 * table places it while Redis is down (by hashing its key, so the workers still agree).
 */
export const PRIMARY_ANSWER_MS = 250;
/** A chunk of the table's copy is given longer. */
const COPY_MS = 10_000;

export class PrimaryStickStore implements StickStore, PrimaryStickListener {
  readonly shared = true;
  readonly counters = newStickCounters();
  readonly table: string;
  readonly id: string;
  readonly #link: PrimaryStickLink;
  readonly #local: StickMemoryStore;
  readonly #refreshEvery: number;
  #closed = false;
  /** the first copy of the table is complete (or could not be had: misses ask the primary anyway) */
  readonly copied: Promise<void>;
  #copiedResolve!: () => void;

  constructor(table: string, config: Pick<StickTableConfig, 'type' | 'size' | 'expire' | 'nopurge'>, link: PrimaryStickLink, log: Logger) {
    this.table = table;
    this.id = stickTableId(table, config.type);
    this.#link = link;
    this.#local = new StickMemoryStore({ size: config.size, expire: config.expire, nopurge: config.nopurge });
    this.#refreshEvery = config.expire !== undefined && config.expire > 0 ? config.expire / 4 : Infinity;
    link.register(this.id, this);
    this.copied = new Promise((resolve) => (this.#copiedResolve = resolve));
    this.#copy(link.request<DumpChunk>(STICK_TOPICS.attach, { id: this.id, size: config.size, expire: config.expire, nopurge: config.nopurge }, COPY_MS), log);
  }

  /** The primary is gone: new keys are placed by hashing (the worker is stopping anyway). */
  get degraded(): boolean {
    return !this.#link.connected;
  }

  /** entries held in this worker's copy */
  get localCount(): number {
    return this.#local.count;
  }

  /** This worker's copy (`show table`). */
  entries(): IterableIterator<[string, StickEntry]> {
    return this.#local.entries();
  }

  /** `clear table`: from the primary and every worker. */
  delete(key: string): void {
    this.#local.delete(key);
    this.#link.send({ op: 'delete', id: this.id, key });
  }

  match(key: string, done: (serverKey: string | undefined) => void): void {
    const e = this.#local.get(key);
    if (e) {
      this.#hit(key, e);
      this.counters.localHits++;
      return done(e.server);
    }
    // The request's own time limit is the budget: no answer in time counts as a timeout.
    this.#link.request<LookupReply>(STICK_TOPICS.lookup, { id: this.id, key }, PRIMARY_ANSWER_MS).then(
      (server) => {
        if (server !== null) this.#learn(key, server);
        this.counters[server === null ? 'misses' : 'localHits']++;
        done(server ?? undefined);
      },
      () => this.#unanswered(done),
    );
  }

  claim(key: string, candidate: () => string | undefined, done: (serverKey: string | undefined) => void): void {
    const e = this.#local.get(key);
    if (e) {
      this.#hit(key, e);
      this.counters.localHits++;
      return done(e.server);
    }
    const server = candidate();
    if (server === undefined) {
      this.counters.misses++;
      return done(undefined);
    }
    this.#link.request<ClaimReply>(STICK_TOPICS.claim, { id: this.id, key, server }, PRIMARY_ANSWER_MS).then(
      (r) => {
        if (r.stored) this.#learn(key, r.winner);
        // existed: another worker placed this client first (possibly on the same server)
        this.counters[r.existed ? 'localHits' : 'misses']++;
        done(r.winner);
      },
      () => this.#unanswered(done),
    );
  }

  store(key: string, serverKey: string): void {
    const e = this.#local.get(key);
    if (e && e.server === serverKey) {
      this.#hit(key, e);
      return;
    }
    // An entry we knew pointed elsewhere: the client was sent to another server on purpose
    // (server down, cookie, redispatch), so overwrite. A new one: first writer wins.
    this.#learn(key, serverKey);
    this.#link.send({ op: 'store', id: this.id, key, server: serverKey, overwrite: e !== undefined });
  }

  event(e: StickEvent): void {
    if (e.op === 'delete') this.#local.delete(e.key);
    else this.#learn(e.key, e.server);
  }

  close(): void {
    this.#closed = true;
    this.#link.unregister(this.id, this);
    this.#local.close();
  }

  /** No answer within the budget (or the primary is gone): the caller places the client itself. */
  #unanswered(done: (serverKey: string | undefined) => void): void {
    this.counters.timeouts++;
    done(undefined);
  }

  /** A hit refreshes the copy, and the primary once per quarter of `expire`. */
  #hit(key: string, e: StickEntry): void {
    this.#local.touch(key, e);
    const now = Date.now();
    if (now - e.pushedAt < this.#refreshEvery) return;
    e.pushedAt = now;
    this.#link.send({ op: 'touch', id: this.id, key, server: e.server });
  }

  /** The entry as the primary has it now (pushedAt: the primary's expiry was just set). */
  #learn(key: string, server: string): void {
    const entry = this.#local.set(key, server);
    if (entry) entry.pushedAt = Date.now();
  }

  /** The table's copy, chunk after chunk, each entry with the time it has left. */
  #copy(chunk: Promise<DumpChunk>, log: Logger): void {
    chunk.then(
      (c) => {
        if (this.#closed) return this.#copiedResolve();
        const now = Date.now();
        for (const [key, server, left] of c.entries) {
          const entry = this.#local.set(key, server);
          if (!entry) continue;
          entry.expires = left < 0 ? Infinity : now + left;
          entry.pushedAt = now;
        }
        if (c.more !== undefined) this.#copy(this.#link.request<DumpChunk>(STICK_TOPICS.dump, { token: c.more }, COPY_MS), log);
        else this.#copiedResolve();
      },
      // Still correct without the copy: every key it lacks is asked of the primary.
      (err: Error) => {
        if (!this.#closed) log.warning(`stick-table ${this.table}: no copy of the table from the primary (${err.message})`);
        this.#copiedResolve();
      },
    );
  }
}
