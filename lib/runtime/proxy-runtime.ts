// Builds the running proxy from a Config: backends with their servers and health checks,
// frontends with their listeners; and stops it, letting requests in flight finish.
import type net from 'node:net';
import { Backend } from '../backend/backend.js';
import { isBackend, isFrontend, type BindConfig, type Config, type ProxyConfig } from '../config/types.js';
import { HttpSession, type HttpFrontend } from '../http/http-session.js';
import type { CounterRegistry } from '../observe/counters.js';
import type { Logger } from '../observe/logger.js';
import { Observer } from '../observe/observer.js';
import { attachStickTables, type StickRuntime } from '../persist/stick-runtime.js';
import { readProxyHeader } from '../tcp/accept-proxy.js';
import type { ProxiedAddresses } from '../tcp/proxy-protocol.js';
import { TcpSession, type TcpFrontend } from '../tcp/tcp-session.js';
import { describeBind, listen } from './listener.js';
import { HttpRules } from '../rules/http-rules.js';
import { hasRules } from '../rules/proxy-rules.js';
import { clusterWorker } from '../cluster/cluster-bus.js';
import { fairShare } from '../cluster/slot-share.js';
import { healthSync } from '../cluster/health-sync.js';

interface FrontendSlots {
  active: number;
  maxconn: number | undefined;
}

/** Connections held unread past maxconn, as a kernel listen backlog would hold them. */
const WAIT_QUEUE_LIMIT = 1024;
const ignore = (): void => {};

export class ProxyRuntime {
  readonly backends = new Map<string, Backend>();
  readonly stick: StickRuntime;
  /** logs, counters, stats (lib/observe) */
  readonly observer: Observer;
  #config: Config;
  #log: Logger;
  #listeners: net.Server[] = [];
  #sessions = new Set<HttpSession | TcpSession>();
  /** connections counted against global maxconn, and per frontend against its own */
  #active = 0;
  #frontendSlots = new Map<ProxyConfig, FrontendSlots>();
  #waiting: Array<{ slots: FrontendSlots; socket: net.Socket; start: (socket: net.Socket) => void }> = [];
  /**
   * With several workers, global and frontend maxconn are split between them: each admits its
   * fair share (at least one). HAProxy counts maxconn per process; limpet's workers together
   * stand for one process.
   */
  #perWorker = perWorkerLimit();

  constructor(config: Config, log: Logger, counters?: CounterRegistry) {
    this.#config = config;
    this.#log = log;
    for (const p of config.proxies) if (isBackend(p)) this.backends.set(p.name, new Backend(p, log));
    this.observer = new Observer(config, this.backends, counters, undefined, (m) => log.warning(m));
    this.stick = attachStickTables(config, this.backends, log);
    this.observer.stickStatus = () => this.stick.status();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Starts health checks and listeners. `inherited` listeners (a reload's, keyed by
   * describeBind) are taken over instead of bound again, so no connection is refused.
   */
  async start(inherited?: Map<string, net.Server>): Promise<void> {
    this.#inherited = inherited;
    // A starting worker serves once it holds the shared stick tables (a reload does not wait).
    if (!inherited) await this.stick.ready;
    // A starting worker serves once it knows the servers' states the checking worker saw.
    if (!inherited) await healthSync()?.ready;
    for (const b of this.backends.values()) b.startHealthChecks();
    try {
      for (const p of this.#config.proxies) {
        if (!isFrontend(p)) continue;
        for (const bind of p.binds) {
          const onConnection = this.#acceptor(p, bind);
          try {
            this.#listeners.push(await this.#bind(bind.address, onConnection));
          } catch (err) {
            throw new Error(`Starting ${p.kind} ${p.name}: cannot bind socket (${(err as Error).message}) for [${describeBind(bind.address)}]`);
          }
          this.#log.debug(`${p.kind} ${p.name} listening on ${describeBind(bind.address)}`);
        }
      }
    } catch (err) {
      this.#listeners = this.#listeners.filter((l) => !this.#giveBack(l));
      await this.stop(0);
      throw err;
    }
  }

  #inherited: Map<string, net.Server> | undefined;
  #keys = new Map<net.Server, string>();

  async #bind(address: BindConfig['address'], onConnection: (socket: net.Socket) => void): Promise<net.Server> {
    const key = describeBind(address);
    const old = this.#inherited?.get(key);
    let server: net.Server;
    if (old) {
      this.#inherited!.delete(key);
      old.on('connection', onConnection);
      this.#takenOver.add(old);
      server = old;
    } else server = await listen(address, onConnection);
    this.#keys.set(server, key);
    return server;
  }

  #handedOver = new Map<net.Server, Array<(...args: unknown[]) => void>>();

  /** Hands the listening sockets over (for a reload): they stay open, this runtime stops accepting. */
  detachListeners(): Map<string, net.Server> {
    const out = new Map<string, net.Server>();
    for (const l of this.#listeners) {
      this.#handedOver.set(l, l.listeners('connection') as Array<(...args: unknown[]) => void>);
      l.removeAllListeners('connection');
      out.set(this.#keys.get(l)!, l);
    }
    return out;
  }

  /** The reload failed: accept on the handed-over sockets again. */
  reattachListeners(): void {
    for (const [l, handlers] of this.#handedOver) {
      l.removeAllListeners('connection');
      for (const h of handlers) l.on('connection', h);
    }
    this.#handedOver.clear();
  }

  /** Taken-over listeners go back to the caller when this runtime fails to start. */
  #giveBack(l: net.Server): boolean {
    const key = this.#keys.get(l);
    if (!this.#takenOver.has(l) || key === undefined) return false;
    l.removeAllListeners('connection');
    this.#inherited?.set(key, l);
    return true;
  }

  #takenOver = new Set<net.Server>();

  /** `set maxconn frontend NAME N` (runtime API). */
  setFrontendMaxconn(name: string, n: number): boolean {
    let found = false;
    for (const [p, slots] of this.#frontendSlots) {
      if (p.name !== name) continue;
      slots.maxconn = n;
      found = true;
    }
    return found;
  }

  #acceptor(p: ProxyConfig, bind: BindConfig): (socket: net.Socket) => void {
    const backendName = p.kind === 'listen' ? p.name : p.defaultBackend?.name;
    const backend = backendName === undefined ? undefined : this.backends.get(backendName);
    const slots = this.#frontendSlots.get(p) ?? { active: 0, maxconn: p.maxconn ?? this.#config.global.maxconn };
    this.#frontendSlots.set(p, slots);
    const onClose = (s: HttpSession | TcpSession) => {
      if (!this.#sessions.delete(s)) return;
      this.#release(slots);
    };
    let make: (socket: net.Socket, addresses: ProxiedAddresses | undefined) => HttpSession | TcpSession;
    if (p.mode === 'tcp') {
      const fe: TcpFrontend = { name: p.name, config: p, defaultBackend: backend, bufsize: this.#config.global.bufsize, log: this.#log, onClose, traffic: this.observer.hooks(p) };
      make = (socket, addresses) => new TcpSession(socket, fe, { addresses });
    } else {
      const fe: HttpFrontend = {
        name: p.name,
        config: p,
        defaultBackend: backend,
        bufsize: this.#config.global.bufsize,
        maxhdr: this.#config.global.maxhdr,
        timeouts: p.timeouts,
        log: this.#log,
        onClose,
        traffic: this.observer.hooks(p),
        localResponse: this.observer.localResponder(p),
        // The rules engine runs only when some section of the configuration has L7 rules.
        rules: this.#config.proxies.some((x) => (x.rules && hasRules(x.rules)) || (x.persistRules?.length ?? 0) > 0 || x.stickRules?.some((r) => r.cond || r.fetch.needsRules))
          ? new HttpRules(p, this.backends, backend, this.#config.userlists)
          : undefined,
      };
      make = (socket, addresses) => {
        const session = new HttpSession(socket, fe, { remoteAddress: addresses?.srcAddress, addresses });
        // accept-proxy hands the socket over paused; adding a 'data' listener does not resume it.
        socket.resume();
        return session;
      };
    }
    const start = (socket: net.Socket) => {
      if (!bind.acceptProxy) return void this.#sessions.add(make(socket, undefined));
      // The PROXY header is read before any session exists, so the session (and balancing,
      // logs, X-Forwarded-For) sees the original client address.
      readProxyHeader(
        socket,
        p.timeouts.client,
        ({ addresses }) => void this.#sessions.add(make(socket, addresses)),
        (refusal) => {
          this.#log.debug(`${p.name}: ${refusal.srcAddress || '?'}: ${refusal.detail}`);
          this.observer.hooks(p).connectionError({ ...refusal, bind: String(p.binds.indexOf(bind) + 1) });
          this.#release(slots);
        },
      );
    };
    return (socket) => {
      if (this.#hasSlot(slots)) return this.#take(slots, socket, start);
      // HAProxy stops accepting at maxconn and the kernel queues new connections. Node cannot
      // stop accept(), so surplus connections wait here unread, up to a backlog's worth.
      if (this.#waiting.length >= WAIT_QUEUE_LIMIT) return void socket.destroy();
      socket.on('error', ignore);
      this.#waiting.push({ slots, socket, start });
    };
  }

  #hasSlot(slots: FrontendSlots): boolean {
    const globalMax = this.#config.global.maxconn;
    return (globalMax === undefined || this.#active < this.#perWorker(globalMax)) && (slots.maxconn === undefined || slots.active < this.#perWorker(slots.maxconn));
  }

  #take(slots: FrontendSlots, socket: net.Socket, start: (socket: net.Socket) => void): void {
    this.#active++;
    slots.active++;
    start(socket);
  }

  /** A connection ended: admit waiting ones, oldest first, for every frontend now below its limit. */
  #release(slots: FrontendSlots): void {
    this.#active--;
    slots.active--;
    for (let i = 0; i < this.#waiting.length; ) {
      const w = this.#waiting[i]!;
      if (w.socket.destroyed) this.#waiting.splice(i, 1);
      else if (this.#hasSlot(w.slots)) {
        this.#waiting.splice(i, 1);
        w.socket.removeListener('error', ignore);
        this.#take(w.slots, w.socket, w.start);
      } else i++;
    }
  }

  /**
   * Stops listening, lets requests in flight finish for up to `graceMs`, then closes what is
   * left. Idle keep-alive connections close at once.
   */
  async stop(graceMs: number, closeIdle = true): Promise<void> {
    for (const w of this.#waiting.splice(0)) w.socket.destroy();
    // Listeners handed to a newer runtime (reload) are its to close.
    if (this.#handedOver.size > 0) this.#listeners = [];
    // close() frees the socket at once; its callback would wait for every connection to end,
    // idle keep-alive ones included, before the grace period even began.
    for (const l of this.#listeners) l.close();
    this.#listeners = [];
    for (const s of this.#sessions) if (s instanceof HttpSession) s.shutdown(closeIdle);
    const deadline = Date.now() + graceMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.#sessions]) s.close();
    for (const b of this.backends.values()) b.stop();
    this.stick.close();
    this.observer.close();
  }
}

/** This worker's part of a connection limit (the limit itself in a single process). */
function perWorkerLimit(): (limit: number) => number {
  const w = clusterWorker();
  if (!w || w.workers <= 1) return (limit) => limit;
  return (limit) => Math.max(1, fairShare(limit, w.workerId, w.workers));
}
