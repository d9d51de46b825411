// Active health checks: a TCP connect (or, with `option httpchk`, an HTTP request whose 2xx/3xx
// status means healthy) every `inter`; `fall` consecutive failures take the server down,
// `rise` consecutive successes bring it back, as HAProxy counts them.
import net from 'node:net';
import type { HttpCheckExpect, ProxyConfig } from '../config/types.js';
import type { Server } from './server.js';
import { proxyHeader } from '../tcp/proxy-protocol.js';

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
    // Servers start up, as in HAProxy; one already known down (a reload carried it over, or
    // another worker's checks saw it) needs `rise` successes to come back.
    this.#health = server.health === 'down' ? 0 : rise + fall - 1;
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
    // `addr` and `port` on the server line send checks elsewhere than traffic.
    const socket = net.connect({ host: srv.config.checkAddr ?? srv.host, port: srv.config.checkPort ?? srv.port });
    this.#socket = socket;
    // With send-proxy (or check-send-proxy) the server expects a PROXY header first; a check
    // has no client, so it says so (v1 UNKNOWN, v2 LOCAL) as HAProxy's checks do.
    if (srv.config.sendProxy || srv.config.checkSendProxy) socket.write(proxyHeader(srv.config.sendProxy ?? 1, undefined));
    const finish = (ok: boolean, reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      this.#socket = undefined;
      this.#result(ok, reason, Date.now() - started);
      this.#schedule(this.#interval());
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
      const expect = this.#proxy.httpCheckExpect;
      const needBody = expect?.kind === 'string' || expect?.kind === 'rstring';
      let got = '';
      socket.setEncoding('latin1');
      const judge = (complete: boolean) => {
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(got);
        if (!m) {
          if (complete || got.length > 64 || got.includes('\n')) finish(false, 'Layer7 invalid response');
          return;
        }
        const status = Number(m[1]);
        if (!needBody) {
          const r = expectStatus(expect, status);
          return finish(r.ok, r.reason);
        }
        // String matches read the body, up to the end of the response (Connection: close) or 16 kB.
        if (!complete && got.length < 16384) return;
        const sep = got.indexOf('\r\n\r\n');
        const r = expectBody(expect!, sep === -1 ? '' : got.slice(sep + 4, sep + 4 + 16384), status);
        finish(r.ok, r.reason);
      };
      socket.on('data', (d: string) => {
        got += d;
        judge(false);
      });
      socket.on('end', () => judge(true));
    }
  }

  /** HAProxy's srv_getinter: `inter` when fully up, `downinter` when fully down, else `fastinter`. */
  #interval(): number {
    const c = this.#server.config;
    if (this.#health === c.rise + c.fall - 1) return c.inter;
    if (this.#health === 0) return c.downinter ?? c.inter;
    return c.fastinter ?? c.inter;
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

interface Verdict {
  ok: boolean;
  reason: string;
}

/** `http-check expect [!] status|rstatus`; without an expect rule, 2xx and 3xx pass. */
export function expectStatus(expect: HttpCheckExpect | undefined, status: number): Verdict {
  let match: boolean;
  if (!expect) match = status >= 200 && status < 400;
  else if (expect.kind === 'rstatus') match = new RegExp(expect.pattern).test(String(status));
  else {
    match = expect.pattern.split(',').some((part) => {
      const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
      return hi === undefined ? status === lo : status >= lo && status <= hi;
    });
  }
  const ok = expect?.negate ? !match : match;
  return ok
    ? { ok, reason: `Layer7 check passed, code: ${status}` }
    : { ok, reason: `Layer7 wrong status, code: ${status}, info: "HTTP status check returned code <${status}>"` };
}

/** `http-check expect [!] string|rstring` against the response body. */
export function expectBody(expect: HttpCheckExpect, body: string, status: number): Verdict {
  const match = expect.kind === 'string' ? body.includes(expect.pattern) : new RegExp(expect.pattern).test(body);
  const ok = expect.negate ? !match : match;
  return ok
    ? { ok, reason: `Layer7 check passed, code: ${status}` }
    : { ok, reason: `Layer7 wrong status, code: ${status}, info: "HTTP content check ${expect.negate ? 'matched unwanted content' : 'did not match'}"` };
}
