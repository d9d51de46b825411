// Everything observation needs for one running configuration: counters (carried across
// reloads), log sinks, a TrafficLog per frontend and the trackers sessions use. The runtime
// creates one and hands each frontend its hooks.
import type { Backend } from '../backend/backend.js';
import { isBackend, isFrontend, type Config, type ProxyConfig } from '../config/types.js';
import { CounterRegistry } from './counters.js';
import type { LogLevel, LogSink } from './log-sink.js';
import { LogSinks, proxyLogTargets, sendEvent, TrafficLog } from './traffic-log.js';
import type { TrafficRecord } from './traffic-record.js';
import { createTrafficHooks, type TrafficHooks } from './traffic-tracker.js';

export class Observer {
  readonly counters: CounterRegistry;
  readonly config: Config;
  #backends: ReadonlyMap<string, Backend>;
  #sinks = new LogSinks();
  #hooks = new Map<string, TrafficHooks>();
  #proxySinks = new Map<string, LogSink[]>();

  constructor(config: Config, backends: ReadonlyMap<string, Backend>, counters = new CounterRegistry()) {
    this.config = config;
    this.counters = counters;
    this.#backends = backends;
    for (const p of config.proxies) {
      const sinks = this.#sinks.get(proxyLogTargets(config, p));
      this.#proxySinks.set(`${p.kind === 'backend' ? 'b' : 'f'}:${p.name}`, sinks);
      if (isBackend(p)) this.#proxySinks.set(`b:${p.name}`, sinks);
      if (isFrontend(p)) {
        const log = new TrafficLog(p, sinks, counters, (r) => this.#live(r));
        this.#hooks.set(p.name, createTrafficHooks(p.name, log, counters));
      }
    }
  }

  /** The trackers for sessions of frontend `p`. */
  hooks(p: ProxyConfig): TrafficHooks {
    return this.#hooks.get(p.name)!;
  }

  /** A server or backend event (UP/DOWN, health check) for the backend's log targets. */
  backendEvent(backend: string, level: LogLevel, message: string): void {
    const sinks = this.#proxySinks.get(`b:${backend}`);
    if (sinks) sendEvent(sinks, level, message);
  }

  #live(r: TrafficRecord) {
    const be = this.#backends.get(r.backend);
    let beconn = 0;
    let srvconn = 0;
    if (be) {
      for (const s of be.servers) {
        beconn += s.active;
        if (s.name === r.server) srvconn = s.active;
      }
    }
    return {
      actconn: this.counters.actconn,
      feconn: this.counters.frontend(r.frontend).scur,
      beconn,
      srvconn,
    };
  }

  close(): void {
    this.#sinks.close();
  }
}
