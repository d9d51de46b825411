// Where log lines go: `log stdout|stderr|HOST:PORT|/path` with a facility, a level filter and
// HAProxy's framings (rfc3164, rfc5424, short, raw, ...). Sending never blocks the proxy:
// UDP datagrams are fire-and-forget; stdout/stderr are written by async fs.write calls, one
// batch at a time, and lines beyond a bounded backlog are dropped and counted; unix datagram
// sockets are reached through logger(1) (unix-log-sink.ts).
import dgram from 'node:dgram';
import fs from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import type { LogTarget } from '../config/types.js';
import { UnixDatagramLog } from './unix-log-sink.js';

const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2',
  'ftp', 'ntp', 'audit', 'alert', 'cron2', 'local0', 'local1', 'local2', 'local3', 'local4',
  'local5', 'local6', 'local7',
];
export const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type LogLevel = (typeof LEVELS)[number];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TAG = 'limpet';
/** the most bytes a stream sink holds before dropping lines */
const MAX_BACKLOG = 4 * 1024 * 1024;

export interface LogSink {
  send(level: LogLevel, message: string): void;
  close(): void;
  /** lines dropped because the destination could not keep up */
  readonly dropped: number;
}

/** Frames one message as HAProxy would for this target (no trailing newline). */
export function frameLine(format: string, facility: number, level: number, message: string, now = new Date()): string {
  const pri = `<${facility * 8 + level}>`;
  switch (format) {
    case 'raw':
      return message;
    case 'short':
      return `<${level}>${message}`;
    case 'priority':
      return `${pri}${message}`;
    case 'timed':
    case 'iso':
      return `${pri}${now.toISOString()} ${message}`;
    case 'rfc5424':
      return `${pri}1 ${now.toISOString()} ${os.hostname()} ${TAG} ${process.pid} - - ${message}`;
    default:
      // rfc3164 (and 'local'): "Mmm dd hh:mm:ss tag[pid]: msg", day padded with a space.
      return `${pri}${rfc3164Stamp(now)} ${TAG}[${process.pid}]: ${message}`;
  }
}

let stampSecond = -1;
let stampText = '';
/** The RFC 3164 timestamp, rebuilt once per second (it has no sub-second part). */
function rfc3164Stamp(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== stampSecond) {
    const p2 = (n: number) => String(n).padStart(2, '0');
    stampText = `${MONTHS[now.getMonth()]} ${String(now.getDate()).padStart(2, ' ')} ${p2(now.getHours())}:${p2(now.getMinutes())}:${p2(now.getSeconds())}`;
    stampSecond = second;
  }
  return stampText;
}

/** Buffered, non-blocking writes to an fd: at most one fs.write in flight. */
class FdWriter {
  #fd: number;
  #queue: string[] = [];
  #queued = 0;
  #writing = false;
  dropped = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  write(line: string): void {
    if (this.#queued > MAX_BACKLOG) {
      this.dropped++;
      return;
    }
    this.#queue.push(line);
    this.#queued += line.length;
    if (!this.#writing) this.#flush();
  }

  #flush(): void {
    if (this.#queue.length === 0) return;
    this.#writing = true;
    const buf = Buffer.from(this.#queue.join(''), 'utf8');
    this.#queue = [];
    this.#queued = 0;
    const writeFrom = (offset: number) => {
      fs.write(this.#fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') return void setTimeout(() => writeFrom(offset), 10).unref();
        if (!err && offset + n < buf.length) return writeFrom(offset + n);
        this.#writing = false;
        this.#flush();
      });
    };
    writeFrom(0);
  }

  /** Writes what is left synchronously: used only when the process exits. */
  flushSync(): void {
    if (this.#queue.length === 0) return;
    try {
      fs.writeSync(this.#fd, this.#queue.join(''));
    } catch {
      /* the reader is gone: nothing to do */
    }
    this.#queue = [];
  }
}

const fdWriters = new Map<number, FdWriter>();
function fdWriter(fd: number): FdWriter {
  let w = fdWriters.get(fd);
  if (!w) {
    fdWriters.set(fd, (w = new FdWriter(fd)));
    process.once('exit', () => w!.flushSync());
  }
  return w;
}

/** Creates the sink for one `log` line; throws with a message naming the target when it cannot work. */
export function createLogSink(target: LogTarget, onUnsupported?: (warning: string) => void): LogSink {
  const facility = Math.max(0, FACILITIES.indexOf(target.facility ?? 'local0'));
  const maxLevel = LEVELS.indexOf((target.level ?? 'debug') as LogLevel);
  const minLevel = LEVELS.indexOf((target.minlevel ?? 'emerg') as LogLevel);
  const len = target.len ?? 1024;
  const accept = (level: LogLevel) => {
    const l = LEVELS.indexOf(level);
    return l <= maxLevel && l >= minLevel;
  };
  const t = target.target;
  if (t === 'stdout' || t === 'stderr') {
    const w = fdWriter(t === 'stdout' ? 1 : 2);
    // HAProxy frames stdout/stderr lines like any other target; `format raw` gives bare lines.
    const format = target.format ?? 'rfc3164';
    return {
      send(level, message) {
        if (!accept(level)) return;
        w.write(frameLine(format, facility, LEVELS.indexOf(level), message).slice(0, len) + '\n');
      },
      close() {},
      get dropped() {
        return w.dropped;
      },
    };
  }
  const format = target.format ?? 'rfc3164';
  if (t.startsWith('/') || t.startsWith('unix@')) {
    const unix = new UnixDatagramLog({ path: t.replace(/^unix@/, ''), format, len }, (why) => onUnsupported?.(why));
    return {
      send(level, message) {
        if (accept(level)) unix.send(facility * 8 + LEVELS.indexOf(level), message);
      },
      close: () => unix.close(),
      get dropped() {
        return unix.dropped;
      },
    };
  }
  const { host, port } = splitTarget(t);
  const socket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  let dropped = 0;
  // A syslog server that is not listening must not stop the proxy.
  socket.on('error', () => dropped++);
  socket.unref();
  return {
    send(level, message) {
      if (!accept(level)) return;
      const line = frameLine(format, facility, LEVELS.indexOf(level), message).slice(0, len);
      // No per-datagram callback: a refused or failed send only emits 'error', counted there.
      socket.send(line, port, host);
    },
    close() {
      socket.close();
    },
    get dropped() {
      return dropped;
    },
  };
}

function splitTarget(t: string): { host: string; port: number } {
  let text = t.replace(/^(udp4?@|udp6@|ipv4@|ipv6@)/, '');
  let host = text;
  let port = 514;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    host = text.slice(1, close);
    if (text[close + 1] === ':') port = Number(text.slice(close + 2));
  } else if (text.includes(':') && isIP(text) !== 6) {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon);
    port = Number(text.slice(colon + 1));
  }
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`log target '${t}': invalid address (expected host:port)`);
  text = host;
  return { host: text, port };
}
