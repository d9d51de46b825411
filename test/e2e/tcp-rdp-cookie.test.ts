// RDP farms through the built CLI: `balance rdp-cookie` with `tcp-request inspect-delay` and
// `tcp-request content accept if RDP_COOKIE` (the cookie may arrive in pieces), `persist
// rdp-cookie` on a broker's msts cookie, and the unsupported tcp-request forms refused at
// configuration time with file:line.
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { runCli, writeTempConfig } from '../helpers/proxy-process.js';
import { encodeMstsCookie } from '../../lib/tcp/rdp-cookie.js';
import { connectTcp, rdpConnectionRequest, receiveAll, sleep, startTcpOrigin, startTcpProxy } from '../tcp/tcp-test-helpers.js';

/** Three RDP "servers" that answer with their name and record what they received. */
async function farm(t: Parameters<typeof startTcpOrigin>[0]) {
  const received = new Map<string, Buffer[]>();
  const servers = [];
  for (const name of ['ts1', 'ts2', 'ts3']) {
    received.set(name, []);
    servers.push({
      name,
      origin: await startTcpOrigin(t, (s) => {
        const got: Buffer[] = [];
        s.on('data', (c: Buffer) => got.push(c));
        s.on('end', () => {
          received.get(name)!.push(Buffer.concat(got));
          s.end(name);
        });
      }),
    });
  }
  return { servers, received };
}

const config = (port: number, servers: Array<{ name: string; origin: { port: number } }>, extra: string) => `
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen rdp
    bind 127.0.0.1:${port}
    tcp-request inspect-delay 2s
    tcp-request content accept if RDP_COOKIE
${extra}
${servers.map((s) => `    server ${s.name} 127.0.0.1:${s.origin.port}`).join('\n')}
`;

/** Sends `bytes` in two pieces 100 ms apart and returns the server's answer. */
async function connectWith(port: number, bytes: Buffer): Promise<string> {
  const c = await connectTcp(port);
  const r = receiveAll(c, 8000, true);
  const cut = Math.floor(bytes.length / 2);
  c.write(bytes.subarray(0, cut));
  await sleep(100);
  c.end(bytes.subarray(cut));
  return (await r).data.toString();
}

t.test('balance rdp-cookie: a user always reaches the same server, even with the request split', async (t) => {
  const { servers, received } = await farm(t);
  const port = await freePort();
  await startTcpProxy(t, config(port, servers, '    balance rdp-cookie'), [port]);
  const chosen = new Map<string, string>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const req = rdpConnectionRequest(`Cookie: mstshash=${user}\r\n`);
    const first = await connectWith(port, req);
    const second = await connectWith(port, req);
    t.equal(second, first, `${user} twice on ${first}`);
    chosen.set(user, first);
  }
  t.ok(new Set(chosen.values()).size >= 2, `users spread over the farm: ${JSON.stringify([...chosen])}`);
  const all = [...received.values()].flat();
  t.ok(all.every((b) => b[0] === 0x03 && b.includes(Buffer.from('Cookie: mstshash='))), 'servers got the connection requests unchanged');
});

t.test('persist rdp-cookie routes on the msts cookie to the server it names', async (t) => {
  const { servers } = await farm(t);
  const port = await freePort();
  await startTcpProxy(t, config(port, servers, '    balance roundrobin\n    persist rdp-cookie'), [port]);
  const ts2 = servers[1]!;
  const req = rdpConnectionRequest(`Cookie: msts=${encodeMstsCookie('127.0.0.1', ts2.origin.port)}\r\n`);
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) answers.push(await connectWith(port, req));
  t.same(answers, ['ts2', 'ts2', 'ts2', 'ts2'], 'every connection on ts2 despite round robin');
  // An msts cookie naming no server of the farm falls back to balancing.
  const stray = rdpConnectionRequest(`Cookie: msts=${encodeMstsCookie('10.9.9.9', 3389)}\r\n`);
  const fallback = new Set<string>();
  for (let i = 0; i < 3; i++) fallback.add(await connectWith(port, stray));
  t.equal(fallback.size, 3, 'round robin for an unknown msts');
});

t.test('bytes that cannot be an RDP request are forwarded without waiting for inspect-delay', async (t) => {
  const { servers } = await farm(t);
  const port = await freePort();
  await startTcpProxy(t, config(port, servers, '    balance rdp-cookie'), [port]);
  const c = await connectTcp(port);
  const started = Date.now();
  const r = receiveAll(c, 5000, true);
  c.write('SSH-2.0-client\r\n');
  // The server answers only after our FIN; the FIN goes out once the bytes are forwarded.
  await sleep(50);
  c.end();
  const got = await r;
  t.match(got.data.toString(), /^ts\d$/);
  t.ok(Date.now() - started < 1500, `answered in ${Date.now() - started} ms, well before the 2 s delay`);
});

t.test('unsupported tcp-request rules and persist methods are config errors with file:line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['tcp-request content reject', /limpet\.cfg:4\] : 'tcp-request content' : unsupported rule/],
    ['tcp-request content accept if { req.len gt 0 }', /limpet\.cfg:4\] : 'tcp-request content' : unsupported rule/],
    ['persist rdp-cookie()', /limpet\.cfg:4\] : 'persist'/],
    ['persist magic', /limpet\.cfg:4\] : 'persist'/],
  ];
  for (const [line, want] of cases) {
    const path = writeTempConfig(t, `defaults\n    mode tcp\nlisten x\n    ${line}\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n`);
    const r = await runCli(['-c', '-f', path]);
    t.not(r.code, 0, `${line}: refused`);
    t.match(r.stdout + r.stderr, want, `${line}: names the line and keyword`);
  }
});
