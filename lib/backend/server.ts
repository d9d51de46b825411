// A server of a backend: its address and settings, its health, how many connections it has,
// the requests queued for it (maxconn) and its idle keep-alive connections.
import type { ServerConnection } from './server-connection.js';
import type { ServerConfig } from '../config/types.js';
import type { SlotShare } from '../cluster/slot-leases.js';

/** A request waiting for a connection slot; `grant` is called with the server that has one. */
export interface QueuedRequest {
  grant(server: Server): void;
  /** set when the waiter gave up (queue timeout, client gone); the queue skips it */
  cancelled: boolean;
  /** its server went down: let the balancer place it again (option redispatch) */
  requeue?(): void;
}

export type ServerHealth = 'up' | 'down';

export class Server {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** the `cookie` value, or one derived by `cookie ... dynamic` */
  cookie: string | undefined;
  readonly backup: boolean;
  #maxconn: number;
  /** stable identity for shared tables: the `id` keyword, else assigned in file order */
  readonly id: number;
  readonly config: ServerConfig;
  /** what its consistent-hash points derive from */
  readonly hashKey: 'id' | 'addr' | 'addr-port';
  /** most requests that may wait in this server's queue (0: no limit) */
  readonly maxqueue: number;
  /** the weight balancers use: the configured or runtime-set weight, ramped during slowstart */
  weight: number;
  /** the weight as configured or set at run time (HAProxy's uweight) */
  userWeight: number;
  health: ServerHealth = 'up';
  /** `disabled` in the file, or put in maintenance at run time */
  maintenance: boolean;
  /** connections currently in use by requests (not idle pooled ones) */
  active = 0;
  totalSessions = 0;
  readonly queue: QueuedRequest[] = [];
  readonly idle: ServerConnection[] = [];
  /** set by the backend so a freed slot can also serve its shared queue */
  onSlotFree: ((server: Server) => void) | undefined;
  /**
   * In a worker of several: this worker's lease of the server's maxconn slots, held across
   * workers by the primary (lib/cluster/slot-leases.ts). Undefined in a single process.
   */
  share: SlotShare | undefined;
  /** set by the backend in a worker of several: `set maxconn server` must reach the primary */
  onMaxconnSet: ((server: Server) => void) | undefined;

  constructor(config: ServerConfig, id: number) {
    this.config = config;
    this.name = config.name;
    this.host = config.host;
    this.port = config.port;
    this.cookie = config.cookie;
    this.backup = config.backup;
    this.#maxconn = config.maxconn;
    this.weight = config.weight;
    this.userWeight = config.weight;
    this.hashKey = config.hashKey ?? 'id';
    this.maxqueue = config.maxqueue ?? 0;
    this.maintenance = config.disabled;
    this.id = id;
  }

  /** Up and not in maintenance: may receive traffic (weight 0 still takes persistent requests). */
  get usable(): boolean {
    return this.health === 'up' && !this.maintenance;
  }

  /** Usable and with a non-zero weight: may be chosen by a balancer (HAProxy's srv_willbe_usable). */
  get balanceable(): boolean {
    return this.usable && this.weight > 0;
  }

  /** Its queue has reached `maxqueue`: new requests must go elsewhere. */
  queueFull(): boolean {
    return this.maxqueue > 0 && this.queue.filter((w) => !w.cancelled).length >= this.maxqueue;
  }

  /** Most connections at once (0: no limit); `set maxconn server` changes it at run time. */
  get maxconn(): number {
    return this.#maxconn;
  }

  set maxconn(n: number) {
    this.#maxconn = n;
    this.onMaxconnSet?.(this);
  }

  /** At maxconn; with several workers, also when this worker uses every slot it has leased. */
  isFull(): boolean {
    return this.#maxconn > 0 && (this.active >= this.#maxconn || (this.share !== undefined && this.share.inUse >= this.share.leased));
  }

  take(): void {
    this.active++;
    this.totalSessions++;
    if (this.share) this.share.inUse++;
  }

  release(): void {
    this.active--;
    // With several workers the lease decides: serve a waiter here, or give the slot back.
    if (this.share) return this.share.freed(this);
    this.serveWaiters();
  }

  /** Queues a request for this server's next free slot. */
  enqueue(waiter: QueuedRequest): void {
    this.queue.push(waiter);
    this.share?.waitersChanged();
  }

  /** A slot is free: it goes first to requests queued for this server, then to the backend's queue. */
  serveWaiters(): void {
    while (this.queue.length > 0 && !this.isFull()) {
      const waiter = this.queue.shift()!;
      if (waiter.cancelled) continue;
      this.take();
      waiter.grant(this);
      return;
    }
    this.onSlotFree?.(this);
  }

  /** Closes idle pooled connections (server went down, or shutdown). */
  drainIdle(): void {
    for (const s of this.idle.splice(0)) s.destroy();
  }
}
