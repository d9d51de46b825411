// A worker process of `nbthread N` / `--workers N`: runs the whole proxy (LiveProxy) on the
// listening sockets it shares with the other workers, and obeys its primary alone. Signals are
// the primary's to handle (a Ctrl-C or systemd's SIGTERM reaches the whole process group); a
// worker whose primary is gone stops fast by itself.
import type { ConfigSource } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { LiveProxy } from '../runtime/live-proxy.js';
import { StopSequence } from '../runtime/stop-sequence.js';
import { clusterWorker } from './cluster-bus.js';

/** The primary's reply to a start-up failure; the worker exits even without one. */
const FAILURE_REPORT_TIMEOUT_MS = 1000;

export async function runWorker(config: Config, log: Logger, files: string[], fastStopGraceMs: number): Promise<void> {
  const channel = clusterWorker()!;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => {});
  let live: LiveProxy;
  try {
    live = await LiveProxy.start(config, log, { files, fastStopGraceMs, worker: channel });
  } catch (err) {
    // The primary repeats it in its own exit message; wait for it to have it before exiting.
    const message = (err as Error).message;
    log.alert(message);
    await channel.request('worker-failed', message, FAILURE_REPORT_TIMEOUT_MS).catch(() => {});
    process.exit(1);
  }
  const stop = new StopSequence(log, live, fastStopGraceMs, () => process.exit(0));
  channel.on('stop', (p: { soft: boolean }) => stop.request(p.soft, `worker ${channel.workerId}: stop ordered by the primary`));
  channel.on('reload', (sources: ConfigSource[]) => live.reload(sources));
  // The primary died without ordering a stop (SIGKILL, crash): nobody would stop this one.
  process.on('disconnect', () => stop.request(false, `worker ${channel.workerId}: primary gone`));
  channel.send('worker-ready');
}
