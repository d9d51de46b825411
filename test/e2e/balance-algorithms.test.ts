// Every algorithm through the built proxy on real sockets (no HAProxy needed): each request
// reaches the origin limpet's balancer computes for it, hash keys stick, a missing key falls
// back to round robin, and leastconn/first react to connections held open.
import { request as httpRequest } from 'node:http';
import t from 'tap';
import type { HashTypeConfig } from '../../lib/config/types.js';
import { makeFarm } from '../balance/farm.js';
import { freePort, freePorts } from '../helpers/free-port.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';

const config = (port: number, origins: Origin[], lines: string, serverOpts = (_i: number) => '') => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    ${lines}
${origins.map((o, i) => `    server ${o.name} 127.0.0.1:${o.port} weight ${i + 1} ${serverOpts(i)}`).join('\n')}
`;

const send = (port: number, path: string, headers: Record<string, string> = {}, from?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { connection: 'close', ...headers }, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (d: string) => (body += d)).on('end', () => resolve(/server (\S+)/.exec(body)?.[1] ?? `${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });

t.test('hash algorithms reach the server the balancer computes', async (t) => {
  const origins = await Promise.all(['o1', 'o2', 'o3'].map((name) => startOrigin({ name, t })));
  const specs = origins.map((o, i) => ({ name: o.name, weight: i + 1 }));
  const cases: Array<{ lines: string; algo: string; args: string[]; hashType?: HashTypeConfig; req: (i: number) => { path: string; headers?: Record<string, string>; from?: string } }> = [
    { lines: 'balance uri', algo: 'uri', args: [], req: (i) => ({ path: `/doc/${i}?v=${i % 3}` }) },
    { lines: 'balance uri whole\n    hash-type consistent', algo: 'uri', args: ['whole'], hashType: { lookup: 'consistent', fn: 'sdbm', avalanche: true }, req: (i) => ({ path: `/doc/${i % 4}?v=${i}` }) },
    { lines: 'balance url_param sid', algo: 'url_param', args: ['sid'], req: (i) => ({ path: `/x?a=1&sid=s${i}` }) },
    { lines: 'balance hdr(X-User)', algo: 'hdr', args: ['X-User'], req: (i) => ({ path: '/', headers: { 'x-user': `user${i}` } }) },
    { lines: 'balance source\n    hash-type consistent', algo: 'source', args: [], hashType: { lookup: 'consistent', fn: 'sdbm', avalanche: true }, req: (i) => ({ path: '/', from: `127.0.1.${i + 1}` }) },
    { lines: 'balance hash req.cook(SID)', algo: 'hash', args: ['req.cook(SID)'], req: (i) => ({ path: '/', headers: { cookie: `SID=k${i}` } }) },
  ];
  // One proxy per case, all started at once (proxy start-up dominates on a loaded machine).
  const ports = await freePorts(cases.length);
  await Promise.all(cases.map((c, i) => startProxy(t, config(ports[i]!, origins, c.lines), { waitPorts: [ports[i]!] })));
  for (const [ci, c] of cases.entries()) {
    const port = ports[ci]!;
    const farm = makeFarm(c.algo, c.args, specs, c.hashType);
    const wrong: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = c.req(i);
      const got = await send(port, r.path, r.headers, r.from);
      const want = farm.pick({ uri: r.path, header: (n) => r.headers?.[n], clientAddress: r.from })!.name;
      seen.add(got);
      if (got !== want) wrong.push(`${JSON.stringify(r)}: got ${got}, computed ${want}`);
      if (i % 10 === 0) t.equal(await send(port, r.path, r.headers, r.from), got, `${c.lines}: the same key again, the same server`);
    }
    t.same(wrong, [], `${c.lines.replace(/\n\s+/g, ', ')}: every request on its computed server`);
    t.ok(seen.size > 1, `${c.lines}: keys spread over servers`);
  }
});

t.test('a request without the hash key is balanced round robin', async (t) => {
  const origins = await Promise.all(['o1', 'o2'].map((name) => startOrigin({ name, t })));
  const port = await freePort();
  await startProxy(t, config(port, origins, 'balance url_param sid'), { waitPorts: [port] });
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await send(port, '/no-param'));
  t.same(seen, new Set(['o1', 'o2']));
});

t.test('static-rr, roundrobin and random follow the weights', async (t) => {
  const origins = await Promise.all(['o1', 'o2'].map((name) => startOrigin({ name, t })));
  for (const algo of ['static-rr', 'roundrobin', 'random']) {
    const port = await freePort();
    await startProxy(t, config(port, origins, `balance ${algo}`), { waitPorts: [port] });
    const counts: Record<string, number> = { o1: 0, o2: 0 };
    const n = algo === 'random' ? 150 : 30;
    for (let i = 0; i < n; i++) counts[await send(port, '/')]!++;
    if (algo === 'random') t.ok(counts.o2! > counts.o1!, `random: weight 2 gets more (${JSON.stringify(counts)})`);
    else t.same(counts, { o1: 10, o2: 20 }, `${algo}: 1:2`);
  }
});

t.test('leastconn and first react to connections held open', async (t) => {
  const slow = (name: string) =>
    startOrigin({ name, t, handler: (req, res) => setTimeout(() => res.end(`This is HTTP server ${name}\n`), req.url === '/slow' ? 500 : 0) });
  const origins = await Promise.all([slow('o1'), slow('o2')]);
  {
    const port = await freePort();
    await startProxy(t, config(port, origins, 'balance leastconn', () => 'weight 1'), { waitPorts: [port] });
    const held = send(port, '/slow');
    await new Promise((r) => setTimeout(r, 100));
    const busy = origins.find((o) => o.requests.some((r) => r.url === '/slow'))!.name;
    const next = [await send(port, '/'), await send(port, '/')];
    t.same(next, [busy === 'o1' ? 'o2' : 'o1', busy === 'o1' ? 'o2' : 'o1'], 'new requests go to the server without a connection');
    await held;
  }
  {
    const port = await freePort();
    await startProxy(t, config(port, origins, 'balance first', (i) => `id ${10 - i} maxconn 1`), { waitPorts: [port] });
    t.equal(await send(port, '/'), 'o2', 'the lowest id (o2 has id 9) first');
    const held = send(port, '/slow');
    await new Promise((r) => setTimeout(r, 100));
    t.equal(await send(port, '/'), 'o1', 'o2 at its maxconn: the next id');
    await held;
  }
});
