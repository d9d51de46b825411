// Traffic counters per frontend, backend and server, the numbers the stats page, CSV, JSON,
// Prometheus and `show stat` read. Incremented from the session hooks; plain objects, no
// timers, so counting costs a few additions per request.

/** One proxy's or server's counters, named after HAProxy's stats columns. */
export interface ProxyCounters {
  /** current sessions (connections on a frontend, requests in flight on a backend or server) */
  scur: number;
  smax: number;
  stot: number;
  bin: number;
  bout: number;
  /** requests denied (frontend) */
  dreq: number;
  /** request errors (frontend): bad requests, client aborts before a request */
  ereq: number;
  /** connection errors (backend, server) */
  econ: number;
  /** response errors (backend, server) */
  eresp: number;
  /** retries and redispatches (backend, server) */
  wretr: number;
  wredis: number;
  /** HTTP requests received (frontend) */
  reqTot: number;
  /** HTTP responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other */
  hrsp: [number, number, number, number, number, number];
  /** 'cookie' persistence hits */
  cookieHits: number;
  /** when the last session was seen, ms since epoch (0: never) */
  lastSess: number;
  /** total time of the last 1024 requests, to give averages (queue, connect, response, total) */
  qtime: number;
  ctime: number;
  rtime: number;
  ttime: number;
  /** sessions whose times were summed above */
  timed: number;
}

export function newCounters(): ProxyCounters {
  return {
    scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, dreq: 0, ereq: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0,
    reqTot: 0, hrsp: [0, 0, 0, 0, 0, 0], cookieHits: 0, lastSess: 0, qtime: 0, ctime: 0, rtime: 0, ttime: 0, timed: 0,
  };
}

/** All counters of one running proxy; survives a reload when handed to the next runtime. */
export class CounterRegistry {
  readonly frontends = new Map<string, ProxyCounters>();
  readonly backends = new Map<string, ProxyCounters>();
  /** keyed `backend/server` */
  readonly servers = new Map<string, ProxyCounters>();
  /** connections open on every frontend (HAProxy's actconn) */
  actconn = 0;
  /** connections accepted since start (CumConns) */
  cumConns = 0;
  cumReq = 0;
  readonly startedAt = Date.now();

  frontend(name: string): ProxyCounters {
    let c = this.frontends.get(name);
    if (!c) this.frontends.set(name, (c = newCounters()));
    return c;
  }

  backend(name: string): ProxyCounters {
    let c = this.backends.get(name);
    if (!c) this.backends.set(name, (c = newCounters()));
    return c;
  }

  server(backend: string, server: string): ProxyCounters {
    const key = `${backend}/${server}`;
    let c = this.servers.get(key);
    if (!c) this.servers.set(key, (c = newCounters()));
    return c;
  }

  /** A client connection was accepted by a frontend. */
  connectionOpened(frontend: string): void {
    const c = this.frontend(frontend);
    c.scur++;
    c.stot++;
    if (c.scur > c.smax) c.smax = c.scur;
    c.lastSess = Date.now();
    this.actconn++;
    this.cumConns++;
  }

  connectionClosed(frontend: string): void {
    this.frontend(frontend).scur--;
    this.actconn--;
  }
}

/** Counts one session on a backend or server (scur is kept by the caller). */
export function countSession(c: ProxyCounters, now: number): void {
  c.stot++;
  c.lastSess = now;
}

/** Index into `hrsp` for a status code. */
export function statusClass(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
}
