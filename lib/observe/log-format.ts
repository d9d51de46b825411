// HAProxy's log-format language, compiled once per frontend into a list of small functions:
// `%ci:%cp [%tr] %ft ...`. `option httplog` and `option tcplog` are just two predefined
// formats. A space in the format is a separator that is only written when something was
// written since the previous one, so empty fields (no captures) leave no double spaces.
import os from 'node:os';
import type { TrafficRecord } from './traffic-record.js';

/** HAProxy's definitions (doc/configuration.txt, "Log formats"). */
export const HTTPLOG_FORMAT = '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r';
export const TCPLOG_FORMAT = '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq';
/** Without httplog, tcplog or log-format HAProxy logs only who connected where. */
export const DEFAULT_FORMAT = 'Connect from %ci:%cp to %fi:%fp (%f/%o)';

/** Live connection counts at the moment the line is written. */
export interface LiveCounts {
  actconn: number;
  feconn: number;
  beconn: number;
  srvconn: number;
}

export class LogFormatError extends Error {
  readonly code = 'LIMPET_ERR_LOG_FORMAT';
}

type Field = (r: TrafficRecord, live: LiveCounts) => string;
type Node = { kind: 'sep' } | { kind: 'text'; text: string } | { kind: 'field'; get: Field; quote: boolean };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `25/Nov/2026:04:43:37.123` in local time, HAProxy's %t and %tr. */
let dateSecond = -1;
let dateText = '';
export function logDate(ms: number): string {
  // The part up to the seconds changes once a second: build it then, not per line.
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    const d = new Date(ms);
    dateText = `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.`;
    dateSecond = second;
  }
  return dateText + pad(Math.floor(ms) - second * 1000, 3);
}

/** `25/Nov/2026:04:43:37 +0000`, HAProxy's %T (GMT). */
function gmtDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

const num = (n: number) => String(Math.round(n));
const Tq = (r: TrafficRecord) => (r.TR < 0 ? -1 : r.Th + r.Ti + r.TR);
const Ta = (r: TrafficRecord) => r.Tt - r.Th - r.Ti;
const requestParts = (r: TrafficRecord) => {
  const line = r.requestLine;
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 < 0) return { method: line, uri: '', version: '' };
  if (sp2 <= sp1) return { method: line.slice(0, sp1), uri: line.slice(sp1 + 1), version: '' };
  return { method: line.slice(0, sp1), uri: line.slice(sp1 + 1, sp2), version: line.slice(sp2 + 1) };
};

const FIELDS: Record<string, Field> = {
  ci: (r) => r.clientIp,
  cp: (r) => String(r.clientPort),
  fi: (r) => r.frontendIp,
  fp: (r) => String(r.frontendPort),
  si: (r) => r.serverIp,
  sp: (r) => String(r.serverPort),
  f: (r) => r.frontend,
  ft: (r) => r.frontend,
  fn: (r) => r.frontend,
  b: (r) => r.backend,
  s: (r) => r.server,
  t: (r) => logDate(r.acceptDate),
  tr: (r) => logDate(r.acceptDate + r.Th + r.Ti),
  T: (r) => gmtDate(r.acceptDate),
  Ts: (r) => String(Math.floor(r.acceptDate / 1000)),
  ms: (r) => pad(Math.floor(r.acceptDate) % 1000, 3),
  Th: (r) => num(r.Th),
  Ti: (r) => num(r.Ti),
  TR: (r) => num(r.TR),
  Tq: (r) => num(Tq(r)),
  Tw: (r) => num(r.Tw),
  Tc: (r) => num(r.Tc),
  Tr: (r) => num(r.Tr),
  Ta: (r) => num(Ta(r)),
  Tt: (r) => num(r.Tt),
  Td: (r) => (r.Tr < 0 || r.Tc < 0 || r.Tw < 0 ? '-1' : num(Ta(r) - r.TR - r.Tw - r.Tc - r.Tr)),
  ST: (r) => String(r.status),
  B: (r) => String(r.bytesOut),
  U: (r) => String(r.bytesIn),
  CC: () => '-',
  CS: () => '-',
  hr: () => '',
  hs: () => '',
  hrl: () => '',
  hsl: () => '',
  ts: (r) => r.termination,
  tsc: (r) => r.termination + r.clientCookie + r.serverCookie,
  ac: (_r, l) => String(l.actconn),
  fc: (_r, l) => String(l.feconn),
  bc: (_r, l) => String(l.beconn),
  sc: (_r, l) => String(l.srvconn),
  rc: (r) => (r.redispatched ? `+${r.retries}` : String(r.retries)),
  sq: (r) => String(r.srvQueue),
  bq: (r) => String(r.backendQueue),
  r: (r) => r.requestLine,
  HM: (r) => requestParts(r).method,
  HU: (r) => requestParts(r).uri,
  HP: (r) => requestParts(r).uri.split('?', 1)[0]!,
  HQ: (r) => {
    const u = requestParts(r).uri;
    const q = u.indexOf('?');
    return q < 0 ? '' : u.slice(q);
  },
  HV: (r) => requestParts(r).version,
  pid: () => String(process.pid),
  H: () => os.hostname(),
  ID: () => '-',
  // %o is a flag word in HAProxy; we use it for the mode in the default format only.
  o: (r) => r.mode.toUpperCase(),
};

/** Quoted as HAProxy's +Q: inside double quotes, with `"` and control bytes as #XX. */
function quote(s: string): string {
  return `"${s.replace(/["\x00-\x1f\x7f-\uffff]/g, (c) => `#${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}"`;
}

export type CompiledLogFormat = (r: TrafficRecord, live: LiveCounts) => string;

/** Compiles a log-format string; throws LogFormatError naming the first unknown variable. */
export function compileLogFormat(format: string): CompiledLogFormat {
  const nodes: Node[] = [];
  let text = '';
  const flushText = () => {
    if (text) nodes.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c === ' ') {
      flushText();
      if (nodes[nodes.length - 1]?.kind !== 'sep') nodes.push({ kind: 'sep' });
      i++;
    } else if (c === '\\' && i + 1 < format.length) {
      text += format[i + 1];
      i += 2;
    } else if (c === '%') {
      if (format[i + 1] === '%') {
        text += '%';
        i += 2;
        continue;
      }
      flushText();
      let j = i + 1;
      let flags = '';
      if (format[j] === '{') {
        const close = format.indexOf('}', j);
        if (close < 0) throw new LogFormatError(`missing '}' after '%{' at position ${i}`);
        flags = format.slice(j + 1, close);
        j = close + 1;
      }
      if (format[j] === '[') throw new LogFormatError(`sample expressions ('%[...]') are not supported in log-format (at position ${i})`);
      const m = /^[A-Za-z]+/.exec(format.slice(j));
      if (!m) throw new LogFormatError(`missing variable name after '%' at position ${i}`);
      const name = m[0];
      const get = FIELDS[name];
      if (!get) throw new LogFormatError(`unknown log-format variable '%${name}'`);
      for (const f of flags.split(',').filter(Boolean)) {
        if (!/^[+-](Q|X|E|M)$/.test(f)) throw new LogFormatError(`unknown flag '${f}' for '%${name}'`);
      }
      nodes.push({ kind: 'field', get, quote: flags.split(',').includes('+Q') });
      i = j + name.length;
    } else {
      text += c;
      i++;
    }
  }
  flushText();
  return (r, live) => {
    let out = '';
    // A separator is written only after something was written since the previous one.
    let wroteSince = false;
    for (const n of nodes) {
      if (n.kind === 'sep') {
        if (wroteSince) out += ' ';
        wroteSince = false;
      } else if (n.kind === 'text') {
        out += n.text;
        wroteSince = true;
      } else {
        const v = n.get(r, live);
        if (n.quote) {
          out += quote(v);
          wroteSince = true;
        } else if (v !== '') {
          out += v;
          wroteSince = true;
        }
      }
    }
    return out.endsWith(' ') ? out.slice(0, -1) : out;
  };
}
