// One `redis NAME` section at run time: a command connection and a subscriber connection
// (ioredis: standalone, Sentinel or Cluster), whether Redis is reachable, and the channel on
// which instances tell each other of the entries they write. Stores register by table name.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/types.js';
import type { Logger } from '../observe/logger.js';

/** A change another instance made, as published on the channel. */
export interface StickEvent {
  /** the publishing instance */
  i: string;
  /** table name */
  t: string;
  key: string;
  /** server key */
  s: string;
}

export interface RedisLinkListener {
  readonly table: string;
  /** another instance wrote an entry */
  remote(key: string, serverKey: string): void;
  /** Redis became reachable (the first time, or again): write back and resync */
  reconnected(): void;
}

// Atomic first-writer-wins: an existing entry is returned (and its TTL refreshed, as a match
// refreshes it); otherwise ours is stored and announced. ARGV: server, ttl ms (0 = none),
// channel, message.
const CLAIM = `
local v = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[2])
if v then
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return v
end
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return false`;

// Overwrite (the client was deliberately sent elsewhere) and announce.
const PUT = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

// Read and refresh, as `stick match` does.
const LOOKUP = `
local v = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[1])
if v and ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return v`;

type Client = (Redis | Cluster) & {
  limpetClaim(key: string, server: string, ttl: number, channel: string, message: string): Promise<string | null>;
  limpetPut(key: string, server: string, ttl: number, channel: string, message: string): Promise<number>;
  limpetLookup(key: string, ttl: number): Promise<string | null>;
};

export class RedisLink {
  readonly name: string;
  readonly prefix: string;
  /** the most a request waits on Redis, ms */
  readonly timeout: number;
  readonly instance = randomBytes(8).toString('hex');
  readonly channel: string;
  #client: Client;
  #sub: Redis | Cluster;
  #log: Logger;
  #up = false;
  /** undefined until the first connection attempt settles, so the first state is logged */
  #reported: 'up' | 'down' | undefined;
  #listeners = new Map<string, RedisLinkListener>();
  #closed = false;
  #roundTrips = 0;
  #roundTripMs = 0;
  #recentMs = 0;

  constructor(config: RedisConfig, log: Logger) {
    this.name = config.name;
    this.prefix = config.prefix;
    this.timeout = config.timeout;
    this.channel = `${config.prefix}:stick-events`;
    this.#log = log;
    this.#client = connect(config) as Client;
    this.#sub = connect(config, true);
    for (const [name, lua, keys] of [['limpetClaim', CLAIM, 1], ['limpetPut', PUT, 1], ['limpetLookup', LOOKUP, 1]] as const) {
      this.#client.defineCommand(name, { lua, numberOfKeys: keys });
    }
    this.#client.on('ready', () => this.#setUp(true));
    this.#client.on('close', () => this.#setUp(false));
    this.#client.on('end', () => this.#setUp(false));
    // ioredis reports each failed attempt; the state change is what gets logged, once.
    this.#client.on('error', (err: Error) => {
      if (log.debugEnabled) log.debug(`redis ${this.name}: ${err.message}`);
      if (!this.#up) this.#report('down', err.message);
    });
    this.#sub.on('error', () => {});
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.#onMessage(message);
    });
    this.#sub.subscribe(this.channel).catch(() => {
      // resubscribed automatically on reconnect
    });
  }

  /** Redis answers commands now. */
  get up(): boolean {
    return this.#up;
  }

  /** A lookup or claim answered after `ms` (what a new client waits for). */
  roundTrip(ms: number): void {
    this.#roundTrips++;
    this.#roundTripMs += ms;
    // recent mean for the stats page: each answer weighs 1/16
    this.#recentMs = this.#roundTrips === 1 ? ms : this.#recentMs + (ms - this.#recentMs) / 16;
  }

  /** lookups and claims answered, their total time (ms) and a recent mean (ms) */
  get roundTrips(): { count: number; totalMs: number; recentMs: number } {
    return { count: this.#roundTrips, totalMs: this.#roundTripMs, recentMs: this.#recentMs };
  }

  get client(): Client {
    return this.#client;
  }

  key(table: string, key: string): string {
    return `${this.prefix}:${table}:${key}`;
  }

  message(table: string, key: string, serverKey: string): string {
    const e: StickEvent = { i: this.instance, t: table, key, s: serverKey };
    return JSON.stringify(e);
  }

  register(listener: RedisLinkListener): void {
    this.#listeners.set(listener.table, listener);
  }

  close(): void {
    this.#closed = true;
    this.#client.disconnect();
    this.#sub.disconnect();
  }

  #setUp(up: boolean): void {
    if (this.#closed || up === this.#up) {
      if (!up && !this.#closed) this.#report('down', 'connection closed');
      return;
    }
    this.#up = up;
    this.#report(up ? 'up' : 'down', up ? 'connected' : 'connection lost');
    // Every time, the first included: clients that came before the first connection was ready
    // were placed (and remembered) as during an outage, and the other instances must learn them.
    if (up) for (const l of this.#listeners.values()) l.reconnected();
  }

  #report(state: 'up' | 'down', why: string): void {
    if (this.#reported === state || this.#closed) return;
    const first = this.#reported === undefined;
    this.#reported = state;
    if (state === 'down') {
      this.#log.alert(`redis ${this.name}: unreachable (${why}); stick tables keep serving from local memory and balance new clients by hashing their key`);
    } else if (!first) {
      this.#log.alert(`redis ${this.name}: reachable again; writing back entries learned meanwhile`);
    }
  }

  #onMessage(message: string): void {
    let e: StickEvent;
    try {
      e = JSON.parse(message) as StickEvent;
    } catch {
      return;
    }
    if (e.i === this.instance || typeof e.key !== 'string' || typeof e.s !== 'string') return;
    this.#listeners.get(e.t)?.remote(e.key, e.s);
  }
}

/** The subscriber queues its SUBSCRIBE until connected; the command connection never queues. */
function connect(config: RedisConfig, subscriber = false): Redis | Cluster {
  const common: RedisOptions = {
    // A request never waits for a reconnection: commands fail at once while Redis is away.
    enableOfflineQueue: subscriber,
    maxRetriesPerRequest: subscriber ? null : 0,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    enableAutoPipelining: true,
    ...(config.user !== undefined ? { username: config.user } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
  };
  const d = config.deployment!;
  switch (d.kind) {
    case 'standalone':
      return new Redis({ ...common, host: d.host, port: d.port, db: config.database ?? 0 });
    case 'sentinel':
      return new Redis({
        ...common,
        sentinels: d.sentinels,
        name: d.master,
        db: config.database ?? 0,
        ...(config.password !== undefined ? { sentinelPassword: config.password } : {}),
      });
    case 'cluster':
      return new Cluster(d.nodes, {
        enableOfflineQueue: subscriber,
        enableAutoPipelining: true,
        clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
        redisOptions: {
          connectTimeout: 1000,
          maxRetriesPerRequest: 0,
          ...(config.user !== undefined ? { username: config.user } : {}),
          ...(config.password !== undefined ? { password: config.password } : {}),
        },
      });
  }
}
