// The rows of HAProxy's statistics (one per frontend, server and backend), with the columns of
// its CSV in its order (management.txt, "CSV format"). The stats page, `;csv`, `;json`,
// `show stat` and Prometheus all read these rows.
import type { Backend } from '../backend/backend.js';
import type { Server } from '../backend/server.js';
import { isBackend, isFrontend, type Config, type ProxyConfig } from '../config/types.js';
import type { StickTableStatus } from '../persist/stick-runtime.js';
import type { CounterRegistry, ProxyCounters } from './counters.js';

export const STAT_COLUMNS = [
  'pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'slim', 'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'econ',
  'eresp', 'wretr', 'wredis', 'status', 'weight', 'act', 'bck', 'chkfail', 'chkdown', 'lastchg', 'downtime', 'qlimit',
  'pid', 'iid', 'sid', 'throttle', 'lbtot', 'tracked', 'type', 'rate', 'rate_lim', 'rate_max', 'check_status',
  'check_code', 'check_duration', 'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other', 'hanafail',
  'req_rate', 'req_rate_max', 'req_tot', 'cli_abrt', 'srv_abrt', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp',
  'lastsess', 'last_chk', 'last_agt', 'qtime', 'ctime', 'rtime', 'ttime', 'agent_status', 'agent_code',
  'agent_duration', 'check_desc', 'agent_desc', 'check_rise', 'check_fall', 'check_health', 'agent_rise', 'agent_fall',
  'agent_health', 'addr', 'cookie', 'mode', 'algo', 'conn_rate', 'conn_rate_max', 'conn_tot', 'intercepted', 'dcon',
  'dses', 'wrew', 'connect', 'reuse', 'cache_lookups', 'cache_hits', 'srv_icur', 'src_ilim', 'qtime_max', 'ctime_max',
  'rtime_max', 'ttime_max', 'eint', 'idle_conn_cur', 'safe_conn_cur', 'used_conn_cur', 'need_conn_est', 'uweight',
  'agg_server_status', 'agg_server_check_status', 'agg_check_status', 'srid', 'sess_other', 'h1sess', 'h2sess',
  'h3sess', 'req_other', 'h1req', 'h2req', 'h3req', 'proto',
] as const;

export type StatColumn = (typeof STAT_COLUMNS)[number];
export type StatRow = Partial<Record<StatColumn, string | number>> & { pxname: string; svname: string; type: number };

/** What a server's state looked like at its last change, as observed. */
export interface ServerStateInfo {
  lastChange: number;
  /** HAProxy's check_status: L4OK, L4CON, L7OK, L7STS, L4TOUT, L7TOUT, ... */
  checkStatus?: string;
  checkDesc?: string;
}

export interface StatsSource {
  readonly config: Config;
  readonly backends: ReadonlyMap<string, Backend>;
  readonly counters: CounterRegistry;
  /** keyed `backend/server` */
  readonly serverStates: ReadonlyMap<string, ServerStateInfo>;
  readonly startedAt: number;
  /** stick tables' fill and Redis link state, when the configuration has tables */
  readonly stickStatus?: () => StickTableStatus[];
}

const secondsSince = (ms: number, now: number) => Math.max(0, Math.floor((now - ms) / 1000));

/** HAProxy's server status word. */
export function serverStatus(s: Server): string {
  if (s.maintenance) return 'MAINT';
  if (s.health === 'down') return 'DOWN';
  if (s.userWeight === 0 || s.weight === 0) return 'DRAIN';
  return s.config.check ? 'UP' : 'no check';
}

function counted(c: ProxyCounters, now: number, sessions: boolean): Partial<Record<StatColumn, string | number>> {
  const avg = (sum: number) => (c.timed > 0 ? Math.round(sum / c.timed) : 0);
  return {
    stot: c.stot, bin: c.bin, bout: c.bout, dreq: c.dreq, dresp: 0, ereq: c.ereq, econ: c.econ, eresp: c.eresp,
    wretr: c.wretr, wredis: c.wredis, hrsp_1xx: c.hrsp[0], hrsp_2xx: c.hrsp[1], hrsp_3xx: c.hrsp[2],
    hrsp_4xx: c.hrsp[3], hrsp_5xx: c.hrsp[4], hrsp_other: c.hrsp[5],
    lastsess: sessions && c.lastSess > 0 ? secondsSince(c.lastSess, now) : -1,
    qtime: avg(c.qtime), ctime: avg(c.ctime), rtime: avg(c.rtime), ttime: avg(c.ttime),
  };
}

function frontendRow(p: ProxyConfig, iid: number, src: StatsSource): StatRow {
  const c = src.counters.frontend(p.name);
  const now = Date.now();
  return {
    ...counted(c, now, false),
    pxname: p.name, svname: 'FRONTEND', scur: c.scur, smax: c.smax, slim: p.maxconn ?? src.config.global.maxconn ?? '',
    stot: c.stot, status: 'OPEN', pid: 1, iid, sid: 0, type: 0, req_tot: c.reqTot, conn_tot: c.stot, mode: p.mode,
    lastsess: '', qtime: '', ctime: '', rtime: '', ttime: '',
  };
}

function serverRow(be: Backend, s: Server, iid: number, src: StatsSource): StatRow {
  const c = src.counters.server(be.name, s.name);
  const now = Date.now();
  const st = src.serverStates.get(`${be.name}/${s.name}`);
  return {
    ...counted(c, now, true),
    pxname: be.name, svname: s.name, qcur: s.queue.length, qmax: 0, scur: s.active, smax: Math.max(c.smax, s.active),
    slim: s.maxconn > 0 ? s.maxconn : '', stot: s.totalSessions, status: serverStatus(s), weight: s.weight,
    act: s.backup ? 0 : 1, bck: s.backup ? 1 : 0, chkfail: 0, chkdown: 0, lastchg: secondsSince(st?.lastChange ?? src.startedAt, now),
    downtime: 0, qlimit: '', pid: 1, iid, sid: s.id, lbtot: s.totalSessions, type: 2,
    check_status: s.config.check ? (st?.checkStatus ?? 'L4OK') : '', check_desc: s.config.check ? (st?.checkDesc ?? '') : '',
    check_rise: s.config.check ? s.config.rise : '', check_fall: s.config.check ? s.config.fall : '',
    cookie: s.cookie ?? '', addr: `${s.host}:${s.port}`, mode: be.config.mode, uweight: s.userWeight,
  };
}

function backendRow(be: Backend, iid: number, src: StatsSource): StatRow {
  const c = src.counters.backend(be.name);
  const now = Date.now();
  let scur = 0;
  let weight = 0;
  let act = 0;
  let bck = 0;
  for (const s of be.servers) {
    scur += s.active;
    if (!s.usable) continue;
    if (s.backup) bck++;
    else {
      act++;
      weight += s.weight;
    }
  }
  const up = be.servers.length === 0 || act + bck > 0;
  return {
    ...counted(c, now, true),
    pxname: be.name, svname: 'BACKEND', qcur: be.queue.length, qmax: 0, scur, smax: Math.max(c.smax, scur),
    slim: '', status: up ? 'UP' : 'DOWN', weight, act, bck, lastchg: secondsSince(src.startedAt, now), downtime: 0,
    pid: 1, iid, sid: 0, lbtot: c.stot, type: 1, mode: be.config.mode, algo: be.config.balance.algorithm,
    cookie: be.config.cookie?.name ?? '', req_tot: c.stot, conn_tot: c.stot,
  };
}

/** The process-wide numbers beside the rows (`show info`, the page's header, haproxy_process_*). */
export interface ProcessStats {
  /** the process that answers for the whole: this one, or the primary of several workers */
  pid: number;
  /** worker processes whose numbers are in (1 in a single process) */
  nbthread: number;
  startedAt: number;
  actconn: number;
  cumConns: number;
  cumReq: number;
}

/**
 * Everything the stats page, `;csv`, `;json`, Prometheus, `show stat` and `show info` print:
 * plain data, so that workers can send theirs to the primary and get the merged whole back.
 */
export interface StatsSnapshot {
  rows: StatRow[];
  process: ProcessStats;
  stick: StickTableStatus[];
}

/** This process's own numbers. */
export function snapshotOf(src: StatsSource): StatsSnapshot {
  const c = src.counters;
  return {
    rows: collectStats(src),
    process: { pid: process.pid, nbthread: 1, startedAt: src.startedAt, actconn: c.actconn, cumConns: c.cumConns, cumReq: c.cumReq },
    stick: src.stickStatus?.() ?? [],
  };
}

/** Every row, in HAProxy's order: per proxy, the frontend, then its servers, then the backend. */
export function collectStats(src: StatsSource): StatRow[] {
  const rows: StatRow[] = [];
  let iid = 0;
  for (const p of src.config.proxies) {
    iid++;
    if (isFrontend(p)) rows.push(frontendRow(p, iid, src));
    const be = isBackend(p) ? src.backends.get(p.name) : undefined;
    if (be) {
      for (const s of be.servers) rows.push(serverRow(be, s, iid, src));
      rows.push(backendRow(be, iid, src));
    }
  }
  return rows;
}

/** HAProxy's CSV: a `# ` header line, one line per row, each ending with a comma. */
export function statsCsv(rows: StatRow[]): string {
  let out = `# ${STAT_COLUMNS.join(',')},\n`;
  for (const r of rows) out += STAT_COLUMNS.map((c) => csvField(r[c])).join(',') + ',\n';
  return out;
}

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const OBJ_TYPES = ['Frontend', 'Backend', 'Server'] as const;

/** HAProxy's `show stat json` / `;json` shape: one array of typed fields per row. */
export function statsJson(rows: StatRow[]): unknown[] {
  return rows.map((r) =>
    STAT_COLUMNS.flatMap((name, pos) => {
      const v = r[name];
      if (v === undefined || v === '') return [];
      return [{
        objType: OBJ_TYPES[r.type] ?? 'Server',
        proxyId: r.iid,
        id: r.sid,
        field: { pos, name },
        processNum: 1,
        value: typeof v === 'number' ? { type: Number.isInteger(v) ? 'u64' : 'flt', value: v } : { type: 'str', value: v },
      }];
    }),
  );
}
