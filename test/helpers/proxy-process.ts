import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOf, stopChild, type ExitStatus } from './child-process.js';
import type { TeardownHost } from './teardown.js';
import { waitForPort } from './wait-for-port.js';

/** The repository root (this file is test/helpers/proxy-process.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built CLI, `npm run build` makes it. */
export const cliPath = join(repoRoot, 'dist', 'cli.js');

export interface StartProxyOptions {
  /** Arguments after `-f CONFIG` (e.g. `['-f', second]`, `['-d']`). */
  extraArgs?: string[];
  /** Added to the environment (which is otherwise inherited). */
  env?: Record<string, string>;
  /** Wait until each of these ports (on `host`) accepts a TCP connection. */
  waitPorts?: number[];
  host?: string;
  /** Readiness limit in ms (default 10000). */
  readyTimeout?: number;
  /** Script to run instead of dist/cli.js (the helpers' own tests use a stand-in). */
  cli?: string;
}

export interface ProxyProcess {
  readonly pid: number;
  readonly configPath: string;
  /** Everything the proxy wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Signals the proxy by PID (SIGKILL after 5 s) and resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** Sends a signal without waiting (e.g. SIGHUP, SIGUSR2). */
  signal(signal: NodeJS.Signals): void;
  readonly exited: Promise<ExitStatus>;
}

/** Writes `text` to a new temp directory; removed at the end of the test. */
export const writeTempConfig = (t: TeardownHost, text: string, name = 'limpet.cfg'): string => {
  const dir = mkdtempSync(join(tmpdir(), 'limpet-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const tail = (text: string, max = 4000): string => (text.length > max ? `…${text.slice(-max)}` : text);

/**
 * Starts `node dist/cli.js -f CONFIG ...extraArgs` in the foreground with `configText` as its
 * configuration, and waits until every `waitPorts` port accepts connections. Rejects, with
 * the child's output, if it exits first or is not ready in time. The proxy is killed by PID
 * at the end of the test if still running.
 */
export const startProxy = async (
  t: TeardownHost,
  configText: string,
  opts: StartProxyOptions = {},
): Promise<ProxyProcess> => {
  const configPath = writeTempConfig(t, configText);
  const cli = opts.cli ?? cliPath;
  const child = spawn(process.execPath, [cli, '-f', configPath, ...(opts.extraArgs ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = exitOf(child);
  let spawnError: Error | undefined;
  child.once('error', e => (spawnError = e));
  t.teardown(() => stopChild(child, 'SIGKILL'));

  await new Promise<void>((resolveSpawn, rejectSpawn) => {
    child.once('spawn', () => resolveSpawn());
    child.once('error', rejectSpawn);
  });
  const pid = child.pid!;

  const describe = (): string =>
    `node ${[cli, '-f', configPath, ...(opts.extraArgs ?? [])].join(' ')}\n` +
    `--- config ---\n${configText}\n--- stdout ---\n${tail(out)}\n--- stderr ---\n${tail(err)}`;
  const abort = (): Error | undefined => {
    if (spawnError) return spawnError;
    if (child.exitCode !== null || child.signalCode !== null) {
      return new Error(`proxy exited early (code ${child.exitCode}, signal ${child.signalCode})\n${describe()}`);
    }
    return undefined;
  };
  try {
    for (const port of opts.waitPorts ?? []) {
      await waitForPort(port, { host: opts.host ?? '127.0.0.1', timeout: opts.readyTimeout ?? 10_000, abort });
    }
  } catch (e) {
    if (spawnError) throw spawnError;
    const early = child.exitCode !== null || child.signalCode !== null;
    await stopChild(child, 'SIGKILL');
    // Let the last output arrive before describing it ('close' follows the end of stdio).
    await new Promise<void>(r => {
      const timer = setTimeout(r, 1000);
      child.once('close', () => {
        clearTimeout(timer);
        r();
      });
      if (child.stdout.readableEnded && child.stderr.readableEnded) r();
    });
    const reason = early
      ? `proxy exited early (code ${child.exitCode}, signal ${child.signalCode})`
      : (e as Error).message;
    throw new Error(`${reason}\n${describe()}`);
  }

  return {
    pid,
    configPath,
    stdout: () => out,
    stderr: () => err,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, signal),
    signal: (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal);
    },
    exited,
  };
};

export interface RunCliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** ms before the CLI is killed (default 15000); `timedOut` then says so. */
  timeout?: number;
  input?: string;
  /** Script to run instead of dist/cli.js. */
  cli?: string;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `node dist/cli.js ...args` to completion (e.g. `['-c', '-f', path]`). */
export const runCli = (args: string[], opts: RunCliOptions = {}): Promise<CliResult> =>
  new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [opts.cli ?? cliPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      void stopChild(child, 'SIGKILL');
    }, opts.timeout ?? 15_000);
    child.once('error', e => {
      clearTimeout(timer);
      rejectRun(e);
    });
    // 'close' (not 'exit') so that all output has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut });
    });
  });
