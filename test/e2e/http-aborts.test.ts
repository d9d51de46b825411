// Client aborts at every stage release everything: after 2,000 aborted requests the proxy's
// open file descriptors (from /proc/PID/fd) are back at their baseline, the origin has no
// connection left open, and the server's maxconn slots are all free again (20 concurrent
// requests against `maxconn 10` with a short queue timeout all succeed).
import t from 'tap';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const H = 'Host: example\r\n';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

type Abort = (port: number) => Promise<void>;

/** Connects, writes `bytes`, and destroys the socket after `afterMs` or at the first response byte. */
const abortAfter = (bytes: string, afterMs: number, onData = false): Abort => (port) =>
  new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const done = () => (socket.destroy(), resolve());
    socket.on('error', done);
    socket.on('close', done);
    if (onData) socket.once('data', done);
    socket.on('connect', () => {
      if (bytes) socket.write(bytes);
      setTimeout(done, afterMs);
    });
  });

const KINDS: Array<[string, Abort]> = [
  ['connect then close', abortAfter('', 0)],
  ['partial head', abortAfter(`GET /partial HTTP/1.1\r\n${H}X-Half: y`, 5)],
  ['request waiting at a slow server', abortAfter(`GET /slow HTTP/1.1\r\n${H}\r\n`, 20)],
  ['upload cut midway', abortAfter(`POST /up HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n${'x'.repeat(1000)}`, 20)],
  ['large response cut at its first bytes', abortAfter(`GET /big HTTP/1.1\r\n${H}\r\n`, 1000, true)],
];

t.test('2,000 aborted requests leave nothing behind', async (t) => {
  const origin = await startOrigin({
    name: 'o',
    t,
    handler: (req, res) => {
      if (req.url === '/slow') return void setTimeout(() => !res.destroyed && res.end('late'), 300);
      if (req.url === '/big') {
        res.writeHead(200, { 'Content-Length': String(4 << 20) });
        const block = Buffer.alloc(64 << 10, 97);
        let left = 64;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            left--;
            if (!res.write(block)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      res.end('ok');
    },
  });
  const port = await freePort();
  const proxy = await startProxy(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 500ms
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port} maxconn 10
`, { waitPorts: [port] });
  await pause(100);
  const baseline = fdCount(proxy.pid);

  const perKind = 400;
  for (const [name, abort] of KINDS) {
    for (let i = 0; i < perKind; i += 25) await Promise.all(Array.from({ length: 25 }, () => abort(port)));
    t.pass(`${perKind} × ${name}`);
  }

  let fds = fdCount(proxy.pid);
  for (let i = 0; i < 100 && (fds > baseline || origin.openConnections > 0); i++) {
    await pause(50);
    fds = fdCount(proxy.pid);
  }
  t.ok(fds <= baseline, `proxy file descriptors back to baseline (${fds} now, ${baseline} before)`);
  t.equal(origin.openConnections, 0, 'no server connection left open');
  t.ok(origin.connections > 0, `the aborts did reach the origin (${origin.connections} connections)`);

  // Leaked maxconn slots would queue these and fail them at timeout queue (503).
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => get(port, `/after${i}`)));
  t.same(results.map((r) => r.status), Array(20).fill(200), 'all server slots are free again');
});
