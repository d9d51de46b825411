// `stats uri`: HAProxy's statistics page as HTML, `;csv` and `;json`, plus a Prometheus
// exposition at `;prometheus` (and `/metrics`), behind `stats auth` Basic credentials.
import os from 'node:os';
import type { StatsConfig } from '../config/types.js';
import { stickTablesHtml } from '../persist/stick-metrics.js';
import { VERSION } from '../version.js';
import { prometheusText } from './prometheus.js';
import { statsCsv, statsJson, type StatRow, type StatsSnapshot } from './stats-data.js';

export interface LocalResponse {
  status: number;
  bytes: Buffer;
}

/**
 * A response made here: ready at once in a single process; later in a worker of several,
 * which asks the primary for every worker's numbers first.
 */
export type LocalAnswer = LocalResponse | Promise<LocalResponse>;

/** The numbers to show: this process's, or (a worker of several) the merged whole, on its way. */
export type SnapshotSource = () => StatsSnapshot | Promise<StatsSnapshot>;

/** Applies `make` to the snapshot now, or when it arrives. */
function withSnapshot(source: SnapshotSource, make: (s: StatsSnapshot) => LocalResponse): LocalAnswer {
  const s = source();
  return s instanceof Promise ? s.then(make, unavailable) : make(s);
}

function unavailable(err: Error): LocalResponse {
  return respond(503, 'Service Unavailable', 'text/plain', `Statistics unavailable: ${err.message}\n`);
}

function respond(status: number, reason: string, type: string, body: string, extra: string[] = []): LocalResponse {
  const payload = Buffer.from(body, 'utf8');
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Cache-Control: no-cache',
    'Connection: close',
    `Content-Type: ${type}`,
    `Content-Length: ${payload.length}`,
    ...extra,
  ].join('\r\n');
  return { status, bytes: Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), payload]) };
}

function authorized(cfg: StatsConfig, authorization: string | undefined): boolean {
  if (cfg.auth.length === 0) return true;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return cfg.auth.some((a) => a.user === user && a.password === password);
}

/** The Prometheus exposition as a response (`use-service prometheus-exporter`). */
export function prometheusResponse(source: SnapshotSource): LocalAnswer {
  return withSnapshot(source, (s) => respond(200, 'OK', 'text/plain; version=0.0.4', prometheusText(s)));
}

/**
 * The stats answer for a request whose target falls under `stats uri`, else undefined (the
 * request goes to the backend as usual).
 */
export function statsResponse(
  cfg: StatsConfig,
  req: { method: string; target: string; authorization: string | undefined },
  source: SnapshotSource,
): LocalAnswer | undefined {
  if (!cfg.enabled) return undefined;
  const isMetrics = req.target === '/metrics';
  if (!req.target.startsWith(cfg.uri) && !isMetrics) return undefined;
  if (!authorized(cfg, req.authorization)) {
    const realm = (cfg.realm ?? 'HAProxy Statistics').replace(/"/g, '');
    return respond(401, 'Unauthorized', 'text/html', '<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n', [
      `WWW-Authenticate: Basic realm="${realm}"`,
    ]);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return respond(405, 'Method Not Allowed', 'text/plain', 'The stats page is read-only in limpet.\n');
  }
  const options = req.target.slice(cfg.uri.length).split(';').slice(1);
  if (isMetrics || options.includes('prometheus')) return prometheusResponse(source);
  if (options.includes('csv')) return withSnapshot(source, (s) => respond(200, 'OK', 'text/plain', statsCsv(s.rows)));
  if (options.includes('json')) return withSnapshot(source, (s) => respond(200, 'OK', 'application/json', JSON.stringify(statsJson(s.rows))));
  const refresh = cfg.refresh !== undefined && !options.includes('norefresh') ? Math.max(1, Math.round(cfg.refresh / 1000)) : undefined;
  return withSnapshot(source, (s) => respond(200, 'OK', 'text/html', statsHtml(s, cfg, refresh), refresh ? [`Refresh: ${refresh}`] : []));
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

const HEADINGS = ['Name', 'Queue Cur', 'Sessions Cur', 'Sessions Max', 'Sessions Limit', 'Sessions Total', 'Bytes In', 'Bytes Out',
  'Denied Req', 'Errors Req', 'Errors Conn', 'Errors Resp', 'Warnings Retr', 'Warnings Redis', 'Status', 'LastChk', 'Wght', 'Act', 'Bck', 'Last change'];

function rowCells(r: StatRow): unknown[] {
  const status = r.type === 2 && typeof r.lastchg === 'number' ? `${duration(r.lastchg)} ${r.status}` : r.status;
  const check = r.check_status ? `${r.check_status}${r.check_desc ? ` ${r.check_desc}` : ''}` : '';
  return [r.svname, r.qcur ?? '', r.scur, r.smax, r.slim, r.stot, r.bin, r.bout, r.dreq, r.ereq ?? '', r.econ ?? '', r.eresp ?? '',
    r.wretr ?? '', r.wredis ?? '', status, check, r.weight ?? '', r.act ?? '', r.bck ?? '', typeof r.lastchg === 'number' ? duration(r.lastchg) : ''];
}

function statsHtml(snapshot: StatsSnapshot, cfg: StatsConfig, refresh: number | undefined): string {
  const { rows, process: proc } = snapshot;
  const uptime = duration(Math.floor((Date.now() - proc.startedAt) / 1000));
  const byProxy = new Map<string, StatRow[]>();
  for (const r of rows) {
    const list = byProxy.get(r.pxname) ?? [];
    list.push(r);
    byProxy.set(r.pxname, list);
  }
  let tables = '';
  for (const [name, list] of byProxy) {
    tables += `<table class="proxy" id="proxy-${esc(name)}" data-proxy="${esc(name)}">\n<caption>${esc(name)}</caption>\n`;
    tables += `<thead><tr>${HEADINGS.map((h) => `<th>${h}</th>`).join('')}</tr></thead>\n<tbody>\n`;
    for (const r of list) {
      const kind = r.type === 0 ? 'frontend' : r.type === 1 ? 'backend' : 'server';
      const state = String(r.status).toLowerCase().replace(/\s+/g, '-');
      tables += `<tr class="${kind} ${state}" data-row="${esc(r.svname)}">${rowCells(r).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>\n`;
    }
    tables += '</tbody></table>\n';
  }
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Statistics Report for limpet on ${esc(os.hostname())}</title>
${refresh ? `<meta http-equiv="refresh" content="${refresh}">` : ''}
<style>
body{font-family:arial,helvetica,sans-serif;font-size:12px;background:#fff}
table.proxy{border-collapse:collapse;margin-bottom:1em}
caption{text-align:left;font-weight:bold;background:#b00040;color:#fff;padding:2px 6px}
th{background:#20a0ff;color:#000;padding:2px 4px;border:1px solid #999}
td{border:1px solid #999;padding:1px 4px;text-align:right}
td:first-child{text-align:left}
tr.frontend,tr.backend{background:#e0e0e0;font-weight:bold}
tr.up,tr.no-check,tr.open{background:#c0ffc0}tr.down{background:#ff9090}tr.maint{background:#c0c0ff}tr.drain{background:#ffd020}
</style></head>
<body>
<h1>limpet version ${esc(VERSION)}</h1>
<h2>Statistics Report for pid ${proc.pid}</h2>
<p id="info">pid = ${proc.pid} (process #1, nbproc = 1, nbthread = ${proc.nbthread}); uptime = ${uptime}; current conns = ${proc.actconn}; total conns = ${proc.cumConns}${cfg.refresh !== undefined ? `; refresh every ${refresh ?? 0}s` : ''}</p>
<p><a href="${esc(cfg.uri)};csv">CSV export</a> · <a href="${esc(cfg.uri)};json">JSON export</a> · <a href="${esc(cfg.uri)};prometheus">Prometheus</a></p>
${tables}${stickTablesHtml(snapshot.stick)}</body></html>
`;
}
