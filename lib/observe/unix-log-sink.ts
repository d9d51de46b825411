// A `log /path` (or `unix@/path`) target: a unix datagram socket such as /dev/log. Node has no
// AF_UNIX datagram sockets, so the lines go through one long-lived logger(1) process (util-linux,
// on every Debian) reading them from a pipe: `--prio-prefix` keeps each line's facility and
// level, and logger frames the line as RFC 3164 or RFC 5424 itself. Writing never blocks: the
// pipe is written asynchronously and lines beyond a bounded backlog are dropped and counted.
import { spawn, type ChildProcess } from 'node:child_process';

/** the most bytes waiting in the pipe before lines are dropped */
const MAX_BACKLOG = 4 * 1024 * 1024;
/** a logger that exits is started again, at most this often */
const RESTART_AFTER_MS = 1000;

export interface UnixLogTarget {
  path: string;
  /** 'rfc5424' asks logger for RFC 5424; anything else gets RFC 3164 */
  format: string;
  /** longest line sent */
  len: number;
}

export class UnixDatagramLog {
  dropped = 0;
  #target: UnixLogTarget;
  #child: ChildProcess | undefined;
  #startedAt = 0;
  #closed = false;
  #onFailure: (why: string) => void;
  #failed = false;

  /** `onFailure` is told once when logger(1) cannot be run. */
  constructor(target: UnixLogTarget, onFailure: (why: string) => void) {
    this.#target = target;
    this.#onFailure = onFailure;
  }

  /** `pri` is facility * 8 + level. */
  send(pri: number, message: string): void {
    const child = this.#process();
    const stdin = child?.stdin;
    if (!stdin || stdin.destroyed || stdin.writableLength > MAX_BACKLOG) {
      this.dropped++;
      return;
    }
    stdin.write(`<${pri}>${message.replace(/\n/g, ' ')}\n`);
  }

  close(): void {
    this.#closed = true;
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #process(): ChildProcess | undefined {
    if (this.#child || this.#closed || this.#failed) return this.#child;
    if (Date.now() - this.#startedAt < RESTART_AFTER_MS) return undefined;
    this.#startedAt = Date.now();
    const t = this.#target;
    const args = ['-u', t.path, '--prio-prefix', '--socket-errors=off', t.format === 'rfc5424' ? '--rfc5424' : '--rfc3164', '-t', `limpet[${process.pid}]`, '-S', String(t.len)];
    const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', (err) => {
      this.#failed = true;
      this.#child = undefined;
      this.#onFailure(`log target '${t.path}': cannot run logger(1) to reach a unix datagram socket (${err.message}); its lines are dropped`);
    });
    child.stdin.on('error', () => {});
    child.on('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    // The logging pipe must not keep a stopping proxy alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.#child = child;
    return child;
  }
}
