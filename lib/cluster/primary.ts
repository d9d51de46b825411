// The primary process of `nbthread N` / `--workers N`: forks N workers that share the listening
// sockets (each accepts on the same socket; the kernel spreads connections), runs the services
// that keep what workers must agree on, turns signals into orders for the workers, and
// replaces a worker that dies. It serves no traffic itself.
import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { removeStaleSocket } from '../runtime/listener.js';
import { PrimaryChannel } from './cluster-bus.js';
import type { PrimaryContext, PrimaryService } from './primary-service.js';
import { PRIMARY_SERVICES } from './primary-services.js';

export interface PrimaryOptions {
  config: Config;
  files: string[];
  workers: number;
  log: Logger;
  pidfile?: string;
  /** how long a soft stop lets requests in flight finish */
  graceMs: number;
}

/** A worker that dies this soon after starting, this many times in a row, is not replaced again. */
const CRASH_LOOP = { withinMs: 2000, times: 3 };

export async function runPrimary(opts: PrimaryOptions): Promise<void> {
  const { log } = opts;
  let config = opts.config;
  const channel = new PrimaryChannel();
  const byId = new Map<number, Worker>();
  let stopping = false;
  let reloading: Promise<string> | undefined;
  const quickDeaths = new Map<number, number>();

  // Every worker accepts on the shared socket itself: no hop through the primary per connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ silent: false });

  const reload = (): Promise<string> => {
    reloading ??= doReload().finally(() => (reloading = undefined));
    return reloading;
  };
  const doReload = async (): Promise<string> => {
    if (opts.files.length === 0) return 'Reload refused: no configuration file to re-read.';
    const { config: next, errors } = loadConfig(opts.files);
    if (errors.length > 0 || !next) {
      for (const e of errors) log.alert(`config : ${e.message}`);
      const msg = `Reload rejected: ${errors.length} error(s) in the new configuration; still running the previous one.`;
      log.alert(msg);
      return msg;
    }
    const answers = await channel.requestAll<string>('reload', undefined, 30_000);
    const accepted = answers.filter((a) => a.value.startsWith('Reload done'));
    if (accepted.length > 0) {
      config = next;
      for (const s of services) s.reload?.(next);
    }
    if (next.global.nbthread !== config.global.nbthread) log.warning(`reload: nbthread changed; the number of workers changes only on restart (still ${opts.workers})`);
    return answers[0]?.value ?? 'Reload failed: no worker answered.';
  };

  const ctx: PrimaryContext = { channel, config: () => config, log, workers: opts.workers, reload };
  const services: PrimaryService[] = PRIMARY_SERVICES.map((make) => make(ctx));

  const fork = (id: number): Promise<void> => {
    const worker = cluster.fork({ LIMPET_WORKER_ID: String(id), LIMPET_WORKERS: String(opts.workers) });
    const startedAt = Date.now();
    byId.set(id, worker);
    channel.attach(id, worker);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: unknown) => {
        if ((m as { limpet?: number; topic?: string })?.topic === 'worker-ready' && !ready) {
          ready = true;
          resolve();
        }
      });
      worker.on('exit', (code, signal) => {
        if (byId.get(id) === worker) byId.delete(id);
        for (const s of services) s.workerExited?.(id);
        if (!ready) return reject(new Error(`worker ${id} exited during start-up (${signal ?? `code ${code}`})`));
        if (stopping) return;
        const quick = Date.now() - startedAt < CRASH_LOOP.withinMs;
        const deaths = quick ? (quickDeaths.get(id) ?? 0) + 1 : 0;
        quickDeaths.set(id, deaths);
        if (deaths >= CRASH_LOOP.times) {
          log.alert(`worker ${id} (pid ${worker.process.pid}) keeps exiting right after start; stopping.`);
          void stop(false, 1);
          return;
        }
        log.alert(`worker ${id} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); starting a new one.`);
        fork(id).catch((err: Error) => log.alert(err.message));
      });
    });
  };

  const stop = async (soft: boolean, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    channel.broadcast('stop', { soft });
    const deadline = Date.now() + (soft ? opts.graceMs : 0) + 3000;
    while (byId.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const w of byId.values()) w.process.kill('SIGKILL');
    for (const s of services) await s.close?.();
    if (opts.pidfile) fs.rmSync(opts.pidfile, { force: true });
    process.exit(exitCode);
  };

  try {
    for (const p of config.proxies) for (const b of p.binds ?? []) if (b.address.kind === 'unix') removeStaleSocket(b.address.path);
    for (const s of services) await s.start?.();
    await Promise.all(Array.from({ length: opts.workers }, (_, i) => fork(i + 1)));
  } catch (err) {
    log.alert((err as Error).message);
    stopping = true;
    for (const w of byId.values()) w.process.kill('SIGKILL');
    for (const s of services) await s.close?.();
    process.exit(1);
  }
  if (opts.pidfile) fs.writeFileSync(opts.pidfile, `${process.pid}\n`);
  log.notice(`limpet started: ${opts.workers} workers (pids ${[...byId.values()].map((w) => w.process.pid).join(' ')})`);

  process.on('SIGTERM', () => void stop(false));
  process.on('SIGINT', () => void stop(false));
  process.on('SIGUSR1', () => void stop(true));
  process.on('SIGUSR2', () => void reload().then((msg) => log.notice(msg)));
}
