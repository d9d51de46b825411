// The `limpet` command: wires configuration, runtime and signals together; no logic of its own.
import fs from 'node:fs';
import { Command } from 'commander';
import { loadConfig, parseConfigSources, parseConfigText, type ConfigSource } from '../lib/config/load-config.js';
import { clusterWorker } from '../lib/cluster/cluster-bus.js';
import type { Config } from '../lib/config/types.js';
import { demoConfigText } from '../lib/demo/demo-config.js';
import { startDemoOrigin, type DemoOrigin } from '../lib/demo/demo-origin.js';
import { createLogger, type Logger } from '../lib/observe/logger.js';
import { LiveProxy } from '../lib/runtime/live-proxy.js';
import { buildDetails } from '../lib/observe/build-details.js';
import { VERSION } from '../lib/version.js';
import cluster from 'node:cluster';
import { runPrimary } from '../lib/cluster/primary.js';
import { runWorker } from '../lib/cluster/worker-process.js';
import { isSoftStop, StopSequence } from '../lib/runtime/stop-sequence.js';

/**
 * SIGTERM/SIGINT's grace for requests in flight: HAProxy stops at once on SIGTERM, limpet's
 * first users asked that a request in flight still finishes; 2 s covers an ordinary request
 * and keeps the stop fast. SIGUSR1 waits for everything (see `hard-stop-after`).
 */
const FAST_STOP_GRACE_MS = 2000;
/** How long a starting worker waits for its primary to hand it the configuration. */
const WORKER_CONFIG_TIMEOUT_MS = 10_000;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function run(config: Config, log: Logger, pidfile: string | undefined, cleanup: () => Promise<void> = async () => {}, files: string[] = []) {
  let live: LiveProxy;
  try {
    live = await LiveProxy.start(config, log, { files, fastStopGraceMs: FAST_STOP_GRACE_MS });
  } catch (err) {
    log.alert((err as Error).message);
    await cleanup();
    process.exit(1);
  }
  if (pidfile) fs.writeFileSync(pidfile, `${process.pid}\n`);
  const exit = async (): Promise<never> => {
    await cleanup();
    if (pidfile) fs.rmSync(pidfile, { force: true });
    process.exit(0);
  };
  const stop = new StopSequence(log, live, FAST_STOP_GRACE_MS, exit);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1'] as const) process.on(signal, () => stop.request(isSoftStop(signal), `${signal} received`));
  process.on('SIGUSR2', () => void live.reload());
}

async function startWorker(log: Logger, files: string[]): Promise<void> {
  let sources: ConfigSource[];
  try {
    sources = await clusterWorker()!.request<ConfigSource[]>('config-sources', undefined, WORKER_CONFIG_TIMEOUT_MS);
  } catch (err) {
    log.alert(`worker: no configuration from the primary (${(err as Error).message})`);
    process.exit(1);
  }
  const { config, errors } = parseConfigSources(sources);
  if (!config) {
    for (const e of errors) log.alert(`config : ${e.message}`);
    process.exit(1);
  }
  return runWorker(config, log, files, FAST_STOP_GRACE_MS);
}

const program = new Command();
program
  .name('limpet')
  .description('A load-balancing proxy for TCP and HTTP/1.1 that speaks HAProxy\'s configuration language')
  .version(VERSION, '-v, --version', 'print the version')
  .option('-f <file>', 'read configuration from FILE (repeatable; read in order)', collect, [] as string[])
  .option('-c', 'check the configuration and exit (0 when valid, 1 with every error otherwise)')
  .option('-p <pidfile>', 'write the process id to PIDFILE')
  .option('-d', 'debug: log every request and decision on stderr')
  .option('-q', 'quiet: only alerts')
  .option('--workers <n>', 'run N worker processes sharing the listening sockets (overrides nbthread)')
  .action(async (opts: { f: string[]; c?: boolean; p?: string; d?: boolean; q?: boolean; workers?: string }) => {
    if (opts.f.length === 0) {
      program.help({ error: true });
    }
    const log = createLogger({ debug: opts.d, quiet: opts.q });
    // A worker (forked with the primary's command line) runs the texts its primary read and
    // checked: the files may have changed since, badly, before a replacement worker starts.
    if (cluster.isWorker) return startWorker(log, opts.f);
    const { config, errors, sources } = loadConfig(opts.f);
    if (errors.length > 0 || !config) {
      for (const e of errors) process.stderr.write(`[ALERT]    (${process.pid}) : config : ${e.message}\n`);
      process.stderr.write(`[ALERT]    (${process.pid}) : config : Fatal errors found in configuration.\n`);
      process.exit(1);
    }
    let workers = config.global.nbthread;
    if (opts.workers !== undefined) {
      workers = Number(opts.workers);
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
        process.stderr.write(`[ALERT]    (${process.pid}) : --workers expects an integer from 1 to 64 (got '${opts.workers}')\n`);
        process.exit(1);
      }
    }
    if (opts.c) {
      process.stdout.write('Configuration file is valid\n');
      process.exit(0);
    }
    if (workers > 1) return runPrimary({ config, sources, files: opts.f, workers, log, pidfile: opts.p, fastStopGraceMs: FAST_STOP_GRACE_MS });
    await run(config, log, opts.p, undefined, opts.f);
  });

program
  .command('demo')
  .description('run the embedded demo: two origins and a cookie-sticky proxy, as in HAProxy\'s persistence how-to')
  .option('--host <host>', 'address the proxy listens on', '127.0.0.1')
  .option('--port <port>', 'port the proxy listens on', '8080')
  .option('-d', 'debug: log every request and decision on stderr')
  .action(async (opts: { host: string; port: string; d?: boolean }) => {
    const log = createLogger({ debug: opts.d });
    const origins: DemoOrigin[] = [];
    for (const name of ['websvr1', 'websvr2']) origins.push(await startDemoOrigin(name));
    const port = Number(opts.port);
    const text = demoConfigText(opts.host, port, origins);
    const { config, errors } = parseConfigText(text, '<demo>');
    if (!config) {
      for (const e of errors) log.alert(e.message);
      process.exit(1);
    }
    await run(config, log, undefined, async () => {
      await Promise.all(origins.map((o) => o.close()));
    });
    const url = `http://${opts.host}:${port}`;
    process.stdout.write(
      `limpet demo: proxy on ${url}, origins ${origins.map((o) => `${o.name} on 127.0.0.1:${o.port}`).join(', ')}\n\n` +
        `Try:\n` +
        `  while true; do curl ${url}; sleep 1; done          # alternates websvr1 / websvr2\n` +
        `  curl ${url} -D /dev/stdout                          # shows Set-Cookie: WEBSVR=N; path=/\n` +
        `  while true; do curl ${url} --cookie "WEBSVR=2;"; sleep 1; done   # always websvr2\n\n` +
        `The configuration it runs:\n\n${text}\n`,
    );
  });

// `-vv`: version and build details, as HAProxy prints them for bug reports.
if (process.argv[2] === '-vv') {
  process.stdout.write(buildDetails());
  process.exit(0);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`limpet: ${(err as Error).message}\n`);
  process.exit(1);
});
