// `limpet -c -f FILE` as a HAProxy user runs it before a reload: "Configuration file is valid"
// and 0, or every error with file:line and keyword, and 1. Also the CLI's other flags.
import { readFileSync, existsSync } from 'node:fs';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { get, keepAliveConnection } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { runCli, startProxy, writeTempConfig } from '../helpers/proxy-process.js';

const valid = `
global
    maxconn 100
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:8080
    default_backend app
backend app
    balance roundrobin
    cookie WEBSVR insert
    server s1 127.0.0.1:8081 cookie 1 check
`;

t.test('a valid configuration', async (t) => {
  const file = writeTempConfig(t, valid);
  const r = await runCli(['-c', '-f', file]);
  t.equal(r.code, 0);
  t.equal(r.stdout, 'Configuration file is valid\n');
});

const cases: Array<{ name: string; text: string; line: number; expect: RegExp }> = [
  {
    name: 'unknown keyword',
    text: 'defaults\n    mode http\nbackend app\n    frobnicate 1\n    server s1 127.0.0.1:80\n',
    line: 4,
    expect: /frobnicate/,
  },
  {
    name: 'bad server address',
    text: 'defaults\n    mode http\nbackend app\n    server s1 not:an:address:99999\n',
    line: 4,
    expect: /s1|address/,
  },
  {
    name: 'unknown backend',
    text: 'defaults\n    mode http\nfrontend www\n    bind 127.0.0.1:8080\n    default_backend nowhere\n',
    line: 5,
    expect: /nowhere/,
  },
  {
    name: 'duplicate server',
    text: 'defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:81\n    server s1 127.0.0.1:82\n',
    line: 5,
    expect: /s1/,
  },
  {
    name: 'nbthread above 64',
    text: 'global\n    nbthread 65\n',
    line: 2,
    expect: /nbthread.*out of range/,
  },
  {
    name: 'a bad hard-stop-after',
    text: 'global\n    maxconn 10\n    hard-stop-after 5 minutes\n',
    line: 3,
    expect: /hard-stop-after/,
  },
];

for (const c of cases) {
  t.test(`-c reports ${c.name} with file:line and exits 1`, async (t) => {
    const file = writeTempConfig(t, c.text);
    const r = await runCli(['-c', '-f', file]);
    t.equal(r.code, 1, 'exit status 1');
    t.match(r.stderr, `${file}:${c.line}`, 'names file and line');
    t.match(r.stderr, c.expect, 'names the keyword or value');
    t.notMatch(r.stdout, /valid/);
  });
}

t.test('every error of a file is reported, not only the first', async (t) => {
  const file = writeTempConfig(t, 'defaults\n    mode http\nbackend app\n    bogus1\n    bogus2\n');
  const r = await runCli(['-c', '-f', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, `${file}:4`);
  t.match(r.stderr, `${file}:5`);
});

t.test('several -f files are read in order', async (t) => {
  const first = writeTempConfig(t, 'defaults\n    mode http\n    timeout connect 1s\n', 'a.cfg');
  const second = writeTempConfig(t, 'backend app\n    server s1 127.0.0.1:81\n    oops\n', 'b.cfg');
  const r = await runCli(['-c', '-f', first, '-f', second]);
  t.equal(r.code, 1);
  t.match(r.stderr, `${second}:3`, 'the error points into the second file');
});

t.test('running with a bad configuration exits 1 without listening', async (t) => {
  const file = writeTempConfig(t, 'frontend www\n    bind 127.0.0.1:1\n    default_backend missing\n');
  const r = await runCli(['-f', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, /missing/);
});

t.test('--version and --help', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+/);
  const h = await runCli(['--help']);
  t.equal(h.code, 0);
  t.match(h.stdout, /-f <file>/);
  t.match(h.stdout, /demo/);
});

t.test('-p writes the pid file and removes it on SIGTERM', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const port = await freePort();
  const pidfile = writeTempConfig(t, '', 'limpet.pid');
  const proxy = await startProxy(
    t,
    `defaults\n    mode http\n    timeout connect 1s\nlisten www\n    bind 127.0.0.1:${port}\n    server o 127.0.0.1:${origin.port}\n`,
    { waitPorts: [port], extraArgs: ['-p', pidfile] },
  );
  // The file is written once the listeners are up, a moment after the port accepts.
  for (let i = 0; i < 50 && readFileSync(pidfile, 'utf8') === ''; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(readFileSync(pidfile, 'utf8').trim(), String(proxy.pid));
  t.equal((await get(port, '/')).status, 200);
  const exit = await proxy.stop('SIGTERM');
  t.equal(exit.code, 0);
  t.notOk(existsSync(pidfile), 'pid file removed');
});

t.test('SIGTERM lets a request in flight finish', async (t) => {
  const slow = await startOrigin({
    name: 'slow',
    t,
    handler: (_req, res) => setTimeout(() => res.end('late but complete\n'), 400),
  });
  const port = await freePort();
  const proxy = await startProxy(
    t,
    `defaults\n    mode http\n    timeout connect 1s\n    timeout server 5s\nlisten www\n    bind 127.0.0.1:${port}\n    server slow 127.0.0.1:${slow.port}\n`,
    { waitPorts: [port] },
  );
  const pending = get(port, '/');
  await new Promise((r) => setTimeout(r, 100));
  const stopped = proxy.stop('SIGTERM');
  const res = await pending;
  t.equal(res.status, 200);
  t.equal(res.body, 'late but complete\n');
  t.equal((await stopped).code, 0);
});

// The stop signals as HAProxy users read them (README "Signals"): SIGTERM is fast, SIGUSR1
// soft; both close idle keep-alive connections at once.
const stopConfig = (port: number, originPort: number, global = '') =>
  `global\n${global}\ndefaults\n    mode http\n    timeout connect 1s\n    timeout server 10s\n    timeout http-keep-alive 30s\n` +
  `listen www\n    bind 127.0.0.1:${port}\n    server o 127.0.0.1:${originPort}\n`;

const slowOrigin = (t: Parameters<typeof startOrigin>[0]['t']) =>
  startOrigin({ name: 'o', t, handler: (req, res) => setTimeout(() => res.end('done\n'), req.url === '/idle' ? 0 : 2600) });

t.test('SIGTERM: an idle keep-alive client is closed at once, a request past the grace is cut, exit 0', async (t) => {
  const origin = await slowOrigin(t);
  const port = await freePort();
  const proxy = await startProxy(t, stopConfig(port, origin.port), { waitPorts: [port] });
  const idle = await keepAliveConnection(port);
  t.equal((await idle.send('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);
  const long = get(port, '/long', undefined, { timeout: 8000 }).catch((e: Error) => e);
  while (origin.requests.length < 2) await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  const stopped = proxy.stop('SIGTERM');
  t.ok(await idle.waitClose(1000), 'the idle keep-alive connection closed at once');
  t.same(await stopped, { code: 0, signal: null }, 'exit status 0');
  const took = Date.now() - started;
  t.ok(took >= 1500 && took < 2600, `stopped after the 2 s grace, before the request would end (${took}ms)`);
  t.ok((await long) instanceof Error, 'the request past the grace was cut');
});

t.test('SIGUSR1: an idle keep-alive client is closed at once, a request past the SIGTERM grace still finishes', async (t) => {
  const origin = await slowOrigin(t);
  const port = await freePort();
  const proxy = await startProxy(t, stopConfig(port, origin.port), { waitPorts: [port] });
  const idle = await keepAliveConnection(port);
  t.equal((await idle.send('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);
  const long = get(port, '/long', undefined, { timeout: 8000 });
  while (origin.requests.length < 2) await new Promise((r) => setTimeout(r, 20));
  proxy.signal('SIGUSR1');
  t.ok(await idle.waitClose(1000), 'the idle keep-alive connection closed at once');
  t.match(await long, { status: 200, body: 'done\n' }, 'the request finished');
  t.same(await proxy.exited, { code: 0, signal: null }, 'exit status 0');
});

t.test('hard-stop-after bounds SIGUSR1', async (t) => {
  const origin = await slowOrigin(t);
  const port = await freePort();
  const proxy = await startProxy(t, stopConfig(port, origin.port, '    hard-stop-after 300ms'), { waitPorts: [port] });
  const long = get(port, '/long', undefined, { timeout: 8000 }).catch((e: Error) => e);
  while (origin.requests.length < 1) await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  proxy.signal('SIGUSR1');
  t.same(await proxy.exited, { code: 0, signal: null }, 'exit status 0');
  const took = Date.now() - started;
  t.ok(took >= 250 && took < 1500, `stopped at hard-stop-after (${took}ms)`);
  t.ok((await long) instanceof Error, 'the request was cut');
  // 'exit' may come before the last of stderr has been read.
  for (let i = 0; i < 50 && !proxy.stderr().includes('soft-stop running for too long'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(proxy.stderr(), /soft-stop running for too long \(hard-stop-after 300ms\): closing 1 connection/, 'limpet says why it cut');
});

t.test('SIGTERM during a SIGUSR1 soft stop cuts what is in flight after the fast grace', async (t) => {
  const origin = await startOrigin({ name: 'o', t, handler: (_req, res) => setTimeout(() => res.end('done\n'), 6000) });
  const port = await freePort();
  const proxy = await startProxy(t, stopConfig(port, origin.port), { waitPorts: [port] });
  const long = get(port, '/long', undefined, { timeout: 8000 }).catch((e: Error) => e);
  while (origin.requests.length < 1) await new Promise((r) => setTimeout(r, 20));
  proxy.signal('SIGUSR1');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await Promise.race([proxy.exited.then(() => 'exited'), Promise.resolve('running')]), 'running', 'the soft stop waits');
  const started = Date.now();
  proxy.signal('SIGTERM');
  t.same(await proxy.exited, { code: 0, signal: null }, 'exit status 0');
  const took = Date.now() - started;
  t.ok(took >= 1500 && took < 3500, `cut about 2 s after SIGTERM (${took}ms)`);
  t.ok((await long) instanceof Error, 'the request was cut');
});
