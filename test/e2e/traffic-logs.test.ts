// Traffic logs from the built CLI: httplog and tcplog lines on stdout (format raw) and as
// RFC 3164 datagrams to a UDP syslog receiver, with cookie flags, termination states,
// <NOSRV>/<BADREQ>, dontlognull and log-format.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get, rawRequest } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { stopChild } from '../helpers/child-process.js';
import { waitFor } from '../helpers/wait-for.js';

// Readiness probes of startProxy connect and close without a request: those lines are left out.
const lines = (text: string) => text.split('\n').filter((l) => l.length > 0 && !l.startsWith('[') && !/ (CR--|0 --) /.test(l));
const DATE = '\\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\]';
const PORT = '\\d+';
const T = '-?\\d+';

t.test('httplog and tcplog lines, on stdout and UDP syslog', async (t) => {
  const origin = await startOrigin({ name: 'o1', t });
  const [httpPort, tcpPort, udpPort, deadPort, nullPort] = await freePorts(5);
  const udp = dgram.createSocket('udp4');
  const datagrams: string[] = [];
  udp.on('message', (m) => datagrams.push(m.toString('utf8')));
  await new Promise<void>((r) => udp.bind(udpPort, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());

  const proxy = await startProxy(t, `
global
    log stdout format raw local0
    log 127.0.0.1:${udpPort} local1 info
defaults
    mode http
    log global
    option httplog
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    retries 1
frontend www
    bind 127.0.0.1:${httpPort}
    default_backend farm
backend farm
    cookie SRV insert
    server s1 127.0.0.1:${origin.port} cookie a
    server dead 127.0.0.1:${deadPort} cookie d
listen raw
    mode tcp
    option tcplog
    bind 127.0.0.1:${tcpPort}
    server s1 127.0.0.1:${origin.port}
frontend quiet
    bind 127.0.0.1:${nullPort}
    option dontlognull
    log-format "%ci %ft %ST %{+Q}r"
    default_backend one
backend one
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [httpPort, tcpPort, nullPort] });

  // The readiness probes (one per port) are logged when they close (the dontlognull one is
  // not): wait for them, so the connection counts below are exact.
  await waitFor('the probes to close', () => proxy.stdout().split('\n').filter((l) => / (CR--|0 --) /.test(l)).length >= 2);
  await new Promise((r) => setTimeout(r, 200));
  // actconn (the first count) is process-wide: the dontlognull frontend's probe may still be
  // open, so only the frontend's, backend's and server's counts are exact below.
  // 1. no cookie: balanced to s1 (first in round robin), cookie inserted: --NI
  const first = await get(httpPort, '/a?x=1');
  t.equal(first.status, 200);
  // 2. a valid cookie for s1: --VN
  t.equal((await get(httpPort, '/b', { Cookie: 'SRV=a' })).status, 200);
  // 3. a cookie for the dead server: connection refused, retried once, 503 SC
  t.equal((await get(httpPort, '/c', { Cookie: 'SRV=d' })).status, 503);
  // 4. a request line llhttp rejects: 400, <BADREQ>, PR
  const bad = await rawRequest(httpPort, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  t.equal(bad.status, 400);
  // 5. a TCP connection through `listen raw`
  const tcp = await rawRequest(tcpPort, 'GET /tcp HTTP/1.0\r\n\r\n', { waitClose: true });
  t.equal(tcp.status, 200);
  // 6. a connection that sends nothing, on the dontlognull frontend: no line
  await new Promise<void>((resolve) => {
    const s = net.connect(nullPort, '127.0.0.1', () => s.end());
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  // 7. and a real request there, with its log-format
  t.equal((await get(nullPort, '/q')).status, 200);

  await waitFor('6 log lines on stdout', () => lines(proxy.stdout()).length >= 6);
  await waitFor('6 datagrams', () => datagrams.filter((d) => !/ (CR--|0 --) /.test(d)).length >= 6);
  const out = lines(proxy.stdout());
  // feconn is exact for the first request; for the next ones the previous client connection
  // may still be open at the proxy (its close races the next connect), so 1 or 2.
  const want = [
    new RegExp(`^127\\.0\\.0\\.1:${PORT} ${DATE} www farm/s1 ${T}/0/${T}/${T}/${T} 200 \\d+ - - --NI \\d+/1/0/0/0 0/0 "GET /a\\?x=1 HTTP/1\\.1"$`),
    new RegExp(`^127\\.0\\.0\\.1:${PORT} ${DATE} www farm/s1 ${T}/0/${T}/${T}/${T} 200 \\d+ - - --VN \\d+/[12]/0/0/0 0/0 "GET /b HTTP/1\\.1"$`),
    new RegExp(`^127\\.0\\.0\\.1:${PORT} ${DATE} www farm/dead ${T}/0/-1/-1/${T} 503 \\d+ - - SCVN \\d+/[12]/0/0/1 0/0 "GET /c HTTP/1\\.1"$`),
    new RegExp(`^127\\.0\\.0\\.1:${PORT} ${DATE} www www/<NOSRV> -1/-1/-1/-1/${T} 400 \\d+ - - PR-- \\d+/[12]/0/0/0 0/0 "<BADREQ>"$`),
    new RegExp(`^127\\.0\\.0\\.1:${PORT} ${DATE} raw raw/s1 0/${T}/${T} \\d+ -- \\d+/1/0/0/0 0/0$`),
    /^127\.0\.0\.1 quiet 200 "GET \/q HTTP\/1\.1"$/,
  ];
  for (const re of want) t.ok(out.some((l) => re.test(l)), `a stdout line matches ${re}`, { lines: out });
  t.notOk(out.some((l) => / quiet 400 /.test(l)), 'dontlognull: the empty connection is not logged');
  // The same lines reach syslog, framed as RFC 3164 with local1.info = <142>.
  const frame = new RegExp(`^<142>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d limpet\\[${proxy.pid}\\]: `);
  t.ok(datagrams.every((d) => frame.test(d)), 'every datagram has the RFC 3164 header', { datagrams });
  const bodies = datagrams.map((d) => d.replace(frame, ''));
  for (const re of want) t.ok(bodies.some((l) => re.test(l)), `a datagram matches ${re}`);
  // Bytes: the 200's %B is exactly what the client received.
  const m = /--NI \S+ \S+ "GET \/a/.exec(out.join('\n'));
  t.ok(m);
  const bytes = Number(/ 200 (\d+) - - --NI/.exec(out.join('\n'))![1]);
  const expected = Buffer.byteLength(first.body) + first.headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  t.ok(bytes >= expected, `%B (${bytes}) covers the response the client saw (${expected}+ bytes)`);
});

t.test('a log-format error is a config error with file:line', async (t) => {
  const { runCli } = await import('../helpers/proxy-process.js');
  const { writeTempConfig } = await import('../helpers/proxy-process.js');
  const path = writeTempConfig(t, 'frontend f\n  bind 127.0.0.1:1\n  log-format "%ci %bogus"\n');
  const r = await runCli(['-c', '-f', path]);
  t.equal(r.code, 1);
  t.match(r.stderr, /limpet\.cfg:3.*unknown log-format variable '%bogus'/);
});

t.test('server DOWN/UP lines and log-health-checks go to the backend\'s log targets', async (t) => {
  const origin = await startOrigin({ name: 'o1', t });
  const [fePort, flapPort] = await freePorts(2);
  const proxy = await startProxy(t, `
global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${fePort}
    default_backend farm
backend farm
    option log-health-checks
    server s1 127.0.0.1:${origin.port} check inter 100ms rise 1 fall 1
    server s2 127.0.0.1:${flapPort} check inter 100ms rise 1 fall 1
`, { waitPorts: [fePort] });
  await waitFor('s2 DOWN', () => /Server farm\/s2 is DOWN/.test(proxy.stdout()));
  // Bring s2 up: a listener on its port.
  const flap = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => flap.listen(flapPort, '127.0.0.1', () => r()));
  t.teardown(() => flap.close());
  await waitFor('s2 UP', () => /Server farm\/s2 is UP/.test(proxy.stdout()));
  const out = proxy.stdout();
  t.match(out, /^Server farm\/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$/m);
  t.match(out, /^Health check for server farm\/s2 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms, status: 0\/1 DOWN\.$/m);
  t.match(out, /^Server farm\/s2 is UP, reason: Layer4 check passed, check duration: \d+ms\. 2 active and 0 backup servers online\./m);
  t.match(out, /^Health check for server farm\/s2 succeeded, reason: Layer4 check passed, check duration: \d+ms, status: 1\/1 UP\.$/m);
});

// Node cannot open a unix datagram socket, not even to receive: python3 plays syslog here.
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(s.recv(65536).decode("utf-8", "replace"), flush=True)
`;

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

t.test('a unix datagram log target (/dev/log style) receives HAProxy-framed lines through logger(1)', async (t) => {
  if (!hasCommand('python3') || !hasCommand('logger')) {
    console.error('### SKIPPED: the unix datagram log test needs python3 (the receiver) and logger(1) (util-linux) ###');
    t.plan(0, 'python3 or logger missing');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'limpet-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'log.sock');
  const receiver = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void stopChild(receiver));
  let received = '';
  receiver.stdout!.setEncoding('utf8').on('data', (d: string) => (received += d));
  await waitFor('the receiver', () => received.includes('ready'));
  const [port] = await freePorts(1);
  const origin = await startOrigin({ name: 'o1', t });
  const proxy = await startProxy(t, `
global
    log ${sock} local0 info
    log unix@${path.join(dir, 'missing.sock')} local1
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen www
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [port] });
  t.equal((await get(port, '/via-unix-log')).status, 200, 'a target that is not listening costs the client nothing');
  await waitFor('the httplog line', () => received.includes('/via-unix-log'));
  const line = received.split('\n').find((l) => l.includes('/via-unix-log'))!;
  // local0.info = 16 * 8 + 6; RFC 3164 as logger(1) frames it: stamp, host, tag[pid].
  t.match(line, new RegExp(`^<134>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ limpet\\[\\d+\\]: 127\\.0\\.0\\.1:${PORT} ${DATE} www www/s1 ${T}/${T}/${T}/${T}/${T} 200 \\d+ - - ---- \\d+/\\d+/0/0/0 0/0 "GET /via-unix-log HTTP/1\\.1"$`));
  t.notMatch(proxy.stderr(), /unix datagram sockets are not supported/);
});

t.test('behind accept-proxy, httplog names the client the PROXY header gave, not the socket peer', async (t) => {
  const [port] = await freePorts(1);
  const origin = await startOrigin({ name: 'o1', t });
  const proxy = await startProxy(t, `
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen www
    bind 127.0.0.1:${port} accept-proxy
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [port] });
  const answer = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () =>
      c.write('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\nGET /proxied HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let got = '';
    c.setEncoding('utf8').on('data', (d: string) => (got += d));
    c.on('end', () => resolve(got));
    c.on('error', reject);
    c.setTimeout(5000, () => reject(new Error('no answer')));
  });
  t.match(answer, /^HTTP\/1\.1 200 /);
  await waitFor('the log line', () => proxy.stdout().includes('/proxied'));
  const line = proxy.stdout().split('\n').find((l) => l.includes('/proxied'))!;
  t.match(line, new RegExp(`^203\\.0\\.113\\.7:5555 ${DATE} www www/s1 `), 'client address and port from the PROXY header');
});
