// What a stick table keeps: key → server key (the server's name, or addr:port with `srvkey
// addr`; never its position). Two implementations: memory only, and Redis shared between
// instances with a local cache. Answers may come asynchronously, within the store's budget.

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
  close(): void;
}
