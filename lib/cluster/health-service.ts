// The primary's side of health checks across workers: it elects the worker that runs the
// checks (the first to say hello; when it dies, the lowest-numbered live one, at once, rather
// than waiting for its replacement, which may take seconds or fail to start), keeps the latest
// state of each server and passes every change to the other workers. A starting worker gets
// all states in its hello's answer.
import type { Config } from '../config/types.js';
import { isBackend } from '../config/types.js';
import type { PrimaryContext, PrimaryService, PrimaryServiceFactory } from './primary-service.js';
import { HEALTH_TOPICS, healthKey, type HealthHello, type HealthState } from './health-protocol.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR1'] as const;

class HealthService implements PrimaryService {
  #ctx: PrimaryContext;
  #states = new Map<string, HealthState>();
  /** workers that said hello and have not exited */
  #live = new Set<number>();
  #checker: number | undefined;
  /** the primary is stopping its workers: a checker that exits is not replaced */
  #stopping = false;
  #onStop = (): void => {
    this.#stopping = true;
  };

  constructor(ctx: PrimaryContext) {
    this.#ctx = ctx;
    // The primary turns these into a stop of every worker (primary.ts).
    for (const signal of STOP_SIGNALS) process.on(signal, this.#onStop);
    ctx.channel.on(HEALTH_TOPICS.hello, (_p: unknown, workerId: number): HealthHello => {
      this.#live.add(workerId);
      this.#checker ??= workerId;
      return { checker: this.#checker === workerId, states: [...this.#states.values()] };
    });
    ctx.channel.on(HEALTH_TOPICS.change, (s: HealthState, workerId: number) => {
      // Only the elected checker's word counts (a message still in flight from a former one does not).
      if (workerId !== this.#checker) return;
      this.#states.set(healthKey(s.backend, s.server), s);
      ctx.channel.broadcast(HEALTH_TOPICS.state, s, workerId);
    });
  }

  workerExited(workerId: number): void {
    this.#live.delete(workerId);
    if (workerId !== this.#checker || this.#stopping) return;
    this.#checker = [...this.#live].sort((a, b) => a - b)[0];
    if (this.#checker !== undefined) {
      this.#ctx.log.notice(`health checks: worker ${workerId} exited; worker ${this.#checker} runs them now`);
      this.#ctx.channel.sendTo(this.#checker, HEALTH_TOPICS.role);
    }
  }

  close(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, this.#onStop);
  }

  /** Servers the new configuration no longer has are forgotten. */
  reload(config: Config): void {
    const kept = new Set<string>();
    for (const p of config.proxies) if (isBackend(p)) for (const s of p.servers) kept.add(healthKey(p.name, s.name));
    for (const key of this.#states.keys()) if (!kept.has(key)) this.#states.delete(key);
  }
}

export const healthService: PrimaryServiceFactory = (ctx) => new HealthService(ctx);
