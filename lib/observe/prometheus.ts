// Prometheus text exposition with the names of HAProxy's built-in exporter
// (haproxy_process_*, haproxy_frontend_*, haproxy_backend_*, haproxy_server_*), read from the
// same rows as the stats page, plus limpet's own (limpet_*).
import { stickTableFamilies } from '../persist/stick-metrics.js';
import { VERSION } from '../version.js';
import type { StatColumn, StatRow, StatsSnapshot } from './stats-data.js';

type Kind = 'gauge' | 'counter';
interface Metric {
  name: string;
  help: string;
  kind: Kind;
  column: StatColumn;
}

const m = (name: string, kind: Kind, column: StatColumn, help: string): Metric => ({ name, kind, column, help });

const FRONTEND: Metric[] = [
  m('current_sessions', 'gauge', 'scur', 'Number of current sessions.'),
  m('max_sessions', 'gauge', 'smax', 'Maximum observed number of active sessions.'),
  m('limit_sessions', 'gauge', 'slim', 'Configured session limit.'),
  m('sessions_total', 'counter', 'stot', 'Total number of sessions.'),
  m('bytes_in_total', 'counter', 'bin', 'Current total of incoming bytes.'),
  m('bytes_out_total', 'counter', 'bout', 'Current total of outgoing bytes.'),
  m('requests_denied_total', 'counter', 'dreq', 'Total number of denied requests.'),
  m('request_errors_total', 'counter', 'ereq', 'Total number of request errors.'),
  m('http_requests_total', 'counter', 'req_tot', 'Total number of HTTP requests received.'),
  m('connections_total', 'counter', 'conn_tot', 'Total number of new connections.'),
];
const BACKEND: Metric[] = [
  m('current_queue', 'gauge', 'qcur', 'Number of current queued requests.'),
  m('current_sessions', 'gauge', 'scur', 'Number of current sessions.'),
  m('max_sessions', 'gauge', 'smax', 'Maximum observed number of active sessions.'),
  m('sessions_total', 'counter', 'stot', 'Total number of sessions.'),
  m('bytes_in_total', 'counter', 'bin', 'Current total of incoming bytes.'),
  m('bytes_out_total', 'counter', 'bout', 'Current total of outgoing bytes.'),
  m('connection_errors_total', 'counter', 'econ', 'Total number of connection errors.'),
  m('response_errors_total', 'counter', 'eresp', 'Total number of response errors.'),
  m('retry_warnings_total', 'counter', 'wretr', 'Total number of retry warnings.'),
  m('redispatch_warnings_total', 'counter', 'wredis', 'Total number of redispatch warnings.'),
  m('weight', 'gauge', 'weight', 'Service weight.'),
  m('active_servers', 'gauge', 'act', 'Current number of active servers.'),
  m('backup_servers', 'gauge', 'bck', 'Current number of backup servers.'),
  m('loadbalanced_total', 'counter', 'lbtot', 'Total number of times a service was selected.'),
];
const SERVER: Metric[] = [
  m('current_queue', 'gauge', 'qcur', 'Number of current queued requests.'),
  m('current_sessions', 'gauge', 'scur', 'Number of current sessions.'),
  m('max_sessions', 'gauge', 'smax', 'Maximum observed number of active sessions.'),
  m('limit_sessions', 'gauge', 'slim', 'Configured session limit.'),
  m('sessions_total', 'counter', 'stot', 'Total number of sessions.'),
  m('bytes_in_total', 'counter', 'bin', 'Current total of incoming bytes.'),
  m('bytes_out_total', 'counter', 'bout', 'Current total of outgoing bytes.'),
  m('connection_errors_total', 'counter', 'econ', 'Total number of connection errors.'),
  m('response_errors_total', 'counter', 'eresp', 'Total number of response errors.'),
  m('retry_warnings_total', 'counter', 'wretr', 'Total number of retry warnings.'),
  m('weight', 'gauge', 'weight', 'Service weight.'),
  m('last_session_seconds', 'gauge', 'lastsess', 'Number of seconds since last session assigned to server/backend.'),
  m('loadbalanced_total', 'counter', 'lbtot', 'Total number of times a service was selected.'),
];
const CODES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
const SERVER_STATES = ['DOWN', 'UP', 'MAINT', 'DRAIN', 'NOLB'];

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The exposition of one snapshot (this process's, or the merged whole of several workers). */
export function prometheusText(snapshot: StatsSnapshot): string {
  const { rows, process: proc } = snapshot;
  const out: string[] = [];
  const family = (name: string, kind: Kind, help: string, samples: string[]) => {
    if (samples.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...samples);
  };
  family('haproxy_process_start_time_seconds', 'gauge', 'Start time in seconds.', [`haproxy_process_start_time_seconds ${Math.floor(proc.startedAt / 1000)}`]);
  family('haproxy_process_nbthread', 'gauge', 'Number of started threads (global.nbthread).', [`haproxy_process_nbthread ${proc.nbthread}`]);
  family('haproxy_process_current_connections', 'gauge', 'Number of active sessions.', [`haproxy_process_current_connections ${proc.actconn}`]);
  family('haproxy_process_connections_total', 'counter', 'Total number of created sessions.', [`haproxy_process_connections_total ${proc.cumConns}`]);
  family('haproxy_process_requests_total', 'counter', 'Total number of requests (TCP or HTTP).', [`haproxy_process_requests_total ${proc.cumReq}`]);

  const groups: Array<[string, number, Metric[]]> = [['frontend', 0, FRONTEND], ['backend', 1, BACKEND], ['server', 2, SERVER]];
  for (const [prefix, type, metrics] of groups) {
    const list = rows.filter((r) => r.type === type);
    const labels = (r: StatRow) => (type === 2 ? `proxy="${label(r.pxname)}",server="${label(r.svname)}"` : `proxy="${label(r.pxname)}"`);
    for (const metric of metrics) {
      const samples = list.flatMap((r) => {
        const v = r[metric.column];
        return typeof v === 'number' ? [`haproxy_${prefix}_${metric.name}{${labels(r)}} ${v}`] : [];
      });
      family(`haproxy_${prefix}_${metric.name}`, metric.kind, metric.help, samples);
    }
    if (type === 1 || type === 2) {
      const states = type === 1 ? ['DOWN', 'UP'] : SERVER_STATES;
      family(`haproxy_${prefix}_status`, 'gauge', 'Current status of the service, per state label value.', list.flatMap((r) => {
        const status = r.status === 'no check' ? 'UP' : String(r.status);
        return states.map((s) => `haproxy_${prefix}_status{${labels(r)},state="${s}"} ${status === s ? 1 : 0}`);
      }));
    }
    if (type === 0) {
      family('haproxy_frontend_status', 'gauge', 'Current status of the service.', list.map((r) => `haproxy_frontend_status{${labels(r)}} 1`));
    }
    const http = list.filter((r) => r.mode === 'http');
    family(`haproxy_${prefix}_http_responses_total`, 'counter', 'Total number of HTTP responses.', http.flatMap((r) =>
      CODES.map((code) => `haproxy_${prefix}_http_responses_total{${labels(r)},code="${code}"} ${r[`hrsp_${code}` as StatColumn] ?? 0}`),
    ));
    if (type !== 0) {
      for (const [col, name, help] of [['qtime', 'queue_time_average_seconds', 'Avg. queue time'], ['ctime', 'connect_time_average_seconds', 'Avg. connect time'],
        ['rtime', 'response_time_average_seconds', 'Avg. response time'], ['ttime', 'total_time_average_seconds', 'Avg. total time']] as const) {
        family(`haproxy_${prefix}_${name}`, 'gauge', `${help} for last 1024 successful connections.`, list.map((r) =>
          `haproxy_${prefix}_${name}{${labels(r)}} ${Number(r[col] ?? 0) / 1000}`));
      }
    }
  }
  for (const f of stickTableFamilies(snapshot.stick)) family(f.name, f.kind, f.help, f.samples);
  family('limpet_build_info', 'gauge', 'limpet version.', [`limpet_build_info{version="${label(VERSION)}"} 1`]);
  family('limpet_uptime_seconds', 'gauge', 'Seconds since limpet started.', [`limpet_uptime_seconds ${Math.floor((Date.now() - proc.startedAt) / 1000)}`]);
  return out.join('\n') + '\n';
}
