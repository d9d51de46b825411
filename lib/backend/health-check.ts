// Active health checks: a TCP connect (or, with `option httpchk`, an HTTP request whose 2xx/3xx
// status means healthy) every `inter`; `fall` consecutive failures take the server down,
// `rise` consecutive successes bring it back, as HAProxy counts them.
import net from 'node:net';
import type { ProxyConfig } from '../config/types.js';
import type { Server } from './server.js';

export class HealthCheck {
  #server: Server;
  #proxy: ProxyConfig;
  #onChange: (up: boolean, reason: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #socket: net.Socket | undefined;
  #stopped = false;
  /** HAProxy's health counter: 0..rise+fall-1; the server is up while it is >= rise */
  #health: number;

  constructor(server: Server, proxy: ProxyConfig, onChange: (up: boolean, reason: string) => void) {
    this.#server = server;
    this.#proxy = proxy;
    this.#onChange = onChange;
    const { rise, fall } = server.config;
    this.#health = rise + fall - 1; // servers start up, as in HAProxy
  }

  start(): void {
    // A first check soon after start, spread a little so servers are not probed in lockstep.
    this.#schedule(Math.min(this.#server.config.inter, 50 + Math.floor(Math.random() * 50)));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.destroy();
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#run(), delay);
    this.#timer.unref();
  }

  #run(): void {
    const srv = this.#server;
    const timeout = this.#proxy.timeouts.check ?? this.#proxy.timeouts.connect ?? srv.config.inter;
    const httpchk = this.#proxy.options.httpchk;
    const started = Date.now();
    let done = false;
    const socket = net.connect({ host: srv.host, port: srv.port });
    this.#socket = socket;
    const finish = (ok: boolean, reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      this.#socket = undefined;
      this.#result(ok, reason, Date.now() - started);
      this.#schedule(srv.config.inter);
    };
    const timer = setTimeout(() => finish(false, httpchk ? 'Layer7 timeout' : 'Layer4 timeout'), timeout);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(false, `Layer4 connection problem, info: "${err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message}"`),
    );
    socket.on('connect', () => {
      if (!httpchk) return finish(true, 'Layer4 check passed');
      socket.write(`${httpchk.method} ${httpchk.uri} ${httpchk.version}\r\nHost: ${srv.host}\r\nConnection: close\r\n\r\n`);
    });
    if (httpchk) {
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        got += d;
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(got);
        if (m) {
          const status = Number(m[1]);
          finish(status >= 200 && status < 400, status >= 200 && status < 400 ? `Layer7 check passed, code: ${status}` : `Layer7 wrong status, code: ${status}`);
        } else if (got.length > 64 || got.includes('\n')) finish(false, 'Layer7 invalid response');
      });
      socket.on('end', () => finish(false, 'Layer7 invalid response'));
    }
  }

  #result(ok: boolean, reason: string, ms: number): void {
    const { rise, fall } = this.#server.config;
    const wasUp = this.#health >= rise;
    if (wasUp) {
      // Up: the counter runs from rise+fall-1 down to rise; one more failure takes it down.
      if (ok) this.#health = rise + fall - 1;
      else if (this.#health > rise) this.#health--;
      else this.#health = 0;
    } else {
      // Down: `rise` consecutive successes are needed; a failure starts the count again.
      if (!ok) this.#health = 0;
      else if (++this.#health >= rise) this.#health = rise + fall - 1;
    }
    const isUp = this.#health >= rise;
    if (isUp !== wasUp) this.#onChange(isUp, `${reason}, check duration: ${ms}ms`);
  }
}
