// The end of every request (HTTP) or connection (TCP): count it, and write one log line in the
// frontend's format to the frontend's log targets. Formatting lives here, not in sessions.
import type { Config, LogTarget, ProxyConfig } from '../config/types.js';
import { statusClass, type CounterRegistry } from './counters.js';
import { compileLogFormat, DEFAULT_FORMAT, HTTPLOG_FORMAT, TCPLOG_FORMAT, type CompiledLogFormat, type LiveCounts } from './log-format.js';
import { createLogSink, type LogLevel, type LogSink } from './log-sink.js';
import type { TrafficRecord } from './traffic-record.js';

/** Connection counts the log line shows; the runtime knows them. */
export type LiveCountsOf = (r: TrafficRecord) => LiveCounts;

/** The log targets of a proxy, with `log global` replaced by the global section's. */
export function proxyLogTargets(config: Config, p: ProxyConfig): LogTarget[] {
  return p.logs.flatMap((l) => (l.target === 'global' ? config.global.logs : [l]));
}

/** One sink per distinct `log` line, shared by the proxies that use it. */
export class LogSinks {
  #sinks = new Map<LogTarget, LogSink>();
  #warn: ((m: string) => void) | undefined;

  constructor(warn?: (m: string) => void) {
    this.#warn = warn;
  }

  get(targets: LogTarget[]): LogSink[] {
    return targets.map((t) => {
      let s = this.#sinks.get(t);
      if (!s) this.#sinks.set(t, (s = createLogSink(t, this.#warn)));
      return s;
    });
  }

  close(): void {
    for (const s of this.#sinks.values()) s.close();
    this.#sinks.clear();
  }
}

export function formatFor(p: ProxyConfig): string {
  if (p.logFormat !== undefined) return p.logFormat;
  if (p.options.httplog && p.mode === 'http') return HTTPLOG_FORMAT;
  // `option httplog` in a tcp frontend falls back to tcplog, as HAProxy warns and does.
  if (p.options.tcplog || p.options.httplog) return TCPLOG_FORMAT;
  return DEFAULT_FORMAT;
}

export class TrafficLog {
  #format: CompiledLogFormat;
  #sinks: LogSink[];
  #dontlognull: boolean;
  #counters: CounterRegistry;
  #live: LiveCountsOf;

  constructor(p: ProxyConfig, sinks: LogSink[], counters: CounterRegistry, live: LiveCountsOf) {
    this.#format = compileLogFormat(formatFor(p));
    this.#sinks = sinks;
    this.#dontlognull = p.options.dontlognull ?? false;
    this.#counters = counters;
    this.#live = live;
  }

  /** Counts the record on its frontend, backend and server, then logs it. */
  end(r: TrafficRecord): void {
    const now = Date.now();
    const c = this.#counters;
    const fe = c.frontend(r.frontend);
    fe.bin += r.bytesIn;
    fe.bout += r.bytesOut;
    if (r.mode === 'http' && !r.empty) {
      if (r.TR >= 0 || r.status > 0) {
        fe.reqTot++;
        c.cumReq++;
      }
      if (r.status > 0) fe.hrsp[statusClass(r.status)]!++;
      if (r.termination[0] === 'P' || r.termination[0] === 'C' || r.termination[0] === 'c') if (r.termination[1] === 'R') fe.ereq++;
    }
    if (r.backend !== r.frontend || r.server !== '<NOSRV>' || r.Tw >= 0) {
      const be = c.backend(r.backend);
      be.bin += r.bytesIn;
      be.bout += r.bytesOut;
      be.stot++;
      be.lastSess = now;
      be.wretr += r.redispatched ? Math.max(0, r.retries - 1) : r.retries;
      if (r.redispatched) be.wredis++;
      if (r.status > 0 && r.mode === 'http') be.hrsp[statusClass(r.status)]!++;
      if (r.termination[1] === 'C' && r.Tw >= 0) be.econ++;
      if (r.termination === 'SH' || r.termination === 'sH' || r.termination === 'SD') be.eresp++;
      if (r.Tr >= 0) {
        be.timed++;
        be.qtime += Math.max(0, r.Tw);
        be.ctime += Math.max(0, r.Tc);
        be.rtime += r.Tr;
        be.ttime += r.Tt - r.Th - r.Ti;
      }
      if (r.server !== '<NOSRV>') {
        const srv = c.server(r.backend, r.server);
        srv.bin += r.bytesIn;
        srv.bout += r.bytesOut;
        srv.stot++;
        srv.lastSess = now;
        if (r.clientCookie === 'V') srv.cookieHits++;
        if (r.status > 0 && r.mode === 'http') srv.hrsp[statusClass(r.status)]!++;
        if (r.termination[1] === 'C') srv.econ++;
        if (r.termination === 'SH' || r.termination === 'sH' || r.termination === 'SD') srv.eresp++;
        srv.wretr += r.redispatched ? Math.max(0, r.retries - 1) : r.retries;
        if (r.Tr >= 0) {
          srv.timed++;
          srv.qtime += Math.max(0, r.Tw);
          srv.ctime += Math.max(0, r.Tc);
          srv.rtime += r.Tr;
          srv.ttime += r.Tt - r.Th - r.Ti;
        }
      }
    }
    if (this.#sinks.length === 0) return;
    if (r.empty && this.#dontlognull) return;
    const line = this.#format(r, this.#live(r));
    // HAProxy logs errors at 'err' only with `option log-separate-errors`; everything is 'info'.
    for (const s of this.#sinks) s.send('info', line);
  }

  /** A connection error line (no session, so no record and no counters); `empty`: nothing was received. */
  connectionError(line: string, empty: boolean): void {
    if (empty && this.#dontlognull) return;
    for (const s of this.#sinks) s.send('info', line);
  }
}

/** Sends one of limpet's own event lines (server up/down, health checks) to a proxy's targets. */
export function sendEvent(sinks: LogSink[], level: LogLevel, message: string): void {
  for (const s of sinks) s.send(level, message);
}
