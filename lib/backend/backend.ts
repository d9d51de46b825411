// A backend: its servers, its balancer, its persistence cookie and its shared queue. It
// answers one question per request: which server, and why (cookie or balancing).
import type { ProxyConfig, Timeouts } from '../config/types.js';
import type { Balancer, PickContext } from '../balance/balancer.js';
import { createBalancer } from '../balance/create-balancer.js';
import type { Logger } from '../observe/logger.js';
import type { StickRules } from '../persist/stick-rules.js';
import { dynamicCookie } from '../persist/dynamic-cookie.js';
import { slotLeases } from '../cluster/slot-leases.js';
import { healthSync } from '../cluster/health-sync.js';
import { HealthCheck } from './health-check.js';
import { Server, type QueuedRequest } from './server.js';

export type AssignReason = 'cookie' | 'stick' | 'balance' | 'redispatch';

export class Backend {
  readonly name: string;
  readonly config: ProxyConfig;
  readonly servers: Server[];
  readonly timeouts: Timeouts;
  readonly queue: QueuedRequest[] = [];
  /** stick-table rules of this backend, when it has any */
  stick: StickRules | undefined;
  /**
   * told of every server state change, with HAProxy's log line (lib/observe sends it to the
   * backend's log targets); `syncedAt` is set for a change another worker's checks saw, which
   * is recorded (stats page) but not logged again
   */
  onServerState: ((server: Server, up: boolean, message: string, syncedAt?: number) => void) | undefined;
  #balancer: Balancer;
  #checks: HealthCheck[] = [];
  #warmups = new Map<Server, NodeJS.Timeout>();
  #log: Logger;

  constructor(config: ProxyConfig, log: Logger) {
    this.name = config.name;
    this.config = config;
    this.timeouts = config.timeouts;
    this.#log = log;
    this.servers = assignIds(config).map(([sc, id]) => new Server(sc, id));
    for (const s of this.servers) s.onSlotFree = (srv) => this.#serveQueue(srv);
    this.#leaseSlots();
    const key = config.dynamicCookieKey;
    if (config.cookie?.dynamic && key !== undefined) {
      for (const s of this.servers) s.cookie ??= dynamicCookie(key, s.host, s.port);
    }
    this.#balancer = createBalancer({
      balance: config.balance,
      hashType: config.hashType,
      hashBalanceFactor: config.hashBalanceFactor,
      weights: config.servers.map((sc) => sc.weight),
    });
    this.refresh();
  }

  /**
   * Recomputes the servers the balancer may use (HAProxy's recount_servers): the usable active
   * servers with a non-zero weight; when there is none, the first usable backup, or every usable
   * backup with `option allbackups`. Weight-0 servers still take persistent requests.
   */
  refresh(): void {
    const active = this.servers.filter((s) => !s.backup && s.balanceable);
    let usable = active;
    if (usable.length === 0) {
      const backups = this.servers.filter((s) => s.backup && s.balanceable);
      usable = this.config.options.allbackups ? backups : backups.slice(0, 1);
    }
    this.#balancer.update(usable);
  }

  /** Changes a server's weight at run time (0 drains it: only persistent traffic). */
  setWeight(server: Server, weight: number): void {
    clearTimeout(this.#warmups.get(server));
    this.#warmups.delete(server);
    server.userWeight = weight;
    server.weight = weight;
    this.refresh();
    if (weight > 0) this.#serveQueue(server);
  }

  /** The servers the balancer may currently use, as a count (nbsrv). */
  get usableCount(): number {
    return this.servers.filter((s) => s.balanceable && !s.backup).length;
  }

  pick(ctx: PickContext, exclude?: Server): Server | undefined {
    return this.#balancer.pick(ctx, exclude);
  }

  /** Some usable server exists (they may all be at maxconn: then the request queues). */
  hasUsableServer(): boolean {
    return this.servers.some((s) => s.balanceable);
  }

  /** The algorithm hashes a request key: a retry must not expect a different server from it. */
  get hashBased(): boolean {
    return ['source', 'uri', 'url_param', 'hdr', 'rdp-cookie', 'hash'].includes(this.config.balance.algorithm);
  }

  enqueue(waiter: QueuedRequest): void {
    this.queue.push(waiter);
    // With several workers, any server with a maxconn might lend this worker a slot.
    for (const s of this.servers) if (s.share && s.balanceable) s.share.waitersChanged();
  }

  /** A queued request gave up (client gone, queue timeout): with several workers the primary's count of waiting requests follows. */
  waiterLeft(server: Server | undefined): void {
    if (server) return server.share?.waitersChanged();
    for (const s of this.servers) if (s.share && s.balanceable) s.share.waitersChanged();
  }

  /**
   * In a worker of several, a server's maxconn holds for all workers together: the worker
   * uses only the slots the primary leased it (lib/cluster/slot-leases.ts). A single process
   * counts them locally, as before.
   */
  #leaseSlots(): void {
    const leases = slotLeases();
    if (!leases) return;
    for (const s of this.servers) {
      if (s.maxconn > 0) s.share = leases.bind(this.name, s, this.queue);
      s.onMaxconnSet = (srv) => {
        srv.share ??= leases.bind(this.name, srv, this.queue);
        srv.share.maxconnSet(srv.maxconn);
      };
    }
  }

  #serveQueue(server: Server): void {
    // The backend's queue is served by servers the balancer may use, not by drained ones.
    while (this.queue.length > 0 && server.balanceable && !server.isFull()) {
      const waiter = this.queue.shift()!;
      if (waiter.cancelled) continue;
      server.take();
      waiter.grant(server);
    }
  }

  /**
   * Starts the health checks. In a worker of several, only the worker the primary elected runs
   * them; the others take the states it reports (lib/cluster/health-sync.ts).
   */
  startHealthChecks(): void {
    const sync = healthSync();
    if (sync) return sync.bind(this);
    this.runHealthChecks();
  }

  /**
   * Runs the checks (once); `reported` hears of each state change they make before it is
   * logged, so that once the line is out the other workers' copy is on its way (a checker
   * killed right after its line no longer leaves them, and its successor, unaware).
   */
  runHealthChecks(reported?: (server: Server, up: boolean, reason: string) => void): void {
    if (this.#checks.length > 0) return;
    for (const s of this.servers) {
      if (!s.config.check || s.config.disabled) continue;
      const check = new HealthCheck(s, this.config, (up, reason) => {
        reported?.(s, up, reason);
        this.setHealth(s, up, reason);
      });
      this.#checks.push(check);
      check.start();
    }
  }

  stopHealthChecks(): void {
    for (const c of this.#checks.splice(0)) c.stop();
  }

  /** A server went up or down (health check, or the runtime API): rebalance and log it as HAProxy. */
  setHealth(server: Server, up: boolean, reason: string): void {
    const message = this.#changeHealth(server, up, reason);
    this.#log.alert(message);
    this.onServerState?.(server, up, message);
    if (!this.hasUsableServer()) this.#log.alert(`backend ${this.name} has no server available!`);
  }

  /**
   * Another worker's checks saw a server go up or down (at `at`): the same change as
   * setHealth, without logging it again (the checking worker did).
   */
  applyHealth(server: Server, up: boolean, reason: string, at: number): void {
    const message = server.health === (up ? 'up' : 'down') ? this.#stateMessage(server, up, reason, 0) : this.#changeHealth(server, up, reason);
    this.onServerState?.(server, up, message, at);
  }

  /** Rebalances, drains and requeues for a server going up or down; returns HAProxy's log line. */
  #changeHealth(server: Server, up: boolean, reason: string): string {
    server.health = up ? 'up' : 'down';
    if (!up) server.drainIdle();
    this.refresh();
    // HAProxy's pendconn_redistribute: with `option redispatch` (and not `option persist`) the
    // requests queued on a server that goes down are placed again by the balancer.
    let requeued = 0;
    if (!up && this.config.options.redispatch && !this.config.options.persist) {
      for (const w of server.queue.splice(0)) {
        if (w.cancelled || !w.requeue) continue;
        requeued++;
        w.requeue();
      }
    }
    const message = this.#stateMessage(server, up, reason, requeued);
    if (up) this.#warmUp(server);
    if (up) this.#serveQueue(server);
    return message;
  }

  #stateMessage(server: Server, up: boolean, reason: string, requeued: number): string {
    const remaining = this.usableCount;
    const backups = this.servers.filter((s) => s.backup && s.usable).length;
    // HAProxy's wording, so existing log watchers keep matching.
    return (
      `${server.backup ? 'Backup ' : ''}Server ${this.name}/${server.name} is ${up ? 'UP' : 'DOWN'}, reason: ${reason}. ` +
      `${remaining} active and ${backups} backup servers ${up ? 'online' : 'left'}. ` +
      `${server.active} sessions active, ${requeued} requeued, ${server.queue.length} remaining in queue.`
    );
  }

  /**
   * `slowstart`: a server coming back up starts at 1/16 of its weight and reaches it linearly
   * over the slowstart time, as HAProxy's dynamic algorithms do. Map-based ones (static-rr, first,
   * map-based hashing) ignore it, as in HAProxy.
   */
  #warmUp(server: Server): void {
    const ss = server.config.slowstart;
    if (!ss || !this.#dynamicWeights) return;
    clearTimeout(this.#warmups.get(server));
    const since = Date.now();
    const step = () => {
      const elapsed = Date.now() - since;
      if (elapsed >= ss || !server.usable) {
        this.#warmups.delete(server);
        server.weight = server.userWeight;
      } else {
        server.weight = (server.userWeight * Math.min(16, Math.floor((16 * elapsed + ss) / ss))) / 16;
        const t = setTimeout(step, Math.max(50, Math.floor(ss / 20)));
        t.unref();
        this.#warmups.set(server, t);
      }
      this.refresh();
    };
    step();
  }

  get #dynamicWeights(): boolean {
    const algo = this.config.balance.algorithm;
    if (algo === 'roundrobin' || algo === 'leastconn' || algo === 'random') return true;
    return this.hashBased && this.config.hashType?.lookup === 'consistent';
  }

  stop(): void {
    for (const t of this.#warmups.values()) clearTimeout(t);
    this.stopHealthChecks();
    healthSync()?.unbind(this);
    for (const s of this.servers) s.drainIdle();
    // With several workers: a newer (or, after a failed reload, the older) configuration's server takes this one's leases.
    for (const s of this.servers) s.share?.unbind(s);
  }
}

/**
 * Server ids as HAProxy numbers them: the `id` keyword where given; otherwise the first free
 * number from the server's position in the file (the counter advances past every server,
 * with or without an id), so consistent-hash rings match HAProxy's.
 */
export function assignIds(config: Pick<ProxyConfig, 'servers'>): Array<[ProxyConfig['servers'][number], number]> {
  const taken = new Set(config.servers.map((s) => s.id).filter((id): id is number => id !== undefined));
  let next = 1;
  return config.servers.map((s) => {
    let id = s.id;
    if (id === undefined) {
      while (taken.has(next)) next++;
      taken.add(next);
      id = next;
    }
    next++;
    return [s, id];
  });
}
