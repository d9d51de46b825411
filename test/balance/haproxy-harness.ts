// Runs the real `haproxy` (when installed) with a backend of N servers that all point at one
// origin, and tells which server HAProxy chose for each request (via `%s` in a response header).
// Used by side-by-side tests that compare limpet's choice with HAProxy's; they skip without it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { startOrigin } from '../helpers/origin.js';
import { rawRequest } from '../helpers/http-client.js';
import { waitForPort } from '../helpers/wait-for-port.js';
import type { TeardownHost } from '../helpers/teardown.js';

export const haveHaproxy = (): boolean => spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;

export interface HaproxyFarm {
  /** the server HAProxy picked for this raw request */
  pick(rawHead: string): Promise<string>;
}

/** `backendLines`: balance/hash-type/cookie lines; `servers`: the `server` lines' options by name. */
export async function startHaproxyFarm(
  t: TeardownHost & { teardown(fn: () => unknown): void },
  backendLines: string[],
  servers: Array<{ name: string; opts?: string }>,
): Promise<HaproxyFarm> {
  const origin = await startOrigin({ name: 'o', t });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'limpet-haproxy-'));
  const cfg = [
    'global',
    '  log stderr format raw local0 emerg',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    'backend be',
    ...backendLines.map((l) => `  ${l}`),
    '  http-response set-header X-Server %s',
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${origin.port} ${s.opts ?? ''}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), cfg);
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`haproxy did not start: ${err.message}\n${stderr}`);
  });
  return {
    async pick(rawHead) {
      const res = await rawRequest(port, rawHead);
      const m = /\r\nx-server: ([^\r]*)\r\n/i.exec(res.raw.toString('latin1'));
      if (!m) throw new Error(`no X-Server in HAProxy's answer: ${res.raw.toString('latin1').slice(0, 200)}`);
      return m[1]!;
    },
  };
}

/** Runs `haproxy -db -f` on a complete configuration and waits for `port`; killed by PID at teardown. */
export async function startHaproxy(t: TeardownHost & { teardown(fn: () => unknown): void }, configText: string, port: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'limpet-haproxy-'));
  writeFileSync(join(dir, 'haproxy.cfg'), configText);
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`haproxy exited (${code}):\n${stderr}`))));
  await Promise.race([waitForPort(port), exited]).catch((err: Error) => {
    throw new Error(`haproxy did not start: ${err.message}\n${stderr}`);
  });
}
