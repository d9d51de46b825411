// A worker's side of health checks across workers (health-service.ts is the primary's). The
// worker says hello when it starts and gets every server's latest state, which it applies
// before it serves, and whether it runs the checks. The checker runs them as a single process
// does (logging the UP/DOWN and health-check lines) and reports each change; the others apply
// what the primary passes on, without checking and without logging. Backends are matched by
// name, servers by name within them, so a reloaded configuration keeps the states.
import type { Backend } from '../backend/backend.js';
import type { Server } from '../backend/server.js';
import { clusterWorker, type WorkerChannel } from './cluster-bus.js';
import { HEALTH_TOPICS, healthKey, type HealthHello, type HealthState } from './health-protocol.js';

const HELLO_TIMEOUT_MS = 2000;
/** A hello that got no answer is asked again, backing off to this. */
const HELLO_RETRY_MAX_MS = 1000;

export class HealthSync {
  #channel: WorkerChannel;
  #checker = false;
  /** the latest state of each server, as this worker knows it (from the primary or its own checks) */
  #states = new Map<string, HealthState>();
  /** backends of the running configurations by name, newest last (an old one drains after a reload) */
  #bound = new Map<string, Backend[]>();
  /** resolves once the hello was answered, or its first try timed out (the worker serves anyway) */
  readonly ready: Promise<void>;

  constructor(channel: WorkerChannel) {
    this.#channel = channel;
    channel.on(HEALTH_TOPICS.state, (s: HealthState) => this.#apply(s));
    channel.on(HEALTH_TOPICS.role, () => this.#becomeChecker());
    this.ready = this.#hello().then((answered) => {
      if (!answered) void this.#keepAsking();
    });
  }

  /** This worker runs the checks. */
  get checker(): boolean {
    return this.#checker;
  }

  /** Asks the primary for the states and the role; false when it did not answer. */
  async #hello(): Promise<boolean> {
    try {
      const answer = await this.#channel.request<HealthHello>(HEALTH_TOPICS.hello, undefined, HELLO_TIMEOUT_MS);
      for (const s of answer.states) this.#apply(s);
      if (answer.checker) this.#becomeChecker();
      return true;
    } catch {
      return false;
    }
  }

  async #keepAsking(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await new Promise<void>((r) => setTimeout(r, Math.min(100 * 2 ** attempt, HELLO_RETRY_MAX_MS)).unref());
      if (await this.#hello()) return;
    }
  }

  /**
   * A configuration's backend starts: it takes the known states and, in the checker, runs
   * the checks instead of the same backend of the previous configuration.
   */
  bind(backend: Backend): void {
    const list = (this.#bound.get(backend.name) ?? []).filter((b) => b !== backend);
    const previous = list.at(-1);
    list.push(backend);
    this.#bound.set(backend.name, list);
    for (const s of this.#states.values()) if (s.backend === backend.name) this.#applyTo(backend, s);
    if (!this.#checker) return;
    previous?.stopHealthChecks();
    this.#runChecks(backend);
  }

  /** A backend stopped (drained, or its configuration failed to start): the newest one left checks. */
  unbind(backend: Backend): void {
    const list = this.#bound.get(backend.name);
    if (!list) return;
    const wasNewest = list.at(-1) === backend;
    const left = list.filter((b) => b !== backend);
    if (left.length === 0) this.#bound.delete(backend.name);
    else this.#bound.set(backend.name, left);
    if (this.#checker && wasNewest && left.length > 0) this.#runChecks(left.at(-1)!);
  }

  #becomeChecker(): void {
    if (this.#checker) return;
    this.#checker = true;
    for (const list of this.#bound.values()) this.#runChecks(list.at(-1)!);
  }

  #runChecks(backend: Backend): void {
    backend.runHealthChecks((server: Server, up: boolean, reason: string) => {
      const s: HealthState = { backend: backend.name, server: server.name, up, reason, at: Date.now() };
      this.#states.set(healthKey(s.backend, s.server), s);
      this.#channel.send(HEALTH_TOPICS.change, s);
    });
  }

  /** Another worker's check changed a server's state. */
  #apply(s: HealthState): void {
    this.#states.set(healthKey(s.backend, s.server), s);
    for (const b of this.#bound.get(s.backend) ?? []) this.#applyTo(b, s);
  }

  #applyTo(backend: Backend, s: HealthState): void {
    const server = backend.servers.find((x) => x.name === s.server);
    // A server without checks in this configuration is up whatever an older one saw.
    if (!server || !server.config.check || server.config.disabled) return;
    backend.applyHealth(server, s.up, s.reason, s.at);
  }
}

let sync: HealthSync | undefined;

/** This worker's health-check link to the primary; undefined in a single process. */
export function healthSync(): HealthSync | undefined {
  const channel = clusterWorker();
  if (!channel) return undefined;
  sync ??= new HealthSync(channel);
  return sync;
}
