// A backend: its servers, its balancer, its persistence cookie and its shared queue. It
// answers one question per request: which server, and why (cookie or balancing).
import type { ProxyConfig, Timeouts } from '../config/types.js';
import type { Balancer, PickContext } from '../balance/balancer.js';
import { createBalancer } from '../balance/create-balancer.js';
import type { Logger } from '../observe/logger.js';
import type { StickRules } from '../persist/stick-rules.js';
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
  #balancer: Balancer;
  #checks: HealthCheck[] = [];
  #log: Logger;

  constructor(config: ProxyConfig, log: Logger) {
    this.name = config.name;
    this.config = config;
    this.timeouts = config.timeouts;
    this.#log = log;
    this.servers = assignIds(config).map(([sc, id]) => new Server(sc, id));
    for (const s of this.servers) s.onSlotFree = (srv) => this.#serveQueue(srv);
    this.#balancer = createBalancer(config.balance);
    this.refresh();
  }

  /** Recomputes the servers the balancer may use: active ones, else backups (HAProxy's rule). */
  refresh(): void {
    const active = this.servers.filter((s) => !s.backup && s.usable);
    let usable = active;
    if (usable.length === 0) {
      const backups = this.servers.filter((s) => s.backup && s.usable);
      // Without `option allbackups` only the first usable backup takes traffic.
      usable = backups.slice(0, 1);
    }
    this.#balancer.update(usable);
  }

  /** The servers the balancer may currently use, as a count (nbsrv). */
  get usableCount(): number {
    return this.servers.filter((s) => s.usable && !s.backup).length;
  }

  pick(ctx: PickContext, exclude?: Server): Server | undefined {
    return this.#balancer.pick(ctx, exclude);
  }

  /** Some usable server exists (they may all be at maxconn: then the request queues). */
  hasUsableServer(): boolean {
    return this.servers.some((s) => s.usable);
  }

  enqueue(waiter: QueuedRequest): void {
    this.queue.push(waiter);
  }

  #serveQueue(server: Server): void {
    while (this.queue.length > 0 && server.usable && !server.isFull()) {
      const waiter = this.queue.shift()!;
      if (waiter.cancelled) continue;
      server.take();
      waiter.grant(server);
    }
  }

  startHealthChecks(): void {
    for (const s of this.servers) {
      if (!s.config.check || s.config.disabled) continue;
      const check = new HealthCheck(s, this.config, (up, reason) => this.#setHealth(s, up, reason));
      this.#checks.push(check);
      check.start();
    }
  }

  #setHealth(server: Server, up: boolean, reason: string): void {
    server.health = up ? 'up' : 'down';
    if (!up) server.drainIdle();
    this.refresh();
    const remaining = this.usableCount;
    const backups = this.servers.filter((s) => s.backup && s.usable).length;
    // HAProxy's wording, so existing log watchers keep matching.
    this.#log.alert(
      `${server.backup ? 'Backup ' : ''}Server ${this.name}/${server.name} is ${up ? 'UP' : 'DOWN'}, reason: ${reason}. ` +
        `${remaining} active and ${backups} backup servers ${up ? 'online' : 'left'}. ` +
        `${server.active} sessions active, 0 requeued, ${server.queue.length} remaining in queue.`,
    );
    if (up) this.#serveQueue(server);
    if (!this.hasUsableServer()) this.#log.alert(`backend ${this.name} has no server available!`);
  }

  stop(): void {
    for (const c of this.#checks) c.stop();
    for (const s of this.servers) s.drainIdle();
  }
}

/** Server ids: the `id` keyword where given, else the next free number in file order (as HAProxy). */
function assignIds(config: ProxyConfig): Array<[ProxyConfig['servers'][number], number]> {
  const taken = new Set(config.servers.map((s) => s.id).filter((id): id is number => id !== undefined));
  let next = 1;
  return config.servers.map((s) => {
    if (s.id !== undefined) return [s, s.id];
    while (taken.has(next)) next++;
    taken.add(next);
    return [s, next];
  });
}
