// The runtime API (`stats socket`) and the statistics of several workers, served by the
// primary: it binds the sockets (workers do not), answers `show stat` and `show info` with every
// worker's numbers merged, passes changes (`set server`, `set weight`, `set maxconn`, ...) to
// every worker, reads (`show table`, `get weight`, ...) from the first, and gathers the whole for
// a stats page or Prometheus scrape that a worker serves.
import type { Config } from '../config/types.js';
import { helpAnswer, isAdmin, PERMISSION_DENIED, showInfoAnswer, showStatAnswer, unknownCommand } from '../observe/runtime-api.js';
import { RuntimeSocket, type Level } from '../observe/runtime-socket.js';
import type { StatsSnapshot } from '../observe/stats-data.js';
import { mergeSnapshots } from '../observe/stats-merge.js';
import type { PrimaryContext, PrimaryService, PrimaryServiceFactory } from './primary-service.js';
import { COMMAND_TIMEOUT_MS, RUNTIME_COMMAND, SNAPSHOT_TIMEOUT_MS, STATS_SNAPSHOT, STATS_WHOLE } from './stats-topics.js';

/** Commands that change a worker's proxies: every worker runs them, so all stay alike. */
const TO_EVERY_WORKER = [['set', 'server'], ['enable', 'server'], ['disable', 'server'], ['set', 'weight'], ['set', 'maxconn']];
/**
 * Commands that read (or clear) what every worker holds alike: the first worker answers.
 * Stick tables are kept cluster-wide (each worker holds every entry, and a delete in one
 * reaches all), so one worker's `show table` and `clear table` speak for all.
 */
const TO_FIRST_WORKER = [['show', 'servers', 'state'], ['get', 'weight'], ['show', 'table'], ['clear', 'table']];

/** How long a command waits for workers still starting (the socket is bound before they are). */
const READY_WAIT_MS = 10_000;

class RuntimeApiPrimary implements PrimaryService {
  #ctx: PrimaryContext;
  #socket: RuntimeSocket;
  /** when the primary started: the whole's uptime */
  #startedAt = Date.now() - Math.round(process.uptime() * 1000);
  /**
   * Workers that said they are ready: a worker still starting has not yet registered its
   * handlers, and a message sent to it before then is lost (the asker would wait in vain).
   */
  #ready = new Set<number>();
  #onReady = new Set<() => void>();

  constructor(ctx: PrimaryContext) {
    this.#ctx = ctx;
    this.#socket = new RuntimeSocket((cmd, level) => this.execute(cmd, level));
    ctx.channel.on(STATS_WHOLE, () => this.whole(false));
    ctx.channel.on('worker-ready', (_payload: unknown, workerId: number) => {
      this.#ready.add(workerId);
      for (const wake of this.#onReady) wake();
    });
  }

  workerExited(workerId: number): void {
    this.#ready.delete(workerId);
  }

  /** The ready workers, in order; with `wait`, once all are (or after READY_WAIT_MS, those that are). */
  async #readyWorkers(wait = true): Promise<number[]> {
    const all = () => this.#ready.size >= this.#ctx.workers;
    if (wait && !all()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#onReady.delete(check);
          resolve();
        };
        const check = () => all() && done();
        const timer = setTimeout(done, READY_WAIT_MS);
        this.#onReady.add(check);
      });
    }
    const attached = new Set(this.#ctx.channel.workerIds);
    return [...this.#ready].filter((id) => attached.has(id)).sort((a, b) => a - b);
  }

  /** Asks each of `ids`; a worker that fails or does not answer in time is left out. */
  async #ask<T>(ids: number[], topic: string, payload: unknown, timeoutMs: number): Promise<Array<{ workerId: number; value: T }>> {
    const answers = await Promise.allSettled(ids.map((id) => this.#ctx.channel.requestFrom<T>(id, topic, payload, timeoutMs)));
    return answers.flatMap((a, i) => (a.status === 'fulfilled' ? [{ workerId: ids[i]!, value: a.value }] : []));
  }

  async start(): Promise<void> {
    await this.#socket.listen(this.#ctx.config().global.statsSockets ?? []);
  }

  /** The sockets of the new configuration: those that stay stay open. */
  reload(config: Config): void {
    this.#socket.listen(config.global.statsSockets ?? []).catch((err: Error) => this.#ctx.log.alert(err.message));
  }

  close(): void {
    this.#socket.close();
  }

  /**
   * Every worker's numbers, merged; a worker that does not answer in time is left out. `wait`
   * for workers still starting (a command on the socket; not a page a worker is serving).
   */
  async whole(wait: boolean): Promise<StatsSnapshot> {
    const { workers, log } = this.#ctx;
    const answers = await this.#ask<StatsSnapshot>(await this.#readyWorkers(wait), STATS_SNAPSHOT, undefined, SNAPSHOT_TIMEOUT_MS);
    if (answers.length === 0) throw new Error('no worker answered');
    // HAProxy's `show info` has no field for this: say it in the log.
    if (answers.length < workers) {
      const missing = Array.from({ length: workers }, (_, i) => i + 1).filter((id) => !answers.some((a) => a.workerId === id));
      log.warning(`stats: ${answers.length} of ${workers} workers answered within ${SNAPSHOT_TIMEOUT_MS}ms; left out: worker ${missing.join(', ')}`);
    }
    return mergeSnapshots(answers.map((a) => a.value), { pid: process.pid, startedAt: this.#startedAt, workers });
  }

  async execute(cmd: string, level: Level): Promise<string> {
    const w = cmd.split(/\s+/).filter(Boolean);
    const is = (...words: string[]) => words.every((word, i) => w[i] === word);
    const isOneOf = (list: string[][]) => list.some((words) => is(...words));
    if (w.length === 0) return '';
    if (is('help')) return helpAnswer();
    if (is('show', 'info')) return showInfoAnswer((await this.whole(true)).process, this.#ctx.config().global.maxconn);
    if (is('show', 'stat')) return showStatAnswer((await this.whole(true)).rows, w[2] === 'json');
    if (is('reload')) return isAdmin(level) ? (await this.#ctx.reload()) + '\n\n' : PERMISSION_DENIED;
    if (isOneOf(TO_EVERY_WORKER)) {
      const answer = await this.#everyWorker(cmd, level);
      // `show info` reads the global maxconn here.
      if (answer === '\n' && is('set', 'maxconn', 'global')) this.#ctx.config().global.maxconn = Number(w[3]);
      return answer;
    }
    if (isOneOf(TO_FIRST_WORKER)) return this.#firstWorker(cmd, level);
    return unknownCommand(cmd);
  }

  /** The first worker's answer, or the first error in worker order (a success is a bare newline). */
  async #everyWorker(cmd: string, level: Level): Promise<string> {
    const answers = await this.#ask<string>(await this.#readyWorkers(), RUNTIME_COMMAND, { cmd, level }, COMMAND_TIMEOUT_MS);
    if (answers.length < this.#ctx.workers) this.#ctx.log.warning(`runtime API: '${cmd}' reached ${answers.length} of ${this.#ctx.workers} workers`);
    if (answers.length === 0) return 'No worker answered.\n\n';
    return answers.find((a) => a.value !== '\n')?.value ?? answers[0]!.value;
  }

  async #firstWorker(cmd: string, level: Level): Promise<string> {
    const first = (await this.#readyWorkers())[0];
    if (first === undefined) return 'No worker answered.\n\n';
    try {
      return await this.#ctx.channel.requestFrom<string>(first, RUNTIME_COMMAND, { cmd, level }, COMMAND_TIMEOUT_MS);
    } catch (err) {
      return `No worker answered (${(err as Error).message}).\n\n`;
    }
  }
}

export const runtimeApiPrimary: PrimaryServiceFactory = (ctx) => new RuntimeApiPrimary(ctx);
