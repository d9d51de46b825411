import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOf, stopChild, type ExitStatus } from './child-process.js';
import { freePort } from './free-port.js';
import { redisCommand } from './resp.js';
import type { TeardownHost } from './teardown.js';

export interface RedisHandle {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number | undefined;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Stops the server (SIGTERM by PID, SIGKILL after 5 s). Data is not persisted. */
  stop(): Promise<ExitStatus | undefined>;
  /** Starts a fresh server on the same port (stopping the running one first, if any). */
  restart(): Promise<void>;
  /** Everything the server logged, over all its runs. */
  output(): string;
}

/** The tap test methods the Redis helpers use. */
export interface RedisTestHost extends TeardownHost {
  fail(message: string): void;
  plan(n: number, comment?: string): void;
}

/** True when `redis-server` can be run from PATH. */
export const haveRedisServer = (): boolean => {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5000 });
  return probe.error === undefined && probe.status === 0;
};

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/**
 * Starts `redis-server` on an ephemeral port on 127.0.0.1 (no persistence), waits until it
 * answers PING, and kills it by PID at the end of the test. Throws if redis-server is not
 * installed; see requireRedis for the skip-or-fail rule.
 */
export const startRedis = async (t: TeardownHost, opts: { readyTimeout?: number } = {}): Promise<RedisHandle> => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'limpet-redis-'));
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
    let spawnError: Error | undefined;
    proc.once('error', e => (spawnError = e));
    const deadline = Date.now() + (opts.readyTimeout ?? 10_000);
    for (;;) {
      if (spawnError) throw new Error(`redis-server could not be started: ${spawnError.message}`);
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`redis-server exited early (code ${proc.exitCode}, signal ${proc.signalCode}):\n${log}`);
      }
      try {
        if ((await redisCommand(port, ['PING'], { timeout: 500 })) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stopChild(proc, 'SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING in time:\n${log}`);
      }
      await sleep(20);
    }
  };

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<ExitStatus | undefined> => (child ? stopChild(child, 'SIGTERM') : undefined);

  t.teardown(async () => {
    if (child) await stopChild(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await launch();

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    get running() {
      return running();
    },
    stop,
    async restart() {
      if (running()) await stop();
      else if (child) await exitOf(child);
      await launch();
    },
    output: () => log,
  };
};

/**
 * Starts Redis for a test that needs it. When redis-server is not installed: under CI
 * (CI=true) the test fails loudly; elsewhere a loud warning goes to stderr and the test is
 * skipped (`t.plan(0)`). Returns undefined in both cases: the caller must then return.
 * Call it before making any assertion.
 *
 *   const redis = await requireRedis(t);
 *   if (!redis) return;
 */
export const requireRedis = async (t: RedisTestHost): Promise<RedisHandle | undefined> => {
  if (haveRedisServer()) return startRedis(t);
  const message = 'redis-server is not installed (not on PATH): tests that need Redis cannot run';
  if (process.env['CI'] === 'true') {
    t.fail(`${message}. CI must install it (.ci/run does: apt-get install -y redis-server).`);
    return undefined;
  }
  process.stderr.write(`\n!!!!! WARNING: ${message}; SKIPPING. Install it: apt-get install -y redis-server !!!!!\n\n`);
  t.plan(0, `skipped: ${message}`);
  return undefined;
};
