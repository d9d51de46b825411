// How one serving process stops, whoever asks (a signal in a single process, the primary's
// order in a worker): a soft stop (SIGUSR1) lets everything in flight finish, bounded only by
// `hard-stop-after`; a fast stop (SIGTERM, SIGINT) gives requests in flight a short grace. A
// fast stop asked during a soft one hurries it, as HAProxy's SIGTERM does after SIGUSR1.
import type { Logger } from '../observe/logger.js';
import type { LiveProxy } from './live-proxy.js';

export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGUSR1';

/** SIGUSR1 is HAProxy's soft stop; SIGTERM and SIGINT are fast. */
export const isSoftStop = (signal: StopSignal): boolean => signal === 'SIGUSR1';

export class StopSequence {
  #log: Logger;
  #live: LiveProxy;
  #fastGraceMs: number;
  #exit: () => Promise<void> | void;
  #stopping: 'soft' | 'fast' | undefined;
  #exited = false;

  /** `exit` runs once the proxy has stopped (or a hurried soft stop's grace ran out). */
  constructor(log: Logger, live: LiveProxy, fastGraceMs: number, exit: () => Promise<void> | void) {
    this.#log = log;
    this.#live = live;
    this.#fastGraceMs = fastGraceMs;
    this.#exit = exit;
  }

  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** `why` begins the log line, e.g. "SIGTERM received". */
  request(soft: boolean, why: string): void {
    if (this.#stopping === 'soft' && !soft) {
      this.#stopping = 'fast';
      this.#log.notice(`${why} during the soft stop: what is still in flight (${this.#live.sessionCount} connection(s)) is cut in ${this.#fastGraceMs}ms`);
      setTimeout(() => this.#finish(), this.#fastGraceMs);
      return;
    }
    if (this.#stopping) return;
    this.#stopping = soft ? 'soft' : 'fast';
    const hardStopAfter = this.#live.hardStopAfter;
    const wait = soft
      ? `waiting for what is in flight${hardStopAfter === undefined ? '' : ` (at most hard-stop-after ${hardStopAfter}ms)`}`
      : `requests in flight get up to ${this.#fastGraceMs}ms`;
    this.#log.notice(`${why}, ${soft ? 'soft' : 'fast'} stop: listeners and idle connections closed, ${wait}`);
    void this.#live.stop(soft).then(() => this.#finish());
  }

  #finish(): void {
    if (this.#exited) return;
    this.#exited = true;
    void this.#exit();
  }
}
