// A worker process of `nbthread N` / `--workers N`: runs the whole proxy (LiveProxy) on the
// listening sockets it shares with the other workers, and obeys its primary alone. Signals are
// the primary's to handle (a Ctrl-C reaches the whole process group); a worker whose primary
// is gone stops at once.
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { LiveProxy } from '../runtime/live-proxy.js';
import { clusterWorker } from './cluster-bus.js';

export async function runWorker(config: Config, log: Logger, files: string[], graceMs: number): Promise<void> {
  const channel = clusterWorker()!;
  let live: LiveProxy;
  try {
    live = await LiveProxy.start(config, log, { files, graceMs, worker: channel });
  } catch (err) {
    log.alert((err as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (soft: boolean) => {
    if (stopping) return;
    stopping = true;
    await live.stop(soft);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => {});
  channel.on('stop', (p: { soft: boolean }) => void stop(p.soft));
  channel.on('reload', () => live.reload());
  process.on('disconnect', () => void stop(false));
  channel.send('worker-ready');
}
