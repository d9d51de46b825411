// The PROXY protocol through the built CLI: `bind ... accept-proxy` (v1 and v2, detected),
// the original address carried on by `send-proxy`/`send-proxy-v2`, into X-Forwarded-For in
// HTTP mode and into `balance source`; bad or missing headers close the connection with
// nothing forwarded; health checks send a header with send-proxy-v2 and check-send-proxy.
import t from 'tap';
import { freePort, freePorts } from '../helpers/free-port.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { proxyHeaderV2, type ProxiedAddresses } from '../../lib/tcp/proxy-protocol.js';
import { connectTcp, receiveAll, sleep, startTcpOrigin, startTcpProxy } from '../tcp/tcp-test-helpers.js';

const original: ProxiedAddresses = { family: 'tcp4', srcAddress: '203.0.113.9', srcPort: 4242, dstAddress: '198.51.100.1', dstPort: 80 };
const v1Line = 'PROXY TCP4 203.0.113.9 198.51.100.1 4242 80\r\n';

/** An origin that records each connection's bytes and answers `ok` after the client's FIN. */
async function recordingOrigin(t: Parameters<typeof startTcpOrigin>[0]) {
  const seen: Buffer[] = [];
  const origin = await startTcpOrigin(t, (s, i) => {
    seen[i] = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (seen[i] = Buffer.concat([seen[i]!, c])));
    s.on('end', () => s.end('ok'));
  });
  return { origin, seen };
}

const tcpConfig = (port: number, bindOpts: string, server: string, extra = '') => `
defaults
    mode tcp
    timeout connect 500ms
    timeout client 2s
    timeout server 5s
listen l4
    bind 127.0.0.1:${port} ${bindOpts}
${extra}
    ${server}
`;

t.test('v1 in, send-proxy out: the server reads the original addresses, then the payload', async (t) => {
  const { origin, seen } = await recordingOrigin(t);
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, 'accept-proxy', `server o1 127.0.0.1:${origin.port} send-proxy`), [port]);
  const c = await connectTcp(port);
  const r = receiveAll(c, 5000, true);
  // The header arrives in pieces, the payload in the same segment as its end.
  c.write(v1Line.slice(0, 10));
  await sleep(30);
  c.write(v1Line.slice(10, 30));
  await sleep(30);
  c.end(v1Line.slice(30) + 'hello');
  t.equal((await r).data.toString(), 'ok');
  t.equal(seen[0]?.toString(), v1Line + 'hello');
});

t.test('v2 in, send-proxy-v2 out', async (t) => {
  const { origin, seen } = await recordingOrigin(t);
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, 'accept-proxy', `server o1 127.0.0.1:${origin.port} send-proxy-v2`), [port]);
  const c = await connectTcp(port);
  const r = receiveAll(c, 5000, true);
  c.end(Buffer.concat([proxyHeaderV2(original), Buffer.from('payload')]));
  t.equal((await r).data.toString(), 'ok');
  t.equal(seen[0]?.toString('hex'), Buffer.concat([proxyHeaderV2(original), Buffer.from('payload')]).toString('hex'));
});

t.test('v2 in, v1 out; and send-proxy without accept-proxy carries the socket addresses', async (t) => {
  const { origin, seen } = await recordingOrigin(t);
  const [p1, p2] = await freePorts(2);
  await startTcpProxy(
    t,
    `${tcpConfig(p1!, 'accept-proxy', `server o1 127.0.0.1:${origin.port} send-proxy`)}
listen plain
    bind 127.0.0.1:${p2}
    server o1 127.0.0.1:${origin.port} send-proxy
`,
    [p1!, p2!],
  );
  const c = await connectTcp(p1!);
  const r = receiveAll(c, 5000, true);
  c.end(Buffer.concat([proxyHeaderV2(original), Buffer.from('x')]));
  await r;
  t.equal(seen[0]?.toString(), v1Line + 'x');
  const d = await connectTcp(p2!);
  const localPort = d.localPort;
  const r2 = receiveAll(d, 5000, true);
  d.end('y');
  await r2;
  t.equal(seen[1]?.toString(), `PROXY TCP4 127.0.0.1 127.0.0.1 ${localPort} ${p2}\r\ny`);
});

t.test('a bad or missing PROXY header closes the connection, nothing forwarded', async (t) => {
  const { origin } = await recordingOrigin(t);
  const port = await freePort();
  await startTcpProxy(t, tcpConfig(port, 'accept-proxy', `server o1 127.0.0.1:${origin.port}`), [port]);
  const bad = [
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'PROXY TCP4 203.0.113.9 198.51.100.1 4242\r\nhello',
    'PROXY TCP4 not.an.ip.addr 198.51.100.1 4242 80\r\nhello',
    '\r\n\r\n\0\r\nQUIT\n\x22\x11\0\x0c',
  ];
  for (const b of bad) {
    const c = await connectTcp(port);
    const r = receiveAll(c, 5000, true);
    c.write(b);
    const got = await r;
    t.equal(got.data.length, 0, `nothing answered to ${JSON.stringify(b)}`);
  }
  // Silence until timeout client (2s): closed as well.
  const started = Date.now();
  const silent = await connectTcp(port);
  const got = await receiveAll(silent, 5000, true);
  t.equal(got.data.length, 0);
  t.ok(Date.now() - started >= 1500, 'closed at timeout client');
  t.equal(origin.accepted, 0, 'no server connection was ever opened');
});

t.test('HTTP mode: accept-proxy feeds X-Forwarded-For', async (t) => {
  const origin = await startOrigin({ name: 'web', t });
  const port = await freePort();
  await startProxy(
    t,
    `
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:${port} accept-proxy
    option forwardfor
    default_backend web
backend web
    server web1 127.0.0.1:${origin.port}
`,
    { extraArgs: ['-d'] },
  );
  for (let i = 0; i < 200 && !(await isListening(port)); i++) await sleep(25);
  const c = await connectTcp(port);
  const r = receiveAll(c, 5000, true);
  c.write(v1Line + 'GET /who HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n');
  const res = (await r).data.toString();
  t.match(res, /^HTTP\/1\.1 200/);
  const req = origin.requests.find((q) => q.url === '/who');
  const h = req?.headers ?? [];
  const values = h.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'x-forwarded-for' ? [h[i + 1]] : []));
  t.same(values, ['203.0.113.9'], `origin saw ${JSON.stringify(h)}`);
});

t.test('balance source hashes the PROXY address, not the connecting socket', async (t) => {
  const names: string[] = [];
  const mk = (name: string) => startTcpOrigin(t, (s) => s.end(name));
  const a = await mk('A');
  const b = await mk('B');
  const port = await freePort();
  await startTcpProxy(
    t,
    tcpConfig(port, 'accept-proxy', `server a 127.0.0.1:${a.port}\n    server b 127.0.0.1:${b.port}`, '    balance source'),
    [port],
  );
  const ask = async (ip: string) => {
    const c = await connectTcp(port);
    const r = receiveAll(c, 5000, true);
    c.write(`PROXY TCP4 ${ip} 198.51.100.1 1000 80\r\n`);
    return (await r).data.toString();
  };
  const byIp = new Map<string, string>();
  for (let i = 1; i <= 16; i++) {
    const ip = `192.0.2.${i * 7}`;
    const first = await ask(ip);
    const again = await ask(ip);
    t.equal(again, first, `${ip} maps to the same server twice`);
    byIp.set(ip, first);
    names.push(first);
  }
  t.same(new Set(names).size, 2, `16 client addresses spread over both servers: ${JSON.stringify([...byIp])}`);
});

t.test('health checks send a PROXY header: v2 LOCAL with send-proxy-v2, v1 UNKNOWN with check-send-proxy', async (t) => {
  const firstBytes: Buffer[][] = [[], []];
  const mk = (k: number) =>
    startTcpOrigin(t, (s) => {
      s.once('data', (c: Buffer) => firstBytes[k]!.push(c));
    });
  const v2 = await mk(0);
  const v1 = await mk(1);
  const port = await freePort();
  await startTcpProxy(
    t,
    tcpConfig(port, '', `server a 127.0.0.1:${v2.port} send-proxy-v2 check inter 100ms\n    server b 127.0.0.1:${v1.port} check-send-proxy check inter 100ms`),
    [port],
  );
  for (let i = 0; i < 100 && (firstBytes[0]!.length === 0 || firstBytes[1]!.length === 0); i++) await sleep(20);
  t.equal(firstBytes[0]![0]?.toString('hex'), proxyHeaderV2(undefined).toString('hex'), 'v2 LOCAL');
  t.equal(firstBytes[1]![0]?.toString(), 'PROXY UNKNOWN\r\n');
});

async function isListening(port: number): Promise<boolean> {
  try {
    const c = await connectTcp(port);
    c.destroy();
    return true;
  } catch {
    return false;
  }
}

t.test('option tcplog logs the PROXY address, not the connecting socket', async (t) => {
  const { origin } = await recordingOrigin(t);
  const port = await freePort();
  const proxy = await startTcpProxy(
    t,
    `
defaults
    mode tcp
    log stdout format raw local0
    timeout connect 500ms
    timeout client 2s
    timeout server 5s
listen l4
    bind 127.0.0.1:${port} accept-proxy
    option tcplog
    server o1 127.0.0.1:${origin.port}
`,
    [port],
  );
  const c = await connectTcp(port);
  const r = receiveAll(c, 5000, true);
  c.end(v1Line + 'hello');
  await r;
  for (let i = 0; i < 100 && !proxy.stdout().includes('l4/o1'); i++) await sleep(20);
  const line = proxy.stdout().split('\n').find((l) => l.includes('l4/o1')) ?? '';
  t.match(line, /203\.0\.113\.9:4242 \[/, `the log line starts with the original client: ${line}`);
});

t.test('stick on src in TCP mode keys on the PROXY address', async (t) => {
  const mk = (name: string) => startTcpOrigin(t, (s) => s.end(name));
  const a = await mk('A');
  const b = await mk('B');
  const port = await freePort();
  await startTcpProxy(
    t,
    tcpConfig(
      port,
      'accept-proxy',
      `server a 127.0.0.1:${a.port}\n    server b 127.0.0.1:${b.port}`,
      '    balance roundrobin\n    stick-table type ip size 1k expire 1m\n    stick on src',
    ),
    [port],
  );
  const ask = async (ip: string) => {
    const c = await connectTcp(port);
    const r = receiveAll(c, 5000, true);
    c.write(`PROXY TCP4 ${ip} 198.51.100.1 1000 80\r\n`);
    return (await r).data.toString();
  };
  const first = await ask('192.0.2.1');
  const second = await ask('192.0.2.2');
  t.not(second, first, 'a new client address is balanced (round robin: the other server)');
  for (let i = 0; i < 3; i++) {
    t.equal(await ask('192.0.2.1'), first, '192.0.2.1 sticks');
    t.equal(await ask('192.0.2.2'), second, '192.0.2.2 sticks');
  }
});

t.test("a connection refused for its PROXY header gets HAProxy's connection error line; dontlognull drops the empty ones", async (t) => {
  const { origin } = await recordingOrigin(t);
  const [p1, p2, p3] = await freePorts(3);
  const proxy = await startTcpProxy(
    t,
    `
defaults
    log stdout format raw local0
    timeout connect 500ms
    timeout client 2s
    timeout server 5s
listen l4
    mode tcp
    bind 127.0.0.1:${p3}
    bind 127.0.0.1:${p1} accept-proxy
    option tcplog
    server o1 127.0.0.1:${origin.port}
listen quiet
    mode tcp
    bind 127.0.0.1:${p2} accept-proxy
    option tcplog
    option dontlognull
    server o1 127.0.0.1:${origin.port}
`,
    [p1!, p2!, p3!],
  );
  /** Connects, sends `bytes` (then FIN), waits for the close; returns the client's port. */
  const refused = async (port: number, bytes: string): Promise<number> => {
    const c = await connectTcp(port);
    const localPort = c.localPort!;
    const r = receiveAll(c, 5000, true);
    if (bytes) c.write(bytes);
    if (!bytes || bytes.startsWith('PROXY TCP4 1.2')) c.end();
    const got = await r;
    t.equal(got.data.length, 0, `nothing answered to ${JSON.stringify(bytes)}`);
    return localPort;
  };
  const cases: [string, string][] = [
    ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'Received something which does not look like a PROXY protocol header'],
    ['PROXY TCP4 203.0.113.9 198.51.100.1 4242\r\nhello', 'Received an invalid PROXY protocol header'],
    ['PROXY UDP4 203.0.113.9 198.51.100.1 4242 80\r\n', 'Received an unhandled protocol in the PROXY protocol header'],
    ['PROXY TCP4 1.2', 'Truncated PROXY protocol header received'],
    ['', 'Connection closed while waiting for PROXY protocol header'],
  ];
  // Two silent connections reach timeout client (2s) meanwhile: logged, except with dontlognull.
  const silentL4 = await connectTcp(p1!);
  const silentQuiet = await connectTcp(p2!);
  const timedOut = Promise.all([receiveAll(silentL4, 5000, true), receiveAll(silentQuiet, 5000, true)]);
  const expected: RegExp[] = [];
  const lineFor = (port: number, message: string) =>
    new RegExp(`^127\\.0\\.0\\.1:${port} \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] l4/2: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  expected.push(lineFor(silentL4.localPort!, 'Timeout while waiting for PROXY protocol header'));
  for (const [bytes, message] of cases) {
    // The accept-proxy bind is the section's second bind line: HAProxy names it l4/2.
    expected.push(lineFor(await refused(p1!, bytes), message));
  }
  // With dontlognull, a connection that sent nothing is not logged; a bad header still is.
  const silentPort = await refused(p2!, '');
  const badPort = await refused(p2!, 'HELLO\r\n');
  await timedOut;
  const lines = () => proxy.stdout().split('\n').filter((l) => l.length > 0);
  for (let i = 0; i < 100 && lines().length < cases.length + 2; i++) await sleep(20);
  await sleep(100);
  const out = lines();
  for (const re of expected) t.ok(out.some((l) => re.test(l)), `a line matches ${re}`, { out });
  t.ok(out.some((l) => l.startsWith(`127.0.0.1:${badPort} `) && l.endsWith('quiet/1: Received something which does not look like a PROXY protocol header')), 'quiet logs the bad header', { out });
  t.notOk(out.some((l) => l.startsWith(`127.0.0.1:${silentPort} `)), 'quiet does not log the empty connection', { out });
  t.notOk(out.some((l) => l.startsWith(`127.0.0.1:${silentQuiet.localPort} `)), 'nor the timed out one', { out });
  t.equal(out.length, cases.length + 2, 'one line per refused connection, no tcplog line', { out });
  t.equal(origin.accepted, 0, 'no server connection was opened');
});
