// Shared by the rules tests: an origin that answers with what it received (so a client can
// see the request as forwarded), HAProxy started side by side when installed, and a compact
// view of a response for comparisons.
import { spawn, spawnSync } from 'node:child_process';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { exitOf, stopChild } from '../helpers/child-process.js';
import { writeTempConfig } from '../helpers/proxy-process.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { waitForPort } from '../helpers/wait-for-port.js';
import type { SimpleResponse } from '../helpers/http-client.js';

export interface Echo {
  origin: string;
  method: string;
  url: string;
  /** [name, value] pairs as the origin received them */
  headers: [string, string][];
}

/** An origin answering 200 with JSON describing the request, and `X-Origin: NAME`. */
export const startEchoOrigin = (t: TeardownHost, name: string): Promise<Origin> =>
  startOrigin({
    name,
    t,
    handler: (req, res) => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const body = JSON.stringify({ origin: name, method: req.method ?? '', url: req.url ?? '', headers } satisfies Echo);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Origin': name, Server: 'echo', 'Set-Cookie': 'sid=abc; path=/' });
      res.end(body);
    },
  });

/** The echoed request, or undefined when the response did not come from an echo origin. */
export const echoOf = (res: SimpleResponse): Echo | undefined => {
  try {
    const e = JSON.parse(res.body) as Echo;
    return typeof e.origin === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
};

export const echoHeader = (e: Echo | undefined, name: string): string[] =>
  (e?.headers ?? []).filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

export const haveHaproxy = (): boolean => spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;

/** Runs `haproxy -db -f CONFIG` until the end of the test (killed by PID). */
export const startHaproxy = async (t: TeardownHost, configText: string, port: number): Promise<void> => {
  const path = writeTempConfig(t, configText, 'haproxy.cfg');
  const child = spawn('haproxy', ['-db', '-f', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = exitOf(child);
  let gone = false;
  void exited.then(() => (gone = true));
  t.teardown(() => stopChild(child, 'SIGKILL'));
  await waitForPort(port, { timeout: 10_000, abort: () => (gone ? new Error(`haproxy exited:\n${out}`) : undefined) });
};
