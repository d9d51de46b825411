// The typed configuration model: what lib/config/ produces from haproxy.cfg-style text and
// what lib/runtime/ builds listeners and backends from. All durations are milliseconds.
import type { Condition } from '../acl/condition.js';
import type { ProxyRules } from '../rules/proxy-rules.js';
import type { UserlistConfig } from '../rules/userlist.js';
import type { StickExpr } from '../persist/stick-expr.js';

export interface SourceLocation {
  file: string;
  line: number;
}

export type Mode = 'http' | 'tcp';

export type BindAddress =
  | { kind: 'tcp'; host: string; port: number } // host '' means every address (`:port`, `*:port`)
  | { kind: 'unix'; path: string }
  | { kind: 'fd'; fd: number };

export interface BindConfig {
  address: BindAddress;
  /** `accept-proxy`: a PROXY protocol header (v1 or v2) must open every connection */
  acceptProxy?: boolean;
  where: SourceLocation;
}

export interface Timeouts {
  connect?: number;
  client?: number;
  server?: number;
  httpRequest?: number;
  httpKeepAlive?: number;
  queue?: number;
  tunnel?: number;
  check?: number;
  /** client/server inactivity once that side's connection is half-closed (HAProxy's *-fin) */
  clientFin?: number;
  serverFin?: number;
}

export interface BalanceConfig {
  /** HAProxy's algorithm keyword: roundrobin, static-rr, leastconn, first, random, source, uri, ... */
  algorithm: string;
  /** Everything after the algorithm word, as written (e.g. `hdr(host)` gives algorithm 'hdr', args ['host']). */
  args: string[];
  where: SourceLocation;
}

export interface CookieConfig {
  name: string;
  mode: 'insert' | 'rewrite' | 'prefix';
  indirect: boolean;
  nocache: boolean;
  postonly: boolean;
  preserve: boolean;
  httponly: boolean;
  secure: boolean;
  domains: string[];
  maxidle?: number; // ms
  maxlife?: number; // ms
  attrs: string[];
  /** `dynamic`: servers without a cookie value get one derived from `dynamic-cookie-key` */
  dynamic?: boolean;
  where: SourceLocation;
}

export interface ServerConfig {
  name: string;
  host: string;
  port: number;
  weight: number; // default 1, 0..256
  maxconn: number; // 0 = unlimited
  cookie?: string;
  check: boolean;
  inter: number; // default 2000
  rise: number; // default 2
  fall: number; // default 3
  backup: boolean;
  disabled: boolean;
  id?: number;
  /** `pool-max-conn`: idle keep-alive connections kept for reuse (-1, the default: no limit) */
  poolMaxConn?: number;
  /** `send-proxy` (1) or `send-proxy-v2` (2): a PROXY header opens every connection */
  sendProxy?: 1 | 2;
  /** `check-send-proxy`: health checks send a PROXY header even without send-proxy */
  checkSendProxy?: boolean;
  /** `hash-key id|addr|addr-port`: what the server's consistent-hash points derive from (default id) */
  hashKey?: 'id' | 'addr' | 'addr-port';
  /** `slowstart`: ms over which a server coming back up ramps to its full weight */
  slowstart?: number;
  /** `maxqueue`: most requests queued on this server (0 = unlimited); a full queue redispatches */
  maxqueue?: number;
  /** `fastinter`: check interval while a server is changing state */
  fastinter?: number;
  /** `downinter`: check interval while a server is down */
  downinter?: number;
  /** `port`: health checks go to this port */
  checkPort?: number;
  /** `addr`: health checks go to this address */
  checkAddr?: string;
  where: SourceLocation;
}

/** `tcp-request inspect-delay` and the `tcp-request content` rules limpet supports. */
export interface TcpRequestConfig {
  inspectDelay?: number;
  /** `tcp-request content accept if RDP_COOKIE`: inspection ends once an RDP cookie is read */
  acceptIfRdpCookie?: boolean;
}

export interface HttpCheckConfig {
  method: string;
  uri: string;
  version: string;
}

export interface ProxyOptions {
  redispatch: boolean;
  httplog: boolean;
  tcplog: boolean;
  forwardfor: boolean;
  httpchk?: HttpCheckConfig;
  /** `option dontlognull`: connections that sent no request are not logged */
  dontlognull?: boolean;
  /** `option log-health-checks`: every health check status change is logged */
  logHealthChecks?: boolean;
  /** `option allbackups`: every usable backup server takes traffic, not only the first */
  allbackups?: boolean;
  /** `option persist`: a cookie still routes to its server when that server is down */
  persist?: boolean;
}

/** `force-persist` (use the cookie's server even down or in maintenance) or `ignore-persist`. */
export interface PersistRule {
  force: boolean;
  cond: Condition;
  where: SourceLocation;
}

/** `hash-type <method> <function> <modifier>` */
export interface HashTypeConfig {
  lookup: 'map-based' | 'consistent';
  fn: 'sdbm' | 'djb2' | 'wt6' | 'crc32';
  avalanche: boolean;
}

/** `http-check expect [!] status|rstatus|string|rstring <pattern>` */
export interface HttpCheckExpect {
  negate: boolean;
  kind: 'status' | 'rstatus' | 'string' | 'rstring';
  pattern: string;
}

/** `stats enable|uri|realm|auth|refresh` of a proxy: where the stats page is served. */
export interface StatsConfig {
  enabled: boolean;
  uri: string; // default '/haproxy?stats'
  realm?: string;
  /** `stats auth user:password` lines */
  auth: Array<{ user: string; password: string }>;
  refresh?: number; // ms
}

/** `stats socket` in global: the runtime API listener. */
export interface StatsSocketConfig {
  address: BindAddress;
  level: 'user' | 'operator' | 'admin';
  where: SourceLocation;
}

export interface LogTarget {
  /** 'stdout' | 'stderr' | 'global' | 'host:port' | a unix socket path, as written */
  target: string;
  facility?: string;
  level?: string;
  minlevel?: string;
  /** `len N`: maximum line length */
  len?: number;
  /** `format F`: rfc3164, rfc5424, short, raw, ... */
  format?: string;
  where: SourceLocation;
}

export type ProxyKind = 'frontend' | 'backend' | 'listen';

export interface ProxyConfig {
  kind: ProxyKind;
  name: string;
  where: SourceLocation;
  mode: Mode;
  binds: BindConfig[]; // frontend and listen only
  defaultBackend?: { name: string; where: SourceLocation }; // frontend and listen only
  balance: BalanceConfig; // default roundrobin
  cookie?: CookieConfig;
  servers: ServerConfig[]; // backend and listen only
  timeouts: Timeouts;
  maxconn?: number;
  retries: number; // default 3
  options: ProxyOptions;
  /** `http-reuse`: which requests may take an idle server connection (default 'safe') */
  httpReuse?: 'never' | 'safe' | 'aggressive' | 'always';
  /** `option http-keep-alive` / `http-server-close` / `httpclose`: the last one written wins */
  httpConnMode?: 'keep-alive' | 'server-close' | 'close';
  logs: LogTarget[];
  /** `stick-table` (backend and listen) */
  stickTable?: StickTableConfig;
  /** `stick on|match|store-request|store-response`, in file order */
  stickRules?: StickRuleConfig[];
  tcpRequest?: TcpRequestConfig;
  /** `persist rdp-cookie[(NAME)]`: the cookie name (default 'msts') */
  persistRdpCookie?: string;
  /** `log-format`: the custom traffic log line, HAProxy's %-variables */
  logFormat?: string;
  stats?: StatsConfig;
  /** `hash-type` (default map-based sdbm, no avalanche) */
  hashType?: HashTypeConfig;
  /** `hash-balance-factor`: bounded loads for consistent hashing, percent (0 = off) */
  hashBalanceFactor?: number;
  /** `http-check expect` */
  httpCheckExpect?: HttpCheckExpect;
  /** `retry-on`: which failures are retried (default conn-failure); see lib/backend/l7-retry.ts */
  retryOn?: string[];
  /** `option redispatch N`: redispatch on every Nth retry (negative: Nth before last; default -1) */
  redispatchInterval?: number;
  /** `force-persist if COND` / `ignore-persist if COND`, in file order: the first match applies */
  persistRules?: PersistRule[];
  /** `dynamic-cookie-key`: the secret of `cookie ... dynamic` */
  dynamicCookieKey?: string;
  /** acl, use_backend, use-server, http-request/-response and the other L7 rules (lib/rules) */
  rules?: ProxyRules;
}

export interface GlobalConfig {
  maxconn?: number;
  /** worker processes (`nbthread N`, or `--workers N` on the command line), 1..64 */
  nbthread: number;
  /** hard-stop-after: ms a soft stop may wait for what is in flight (none: no limit) */
  hardStopAfter?: number;
  bufsize: number; // tune.bufsize, default 16384
  /** tune.http.maxhdr: most header lines in a message (default 101) */
  maxhdr?: number;
  logs: LogTarget[];
  /** `stats socket`: runtime API listeners */
  statsSockets?: StatsSocketConfig[];
}

export interface Config {
  global: GlobalConfig;
  /** frontend, backend and listen sections, in file order */
  proxies: ProxyConfig[];
  /** `redis NAME` sections: deployments that share stick tables between instances */
  redis?: RedisConfig[];
  /** `userlist NAME` sections, by name (http_auth, http-request auth) */
  userlists?: Map<string, UserlistConfig>;
}

export type StickTableType = 'ip' | 'ipv6' | 'integer' | 'string' | 'binary';

export interface StickTableConfig {
  type: StickTableType;
  /** key length in bytes for string (default 32) and binary (default 32) */
  len: number;
  /** maximum number of entries */
  size: number;
  /** entry lifetime since last creation or refresh, ms; none = entries never expire */
  expire?: number;
  /** refuse new entries when full instead of evicting the least recently used */
  nopurge: boolean;
  /** how a server is named in the table: its name, or `addr:port` */
  srvkey: 'name' | 'addr';
  /** `redis NAME`: share the table through that redis section */
  redis?: { name: string; where: SourceLocation };
  where: SourceLocation;
}

export type StickRuleKind = 'on' | 'match' | 'store-request' | 'store-response';

export interface StickRuleConfig {
  kind: StickRuleKind;
  /** the sample expression (fetch and converters), compiled by the ACL engine */
  fetch: StickExpr;
  /** `table NAME`: another backend's table; default the rule's own backend's table */
  table?: { name: string; where: SourceLocation };
  /** `if|unless COND`, compiled with the proxy's ACLs (response fetches only for store-response) */
  cond?: Condition;
  where: SourceLocation;
}

export type RedisDeployment =
  | { kind: 'standalone'; host: string; port: number }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; master: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> };

export interface RedisConfig {
  name: string;
  deployment?: RedisDeployment;
  user?: string;
  password?: string;
  database?: number;
  /** key and channel prefix (default 'limpet') */
  prefix: string;
  /** the most a request may wait on Redis, ms (default 50) */
  timeout: number;
  where: SourceLocation;
}

/** A frontend or listen section: something that accepts connections. */
export function isFrontend(p: ProxyConfig): boolean {
  return p.kind !== 'backend';
}

/** A backend or listen section: something that has servers. */
export function isBackend(p: ProxyConfig): boolean {
  return p.kind !== 'frontend';
}
