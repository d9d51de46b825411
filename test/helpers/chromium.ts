// A page as headless Chromium (Debian's `chromium`) renders it: the DOM after its scripts ran,
// for tests that check what a browser shows. Bounded, with a private profile, killed by PID.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TeardownHost } from './teardown.js';

/** The browser's command, or undefined when none is installed. */
export function findChromium(): string | undefined {
  return ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync('which', [b]).status === 0);
}

/** The rendered DOM of `url`; rejects (with the browser's stderr) when it prints none within 30 s. */
export function renderedDom(t: TeardownHost, chromium: string, url: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'limpet-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  return new Promise<string>((resolve, reject) => {
    const child = spawn(chromium, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=2000', '--dump-dom', url,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    t.teardown(() => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (out.includes('<html')) resolve(out);
      else reject(new Error(`chromium printed no DOM; stderr: ${err.slice(-2000)}`));
    });
  });
}
