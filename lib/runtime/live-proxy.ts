// The running process across reloads: the current ProxyRuntime, the runtime API socket, and
// the signals' meaning (HAProxy's): SIGUSR2 re-reads the configuration (a bad one is rejected
// and the running one keeps serving; listening sockets are handed over, never closed; server
// states, counters and in-memory stick tables carry over; connections in flight finish on
// the old configuration), SIGUSR1 stops softly (everything in flight finishes, bounded only by
// `hard-stop-after`), SIGTERM fast (requests in flight get a short grace, then are cut).
import { loadConfig, parseConfigSources, type ConfigSource } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { answerPrimaryCommands, RuntimeApi } from '../observe/runtime-api.js';
import { ProxyRuntime } from './proxy-runtime.js';
import type { WorkerChannel } from '../cluster/cluster-bus.js';

export interface LiveProxyOptions {
  /** the files to re-read on reload (none: reload is refused) */
  files: string[];
  /** a fast stop's (SIGTERM) grace for requests in flight */
  fastStopGraceMs: number;
  /** set in a worker of several: the primary serves the runtime API */
  worker?: WorkerChannel;
}

/** How long the old configuration may finish its connections after a reload, without `hard-stop-after`. */
export const RELOAD_DRAIN_MS = 5000;

export class LiveProxy {
  #runtime: ProxyRuntime;
  #config: Config;
  #log: Logger;
  #opts: LiveProxyOptions;
  #api: RuntimeApi | undefined;
  #draining = new Set<ProxyRuntime>();
  #reloading: Promise<string> | undefined;

  private constructor(config: Config, log: Logger, opts: LiveProxyOptions) {
    this.#config = config;
    this.#log = log;
    this.#opts = opts;
    this.#runtime = new ProxyRuntime(config, log);
  }

  static async start(config: Config, log: Logger, opts: LiveProxyOptions): Promise<LiveProxy> {
    const live = new LiveProxy(config, log, opts);
    await live.#runtime.start();
    live.#runtime.observer.provideServices();
    if (opts.worker) answerPrimaryCommands(opts.worker, live.#control());
    const sockets = config.global.statsSockets;
    if (sockets?.length && !opts.worker) {
      live.#api = new RuntimeApi(live.#control());
      try {
        await live.#api.listen(sockets);
      } catch (err) {
        await live.#runtime.stop(0);
        live.#api.close();
        throw err;
      }
    }
    return live;
  }

  get runtime(): ProxyRuntime {
    return this.#runtime;
  }

  #control() {
    const self = this;
    return {
      stats: () => self.#runtime.observer,
      backends: () => self.#runtime.backends,
      stickTables: () => self.#runtime.stick.tables,
      get globalMaxconn() {
        return self.#config.global.maxconn;
      },
      set globalMaxconn(n: number | undefined) {
        self.#config.global.maxconn = n;
      },
      setFrontendMaxconn: (name: string, n: number) => self.#runtime.setFrontendMaxconn(name, n),
      reload: () => self.reload(),
    };
  }

  /** Re-reads the configuration files; resolves with a one-line account of what happened. */
  /** `sources`: texts the primary read and checked (a worker's reload); else the files are re-read. */
  reload(sources?: ConfigSource[]): Promise<string> {
    this.#reloading ??= this.#reload(sources).finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  async #reload(sources?: ConfigSource[]): Promise<string> {
    if (!sources && this.#opts.files.length === 0) return 'Reload refused: no configuration file to re-read.';
    const { config, errors } = sources ? parseConfigSources(sources) : loadConfig(this.#opts.files);
    if (errors.length > 0 || !config) {
      for (const e of errors) this.#log.alert(`config : ${e.message}`);
      const msg = `Reload rejected: ${errors.length} error(s) in the new configuration; still running the previous one.`;
      this.#log.alert(msg);
      return msg;
    }
    const old = this.#runtime;
    let next: ProxyRuntime;
    try {
      next = new ProxyRuntime(config, this.#log, old.observer.counters);
    } catch (err) {
      const msg = `Reload rejected: ${(err as Error).message}; still running the previous one.`;
      this.#log.alert(msg);
      return msg;
    }
    carryOver(old, next);
    const handed = old.detachListeners();
    try {
      await next.start(handed);
    } catch (err) {
      old.reattachListeners();
      const msg = `Reload rejected: ${(err as Error).message}; still running the previous one.`;
      this.#log.alert(msg);
      return msg;
    }
    // Sockets the new configuration no longer binds.
    for (const l of handed.values()) l.close();
    this.#runtime = next;
    next.observer.provideServices();
    this.#config = config;
    await this.#rebindStatsSockets(config);
    this.#draining.add(old);
    // HAProxy's old process after a reload is soft-stopping, so hard-stop-after bounds it too.
    void old.stop(config.global.hardStopAfter ?? RELOAD_DRAIN_MS, false).finally(() => this.#draining.delete(old));
    const msg = `Reload done: new configuration running (${config.proxies.length} proxies); the old one finishes ${old.sessionCount} connection(s).`;
    this.#log.notice(msg);
    return msg;
  }

  /** `stats socket` lines after a reload: kept ones stay open, new ones are bound, dropped ones close. */
  async #rebindStatsSockets(config: Config): Promise<void> {
    if (this.#opts.worker) return; // the primary serves the runtime API
    const sockets = config.global.statsSockets ?? [];
    if (sockets.length === 0 && !this.#api) return;
    this.#api ??= new RuntimeApi(this.#control());
    try {
      await this.#api.listen(sockets);
    } catch (err) {
      this.#log.warning(`reload: ${(err as Error).message}; the other stats sockets keep serving`);
    }
  }

  /**
   * Listeners and idle keep-alive connections close at once; then a soft stop (SIGUSR1) waits
   * for everything in flight, up to `hard-stop-after` when set, and a fast one (SIGTERM) for
   * requests in flight up to its short grace. What is left is cut.
   */
  async stop(soft: boolean): Promise<void> {
    this.#api?.close();
    const hardStopAfter = this.#config.global.hardStopAfter;
    const grace = soft ? (hardStopAfter ?? Infinity) : this.#opts.fastStopGraceMs;
    let hardStop: NodeJS.Timeout | undefined;
    if (soft && hardStopAfter !== undefined) {
      hardStop = setTimeout(() => {
        const left = this.sessionCount;
        if (left > 0) this.#log.warning(`soft-stop running for too long (hard-stop-after ${hardStopAfter}ms): closing ${left} connection(s) still in flight`);
      }, hardStopAfter);
      hardStop.unref();
    }
    await Promise.all([this.#runtime.stop(grace), ...[...this.#draining].map((r) => r.stop(grace))]);
    clearTimeout(hardStop);
  }

  /** global `hard-stop-after` of the running configuration, ms */
  get hardStopAfter(): number | undefined {
    return this.#config.global.hardStopAfter;
  }

  /** Connections open, on the running configuration and on old ones still finishing. */
  get sessionCount(): number {
    return this.#runtime.sessionCount + [...this.#draining].reduce((n, r) => n + r.sessionCount, 0);
  }
}

/** Server states set at run time, observed health, and stick entries go to the new runtime. */
function carryOver(old: ProxyRuntime, next: ProxyRuntime): void {
  for (const [k, v] of old.observer.serverStates) next.observer.serverStates.set(k, v);
  for (const [name, nb] of next.backends) {
    const ob = old.backends.get(name);
    if (!ob) continue;
    let changed = false;
    for (const ns of nb.servers) {
      const os = ob.servers.find((s) => s.name === ns.name);
      if (!os) continue;
      if (os.health === 'down' && ns.config.check) {
        ns.health = 'down';
        changed = true;
      }
      // A maintenance or weight set at run time survives; the file's own `disabled` wins.
      if (os.maintenance && !os.config.disabled) {
        ns.maintenance = true;
        changed = true;
      }
      if (os.userWeight !== os.config.weight && ns.config.weight === os.config.weight) nb.setWeight(ns, os.userWeight);
    }
    if (changed) nb.refresh();
  }
  for (const [name, nt] of next.stick.tables) {
    const ot = old.stick.tables.get(name);
    const from = ot?.store as { entries?: () => Iterable<[string, { server: string }]> } | undefined;
    const to = nt.store as { set?: (key: string, server: string) => unknown };
    if (!from?.entries || !to.set || nt.config.type !== ot!.config.type) continue;
    for (const [key, e] of from.entries()) to.set(key, e.server);
  }
}

