// Key extraction through the real proxy, side by side with HAProxy (skipped when `haproxy` is
// not installed): the same configuration and the same requests, sent to both, must reach the
// same origin for `balance uri` (whole, len, depth, path-only), `url_param`, `hdr`
// (use_domain_only), `source`, and `hash` expressions (with converters), map-based and consistent.
import { request as httpRequest } from 'node:http';
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { haveHaproxy, startHaproxy } from '../balance/haproxy-harness.js';

const config = (port: number, origins: Origin[], balance: string) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    ${balance}
${origins.map((o, i) => `    server ${o.name} 127.0.0.1:${o.port} weight ${i + 1}`).join('\n')}
`;

interface Req {
  path: string;
  headers?: Record<string, string>;
  /** a loopback source address (127.0.0.0/8), for `balance source` */
  from?: string;
}

/** The origin that answered, from its body. */
const send = (port: number, r: Req): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: r.path, headers: { connection: 'close', ...r.headers }, localAddress: r.from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (d: string) => (body += d)).on('end', () => resolve(`${res.statusCode} ${/server (\S+)/.exec(body)?.[1] ?? body}`));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });

const paths = Array.from({ length: 40 }, (_, i) => `/app/v${i % 7}/item-${i}/detail?id=${i * 31}&user=u${i % 11}&x=${i}`);
const cases: Array<{ balance: string; reqs: Req[] }> = [
  { balance: 'balance uri', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance uri whole\n    hash-type consistent', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance uri len 12', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance uri depth 2\n    hash-type map-based djb2', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance uri path-only', reqs: paths.map((path) => ({ path: `http://example.com${path}`, headers: { host: 'example.com' } })) },
  { balance: 'balance url_param user', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance url_param user\n    hash-type consistent wt6', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance hdr(X-Tenant)', reqs: paths.map((path, i) => ({ path, headers: { 'x-tenant': `tenant-${i}` } })) },
  {
    balance: 'balance hdr(host) use_domain_only',
    reqs: paths.map((path, i) => ({ path, headers: { host: i % 2 ? `www${i % 3}.site${i}.com` : `site${i}.org:8080` } })),
  },
  { balance: 'balance source', reqs: paths.map((path, i) => ({ path, from: `127.0.${i % 5}.${i + 1}` })) },
  { balance: 'balance source\n    hash-type consistent', reqs: paths.map((path, i) => ({ path, from: `127.0.${i % 5}.${i + 1}` })) },
  { balance: 'balance hash req.cook(SID)', reqs: paths.map((path, i) => ({ path, headers: { cookie: `a=b; SID=session${i * 7}` } })) },
  { balance: 'balance hash path\n    hash-type consistent crc32', reqs: paths.map((path) => ({ path })) },
  { balance: 'balance hash src', reqs: paths.map((path, i) => ({ path, from: `127.0.${i % 5}.${i + 1}` })) },
  // converters (the ACL engine's): strings, chained, and an integer result (hashed as HAProxy casts it)
  { balance: 'balance hash req.hdr(host),lower', reqs: paths.map((path, i) => ({ path, headers: { host: i % 2 ? `Site${i % 13}.Example.COM` : `site${i % 13}.example.com` } })) },
  { balance: 'balance hash req.hdr(X-Tenant),field(2,-),upper\n    hash-type consistent', reqs: paths.map((path, i) => ({ path, headers: { 'x-tenant': `t-acct${i}-eu` } })) },
  { balance: 'balance hash req.hdr(X-Tenant),length', reqs: paths.map((path, i) => ({ path, headers: { 'x-tenant': 'x'.repeat(i + 1) } })) },
];

t.test('the same server as HAProxy for the same request', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
  const only = process.env.ONLY;
  const origins = await Promise.all(['o1', 'o2', 'o3', 'o4'].map((name) => startOrigin({ name, t })));
  for (const c of cases.filter((c) => !only || c.balance.includes(only))) {
    await t.test(c.balance.replace(/\n\s+/g, ', '), async (t) => {
      const [hp, lp] = await freePorts(2);
      // Both start at once and each request goes to both at once (this keeps the file fast on a
      // loaded machine); requests stay in order, since a request without the key is balanced
      // round robin.
      await Promise.all([startHaproxy(t, config(hp!, origins, c.balance), hp!), startProxy(t, config(lp!, origins, c.balance), { waitPorts: [lp!] })]);
      const differ: string[] = [];
      const seen = new Set<string>();
      for (const r of c.reqs) {
        const [theirs, ours] = await Promise.all([send(hp!, r), send(lp!, r)]);
        seen.add(ours);
        if (theirs !== ours) differ.push(`${r.path} ${JSON.stringify(r.headers ?? {})} ${r.from ?? ''}: haproxy ${theirs}, limpet ${ours}`);
      }
      t.same(differ, [], `${c.reqs.length} requests on the same servers`);
      t.ok(seen.size > 1, `the key spreads requests (${[...seen].join(', ')})`);
    });
  }
});
