// Builds the running proxy from a Config: backends with their servers and health checks,
// frontends with their listeners; and stops it, letting requests in flight finish.
import type net from 'node:net';
import { Backend } from '../backend/backend.js';
import { isBackend, isFrontend, type Config, type ProxyConfig } from '../config/types.js';
import { HttpSession, type HttpFrontend } from '../http/http-session.js';
import type { Logger } from '../observe/logger.js';
import { attachStickTables, type StickRuntime } from '../persist/stick-runtime.js';
import { TcpSession } from '../tcp/tcp-session.js';
import { describeBind, listen } from './listener.js';

export class ProxyRuntime {
  readonly backends = new Map<string, Backend>();
  readonly stick: StickRuntime;
  #config: Config;
  #log: Logger;
  #listeners: net.Server[] = [];
  #sessions = new Set<HttpSession | TcpSession>();
  #connections = 0;

  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    for (const p of config.proxies) if (isBackend(p)) this.backends.set(p.name, new Backend(p, log));
    this.stick = attachStickTables(config, this.backends, log);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  async start(): Promise<void> {
    for (const b of this.backends.values()) b.startHealthChecks();
    try {
      for (const p of this.#config.proxies) {
        if (!isFrontend(p)) continue;
        for (const bind of p.binds) {
          const onConnection = this.#acceptor(p);
          try {
            this.#listeners.push(await listen(bind.address, onConnection));
          } catch (err) {
            throw new Error(`Starting ${p.kind} ${p.name}: cannot bind socket (${(err as Error).message}) for [${describeBind(bind.address)}]`);
          }
          this.#log.debug(`${p.kind} ${p.name} listening on ${describeBind(bind.address)}`);
        }
      }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  #acceptor(p: ProxyConfig): (socket: net.Socket) => void {
    const backendName = p.kind === 'listen' ? p.name : p.defaultBackend?.name;
    const backend = backendName === undefined ? undefined : this.backends.get(backendName);
    const maxconn = p.maxconn ?? this.#config.global.maxconn;
    const onClose = (s: HttpSession | TcpSession) => {
      this.#sessions.delete(s);
      this.#connections--;
    };
    const accept = (socket: net.Socket, make: () => HttpSession | TcpSession) => {
      if (maxconn !== undefined && this.#connections >= maxconn) {
        // HAProxy stops accepting at maxconn; dropping the surplus keeps the same bound.
        socket.destroy();
        return;
      }
      this.#connections++;
      this.#sessions.add(make());
    };
    if (p.mode === 'tcp') {
      const fe = { defaultBackend: backend, clientTimeout: p.timeouts.client, log: this.#log, onClose };
      return (socket) => accept(socket, () => new TcpSession(socket, fe));
    }
    const fe: HttpFrontend = {
      name: p.name,
      config: p,
      defaultBackend: backend,
      bufsize: this.#config.global.bufsize,
      maxhdr: this.#config.global.maxhdr,
      timeouts: p.timeouts,
      log: this.#log,
      onClose,
    };
    return (socket) => accept(socket, () => new HttpSession(socket, fe));
  }

  /**
   * Stops listening, lets requests in flight finish for up to `graceMs`, then closes what is
   * left. Idle keep-alive connections close at once.
   */
  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.#listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    this.#listeners = [];
    for (const s of this.#sessions) if (s instanceof HttpSession) s.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.#sessions]) s.close();
    for (const b of this.backends.values()) b.stop();
    this.stick.close();
  }
}
