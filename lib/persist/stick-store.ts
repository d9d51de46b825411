// What a stick table keeps: key → server key (the server's name, or addr:port with `srvkey
// addr`; never its position). Two implementations: memory only, and Redis shared between
// instances with a local cache. Answers may come asynchronously, within the store's budget.

/** What lookups found, since start (for metrics and the stats page). */
export interface StickCounters {
  /** answered by this instance's memory */
  localHits: number;
  /** a shared table's key found in Redis (another instance wrote it) */
  redisHits: number;
  /** a key known nowhere: the balancer placed it */
  misses: number;
  /** a shared table's lookup Redis did not answer within the section's timeout */
  timeouts: number;
}

export function newStickCounters(): StickCounters {
  return { localHits: 0, redisHits: 0, misses: 0, timeouts: 0 };
}

export interface StickStore {
  /** `stick match`: the entry's server key (refreshing its expiry), or undefined. */
  match(key: string, done: (serverKey: string | undefined) => void): void;
  /**
   * First writer wins: stores `candidate()` unless an entry exists; `done` gets the entry's
   * server key either way (undefined: no candidate, or the store could not tell in time).
   * `candidate` is called only when the key is not known locally (it runs the balancer).
   */
  claim(key: string, candidate: () => string | undefined, done: (serverKey: string | undefined) => void): void;
  /** A request was served by `serverKey`: create, refresh or overwrite the entry. */
  store(key: string, serverKey: string): void;
  /** Shared with other instances (claims are worth making). */
  readonly shared: boolean;
  /** The shared store is unreachable: new keys must be balanced deterministically. */
  readonly degraded: boolean;
  readonly counters: StickCounters;
  close(): void;
}
