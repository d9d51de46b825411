// Everything observation needs for one running configuration: counters (carried across
// reloads), log sinks, a TrafficLog per frontend and the trackers sessions use. The runtime
// creates one and hands each frontend its hooks.
import type { Backend } from '../backend/backend.js';
import { isBackend, isFrontend, type Config, type ProxyConfig } from '../config/types.js';
import { CounterRegistry } from './counters.js';
import type { LogLevel, LogSink } from './log-sink.js';
import { clusterWorker } from '../cluster/cluster-bus.js';
import { STATS_SNAPSHOT, STATS_WHOLE, WHOLE_TIMEOUT_MS } from '../cluster/stats-topics.js';
import { snapshotOf, type ServerStateInfo, type StatsSnapshot, type StatsSource } from './stats-data.js';
import { provideService } from './services.js';
import { prometheusResponse, statsResponse, type LocalAnswer, type SnapshotSource } from './stats-page.js';
import { LogSinks, proxyLogTargets, sendEvent, TrafficLog } from './traffic-log.js';
import type { TrafficRecord } from './traffic-record.js';
import { createTrafficHooks, type TrafficHooks } from './traffic-tracker.js';

/** What a session asks before dispatching: is this request one limpet answers itself? */
export type LocalResponder = (req: { method: string; target: string; authorization: string | undefined }) => LocalAnswer | undefined;

export class Observer implements StatsSource {
  readonly counters: CounterRegistry;
  readonly config: Config;
  readonly backends: ReadonlyMap<string, Backend>;
  readonly serverStates: Map<string, ServerStateInfo>;
  #backends: ReadonlyMap<string, Backend>;
  /** set by the runtime once its stick tables exist */
  stickStatus: StatsSource['stickStatus'];
  #sinks: LogSinks;
  #hooks = new Map<string, TrafficHooks>();
  #proxySinks = new Map<string, LogSink[]>();

  constructor(
    config: Config,
    backends: ReadonlyMap<string, Backend>,
    counters = new CounterRegistry(),
    serverStates = new Map<string, ServerStateInfo>(),
    warn?: (message: string) => void,
  ) {
    this.#sinks = new LogSinks(warn);
    this.config = config;
    this.counters = counters;
    this.serverStates = serverStates;
    this.backends = backends;
    this.#backends = backends;
    for (const b of backends.values()) {
      b.onServerState = (server, up, message, syncedAt) => {
        const m = /reason: (Layer(\d) ([^,.]*))/.exec(message);
        this.serverStates.set(`${b.name}/${server.name}`, {
          lastChange: syncedAt ?? Date.now(),
          checkStatus: checkStatusCode(message, up),
          checkDesc: m?.[1],
        });
        // Another worker's checks saw it and logged it (several workers): recorded, not logged twice.
        if (syncedAt !== undefined) return;
        if (b.config.options.logHealthChecks) {
          // HAProxy logs each check status change; limpet's checks report the transitions.
          const reason = /reason: (.*?)\. \d+ active/.exec(message)?.[1] ?? 'state change';
          const { rise, fall } = server.config;
          const status = up ? `${rise + fall - 1}/${rise + fall - 1} UP` : `0/${rise} DOWN`;
          this.backendEvent(b.name, up ? 'notice' : 'warning',
            `Health check for ${server.backup ? 'backup ' : ''}server ${b.name}/${server.name} ${up ? 'succeeded' : 'failed'}, reason: ${reason}, status: ${status}.`);
        }
        this.backendEvent(b.name, up ? 'notice' : 'alert', message);
        if (!b.hasUsableServer()) this.backendEvent(b.name, 'emerg', `backend ${b.name} has no server available!`);
      };
    }
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

  get startedAt(): number {
    return this.counters.startedAt;
  }

  /**
   * Makes this configuration the one `use-service prometheus-exporter` reports on, and, in a
   * worker of several, the one whose numbers go to the primary.
   */
  provideServices(): void {
    provideService('prometheus-exporter', () => prometheusResponse(this.#snapshots));
    clusterWorker()?.on(STATS_SNAPSHOT, () => snapshotOf(this));
  }

  /**
   * What the stats page and Prometheus show: this process's numbers, or in a worker of
   * several, every worker's merged by the primary (whichever worker serves the request).
   */
  readonly #snapshots: SnapshotSource = () => {
    const channel = clusterWorker();
    return channel ? channel.request<StatsSnapshot>(STATS_WHOLE, undefined, WHOLE_TIMEOUT_MS) : snapshotOf(this);
  };

  /** The stats page of frontend `p` (its own `stats` lines, else its default backend's). */
  localResponder(p: ProxyConfig): LocalResponder | undefined {
    const backendName = p.kind === 'listen' ? p.name : p.defaultBackend?.name;
    const be = backendName === undefined ? undefined : this.config.proxies.find((x) => x.name === backendName && isBackend(x));
    const cfg = p.stats?.enabled ? p.stats : be?.stats?.enabled ? be.stats : undefined;
    if (!cfg) return undefined;
    return (req) => statsResponse(cfg, req, this.#snapshots);
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

/** HAProxy's check_status code from a state change's reason. */
function checkStatusCode(message: string, up: boolean): string {
  if (/Layer7 check passed/.test(message)) return 'L7OK';
  if (/Layer7 wrong status/.test(message)) return 'L7STS';
  if (/Layer7 timeout/.test(message)) return 'L7TOUT';
  if (/Layer7/.test(message)) return 'L7RSP';
  if (/Layer4 timeout/.test(message)) return 'L4TOUT';
  if (/Layer4 connection problem/.test(message)) return 'L4CON';
  return up ? 'L4OK' : 'L4CON';
}
