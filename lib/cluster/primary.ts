// The primary process of `nbthread N` / `--workers N`: forks N workers that share the listening
// sockets (each accepts on the same socket; the kernel spreads connections), runs the services
// that keep what workers must agree on, turns signals into orders for the workers, and
// replaces a worker that dies. It serves no traffic itself.
import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import { loadConfig, type ConfigSource } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { removeStaleSocket } from '../runtime/listener.js';
import { isSoftStop, type StopSignal } from '../runtime/stop-sequence.js';
import { PrimaryChannel } from './cluster-bus.js';
import type { PrimaryContext, PrimaryService } from './primary-service.js';
import { PRIMARY_SERVICES } from './primary-services.js';

export interface PrimaryOptions {
  config: Config;
  /** the texts `config` was parsed from: workers run these, not the files as they may be later */
  sources: ConfigSource[];
  files: string[];
  workers: number;
  log: Logger;
  pidfile?: string;
  /** a fast stop's (SIGTERM) grace for requests in flight, in each worker */
  fastStopGraceMs: number;
}

/** A worker that dies this soon after starting, this many times in a row, is not replaced again. */
const CRASH_LOOP = { withinMs: 2000, times: 3 };
/** A replacement that fails to start is tried again after 1 s, 2 s, 4 s ... at most 30 s. */
const RESPAWN_RETRY = { firstMs: 1000, maxMs: 30_000 };
/** A worker not ready by then (listeners bound, services up) counts as failed to start. */
const STARTUP_TIMEOUT_MS = 30_000;
/** Beyond a worker's own stop time, how long the primary waits before killing it. */
const STOP_BACKSTOP_MS = 3000;
/** Each worker may take this long to re-read and start its new configuration. */
const RELOAD_TIMEOUT_MS = 30_000;

export async function runPrimary(opts: PrimaryOptions): Promise<void> {
  const { log } = opts;
  let config = opts.config;
  let sources = opts.sources;
  const channel = new PrimaryChannel();
  // A starting worker (first start, or a replacement) asks what to run.
  channel.on('config-sources', () => sources);
  const byId = new Map<number, Worker>();
  /** why a worker failed to start, as it reported it (its own alert) */
  const startFailures = new Map<number, string>();
  let stopping: 'soft' | 'fast' | undefined;
  let reloading: Promise<string> | undefined;
  const quickDeaths = new Map<number, number>();

  // Every worker accepts on the shared socket itself: no hop through the primary per connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ silent: false });

  const reload = (): Promise<string> => {
    reloading ??= doReload().finally(() => (reloading = undefined));
    return reloading;
  };
  // The primary checks the files first, so a bad configuration never reaches a worker; each
  // worker then logs its own account and the primary one summary.
  const doReload = async (): Promise<string> => {
    if (opts.files.length === 0) return 'Reload refused: no configuration file to re-read.';
    const { config: next, errors, sources: nextSources } = loadConfig(opts.files);
    if (errors.length > 0 || !next) {
      for (const e of errors) log.alert(`config : ${e.message}`);
      const msg = `Reload rejected: ${errors.length} error(s) in the new configuration; still running the previous one.`;
      log.alert(msg);
      return msg;
    }
    const asked = channel.workerIds.length;
    const answers = await channel.requestAll<string>('reload', nextSources, RELOAD_TIMEOUT_MS);
    const accepted = answers.filter((a) => a.value.startsWith('Reload done'));
    if (accepted.length > 0) {
      config = next;
      sources = nextSources;
      for (const s of services) s.reload?.(next);
    }
    if (next.global.nbthread !== opts.workers) log.warning(`reload: nbthread ${next.global.nbthread} takes effect on restart only (still ${opts.workers} workers)`);
    const others = answers.filter((a) => !a.value.startsWith('Reload done')).map((a) => `worker ${a.workerId}: ${a.value}`);
    const silent = asked - answers.length;
    const problems = [...others, ...(silent > 0 ? [`${silent} worker(s) did not answer`] : [])].join('; ');
    let msg: string;
    if (accepted.length === asked && asked > 0) msg = `Reload done: new configuration running in ${asked}/${asked} workers.`;
    else if (accepted.length > 0) msg = `Reload done in ${accepted.length}/${asked} workers only; ${problems}`;
    else msg = `Reload rejected: no worker accepted the new configuration (${problems || 'no worker running'}); still running the previous one.`;
    if (accepted.length === asked) log.notice(msg);
    else log.alert(msg);
    return msg;
  };

  const ctx: PrimaryContext = { channel, config: () => config, log, workers: opts.workers, reload };
  const services: PrimaryService[] = PRIMARY_SERVICES.map((make) => make(ctx));
  channel.on('worker-failed', (message: string, workerId) => {
    startFailures.set(workerId, message);
    return true;
  });

  /** Resolves once the worker is ready; rejects if it exits or hangs first. */
  const fork = (id: number): Promise<void> => {
    startFailures.delete(id);
    const worker = cluster.fork({ LIMPET_WORKER_ID: String(id), LIMPET_WORKERS: String(opts.workers) });
    const startedAt = Date.now();
    byId.set(id, worker);
    channel.attach(id, worker);
    let ready = false;
    worker.on('exit', (code, signal) => {
      if (byId.get(id) === worker) byId.delete(id);
      for (const s of services) s.workerExited?.(id);
      if (ready) replace(id, worker.process.pid, startedAt, `exited (${signal ?? `code ${code}`})`);
    });
    return new Promise<void>((resolve, reject) => {
      const hung = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`worker ${id} (pid ${worker.process.pid}) not ready within ${STARTUP_TIMEOUT_MS}ms`));
      }, STARTUP_TIMEOUT_MS);
      worker.on('message', (m: unknown) => {
        if ((m as { limpet?: number; topic?: string })?.topic === 'worker-ready' && !ready) {
          ready = true;
          clearTimeout(hung);
          // A replacement that came up during a stop missed the order (it had no handler yet).
          if (stopping) channel.sendTo(id, 'stop', { soft: stopping === 'soft' });
          resolve();
        }
      });
      worker.on('exit', (code, signal) => {
        if (ready) return;
        clearTimeout(hung);
        const why = startFailures.get(id) ?? `exited (${signal ?? `code ${code}`})`;
        reject(new Error(`worker ${id} (pid ${worker.process.pid}) failed to start: ${why}`));
      });
    });
  };

  /** A worker died while serving: a new one takes its id, unless it keeps dying at once. */
  const replace = (id: number, pid: number | undefined, startedAt: number, how: string): void => {
    if (stopping) return;
    const quick = Date.now() - startedAt < CRASH_LOOP.withinMs;
    const deaths = quick ? (quickDeaths.get(id) ?? 0) + 1 : 0;
    quickDeaths.set(id, deaths);
    if (deaths >= CRASH_LOOP.times) {
      log.alert(`worker ${id} (pid ${pid}) keeps failing right after start; stopping.`);
      void stop(false, 'crash loop', 1);
      return;
    }
    log.alert(`worker ${id} (pid ${pid}) ${how}; starting a new one.`);
    respawn(id);
  };
  // A replacement that cannot start (the files now hold a bad configuration, a port is gone)
  // is tried again, less and less often, while the other workers serve.
  const respawn = (id: number, attempt = 0): void => {
    fork(id).then(
      () => log.notice(`worker ${id} replaced (pid ${byId.get(id)?.process.pid})`),
      (err: Error) => {
        if (stopping) return;
        const delay = Math.min(RESPAWN_RETRY.firstMs * 2 ** attempt, RESPAWN_RETRY.maxMs);
        log.alert(`${err.message}; trying again in ${delay}ms`);
        setTimeout(() => !stopping && respawn(id, attempt + 1), delay);
      },
    );
  };

  let backstop: NodeJS.Timeout | undefined;
  /** Orders every worker to stop; kills the ones still there after their own stop time. */
  const stop = async (soft: boolean, why: string, exitCode = 0): Promise<void> => {
    if (stopping === 'fast' || (stopping === 'soft' && soft)) return;
    const hurry = stopping === 'soft';
    stopping = soft ? 'soft' : 'fast';
    const hardStopAfter = config.global.hardStopAfter;
    if (hurry) log.notice(`${why} during the soft stop: workers cut what is still in flight in ${opts.fastStopGraceMs}ms`);
    else if (soft) log.notice(`${why}, soft stop: ${byId.size} workers finish what is in flight${hardStopAfter === undefined ? '' : ` (at most hard-stop-after ${hardStopAfter}ms)`}`);
    else log.notice(`${why}, fast stop: ${byId.size} workers give requests in flight up to ${opts.fastStopGraceMs}ms`);
    channel.broadcast('stop', { soft });
    // A soft stop without hard-stop-after waits as long as the workers do.
    const limit = soft ? hardStopAfter : opts.fastStopGraceMs;
    clearTimeout(backstop);
    if (limit !== undefined) {
      backstop = setTimeout(() => {
        for (const w of byId.values()) {
          log.alert(`worker pid ${w.process.pid} still running ${STOP_BACKSTOP_MS}ms after its stop time; killing it`);
          w.process.kill('SIGKILL');
        }
      }, limit + STOP_BACKSTOP_MS);
    }
    if (hurry) return;
    while (byId.size > 0) await new Promise((r) => setTimeout(r, 20));
    clearTimeout(backstop);
    for (const s of services) await s.close?.();
    if (opts.pidfile) fs.rmSync(opts.pidfile, { force: true });
    log.notice(`all workers stopped; exiting`);
    process.exit(exitCode);
  };

  // Signals that arrive while the workers start are acted on once they are up.
  const early: StopSignal[] = [];
  let started = false;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1'] as const) {
    process.on(signal, () => (started ? void stop(isSoftStop(signal), `${signal} received`) : early.push(signal)));
  }
  process.on('SIGUSR2', () => void reload());

  try {
    for (const p of config.proxies) for (const b of p.binds ?? []) if (b.address.kind === 'unix') removeStaleSocket(b.address.path);
    for (const s of services) await s.start?.();
    await Promise.all(Array.from({ length: opts.workers }, (_, i) => fork(i + 1)));
  } catch (err) {
    stopping = 'fast';
    log.alert((err as Error).message);
    for (const w of byId.values()) w.process.kill('SIGKILL');
    for (const s of services) await s.close?.();
    process.exit(1);
  }
  if (opts.pidfile) fs.writeFileSync(opts.pidfile, `${process.pid}\n`);
  log.notice(`limpet started: ${opts.workers} workers (pids ${[...byId.values()].map((w) => w.process.pid).join(' ')})`);
  started = true;
  for (const signal of early) void stop(isSoftStop(signal), `${signal} received`);
}
