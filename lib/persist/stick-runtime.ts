// Builds the stick tables of a configuration (memory, or shared through a `redis` section),
// gives every backend with stick rules its StickRuleSet, and closes it all on stop. In a
// worker of `--workers N` a memory table is a copy of the primary's, so the workers share it.
import type { Backend } from '../backend/backend.js';
import { clusterWorker } from '../cluster/cluster-bus.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { primaryStickLink } from './primary-stick-link.js';
import { PrimaryStickStore } from './primary-stick-store.js';
import { RedisLink } from './redis-link.js';
import { RedisStickStore } from './redis-stick-store.js';
import { StickMemoryStore } from './stick-memory-store.js';
import { StickRuleSet } from './stick-rule-set.js';
import type { StickCounters } from './stick-store.js';
import { StickTable } from './stick-table.js';

/** One table's state, for the stats page and metrics. */
export interface StickTableStatus {
  table: string;
  /** entries held by this instance (its local copy, for a shared table) */
  entries: number;
  size: number;
  /** lookups since start: found locally, found in Redis, placed anew, Redis too slow */
  counters: StickCounters;
  /**
   * The redis section the table is shared through, whether Redis answers now, and the round
   * trips of lookups and claims (per section: tables sharing it show the same numbers).
   */
  redis?: { name: string; up: boolean; roundTrips: number; roundTripMs: number; recentRoundTripMs: number };
}

export interface StickRuntime {
  readonly tables: ReadonlyMap<string, StickTable>;
  /**
   * In a worker of several: the workers' shared tables have their first copy from the primary
   * (at most READY_WAIT_MS; a key missing from a copy is asked of the primary anyway).
   */
  readonly ready: Promise<void>;
  readonly links: ReadonlyMap<string, RedisLink>;
  status(): StickTableStatus[];
  close(): void;
}

/** The longest a starting worker waits for its copies of the shared tables before it serves. */
const READY_WAIT_MS = 5000;

export function attachStickTables(config: Config, backends: ReadonlyMap<string, Backend>, log: Logger): StickRuntime {
  const links = new Map<string, RedisLink>();
  const tables = new Map<string, StickTable>();
  const worker = clusterWorker();
  for (const p of config.proxies) {
    const t = p.stickTable;
    if (!t || !backends.has(p.name)) continue;
    const opts = { size: t.size, expire: t.expire, nopurge: t.nopurge };
    let store;
    if (t.redis) {
      let link = links.get(t.redis.name);
      if (!link) {
        const rc = config.redis?.find((r) => r.name === t.redis!.name);
        // validateConfig guarantees the section exists.
        link = new RedisLink(rc!, log);
        links.set(rc!.name, link);
      }
      store = new RedisStickStore(p.name, link, opts, log);
    } else if (worker) {
      store = new PrimaryStickStore(p.name, t, primaryStickLink(worker), log);
    } else {
      store = new StickMemoryStore(opts);
    }
    tables.set(p.name, new StickTable(p.name, t, store));
  }
  for (const p of config.proxies) {
    const backend = backends.get(p.name);
    if (!backend || !p.stickRules?.length) continue;
    const rules = p.stickRules.map((r) => ({ kind: r.kind, fetch: r.fetch, table: tables.get(r.table?.name ?? p.name)!, ...(r.cond ? { cond: r.cond } : {}) }));
    backend.stick = new StickRuleSet(backend, rules);
  }
  const copies = [...tables.values()].flatMap((t) => (t.store instanceof PrimaryStickStore ? [t.store.copied] : []));
  return {
    tables,
    ready: copies.length === 0 ? Promise.resolve() : Promise.race([Promise.all(copies).then(() => undefined), new Promise<void>((r) => setTimeout(r, READY_WAIT_MS).unref())]),
    links,
    status() {
      return [...tables.values()].map((t) => {
        const store = t.store;
        const entries = store instanceof RedisStickStore || store instanceof PrimaryStickStore ? store.localCount : (store as StickMemoryStore).count;
        const link = t.config.redis ? links.get(t.config.redis.name) : undefined;
        const rt = link?.roundTrips;
        return {
          table: t.name,
          entries,
          size: t.config.size,
          counters: { ...store.counters },
          ...(link && rt ? { redis: { name: link.name, up: link.up, roundTrips: rt.count, roundTripMs: rt.totalMs, recentRoundTripMs: rt.recentMs } } : {}),
        };
      });
    },
    close() {
      for (const t of tables.values()) t.store.close();
      for (const l of links.values()) l.close();
    },
  };
}
