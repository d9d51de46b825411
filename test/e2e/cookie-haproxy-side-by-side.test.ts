// The same configuration run by HAProxy (skipped when `haproxy` is not installed) and by limpet,
// the same requests sent to both: the Set-Cookie and Cache-control headers must be identical,
// byte for byte, except that a freshly emitted date may differ by one 4-second quantum.
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { headerValues, request } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { decodeCookieDate, encodeCookieDate } from '../../lib/persist/cookie-date.js';
import { haveHaproxy, startHaproxy } from '../balance/haproxy-harness.js';

const config = (port: number, backend: string) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
${backend}
`;

interface Scenario {
  title: string;
  cookie: string;
  servers: (originPort: number) => string;
  /** Set-Cookie sent by the origin, if any */
  originSetCookie?: string;
  /** requests carry `path`: the origin answers /lm with Last-Modified, /ma with max-age, /404 ... */
  requests: Array<{ method?: string; cookie?: string; path?: string; note: string }>;
}

const now = () => Math.floor(Date.now() / 1000);
const DATE = /\|([A-Za-z0-9+/]{5})/g;

// Fresh dates may fall on either side of a quantum boundary between the two runs.
function normalise(values: string[]): string[] {
  return values.map((v) =>
    v.replace(DATE, (m, d: string) => {
      const s = decodeCookieDate(d);
      return s !== undefined && Math.abs(s - now()) <= 8 ? '|<now>' : m;
    }),
  );
}

const scenarios: Scenario[] = [
  {
    title: 'insert with every attribute option',
    cookie: 'cookie SRV insert indirect nocache httponly secure domain .example.com domain .example.org attr SameSite=Lax attr Partitioned',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    requests: [
      { note: 'no cookie, a plain response (not cacheable): no Cache-control' },
      { path: '/lm', note: 'Last-Modified makes it cacheable: Cache-control: private added' },
      { path: '/ma', note: 'max-age: private added' },
      { path: '/nostore', note: 'no-store: nothing added' },
      { path: '/302ma', note: 'a 302 is not cacheable by default' },
      { path: '/404ma', note: 'a 404 is' },
      { path: '/ma', method: 'POST', note: 'a POST response is not cacheable' },
      { cookie: 'SRV=s1', note: 'valid cookie: nothing inserted' },
      { cookie: 'SRV=zz', note: 'unknown server: a new cookie' },
      { cookie: 'SRV=', note: 'empty value: invalid, a new cookie' },
    ],
  },
  {
    title: 'maxidle and maxlife dates',
    cookie: 'cookie SRV insert indirect maxidle 30m maxlife 8h',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    requests: [
      { note: 'no cookie: value with last and first dates' },
      { cookie: `SRV=s1|${encodeCookieDate(now() - 120)}|${encodeCookieDate(now() - 3600)}`, note: 'seen 2 min ago: refreshed, first date kept' },
      { cookie: `SRV=s1|${encodeCookieDate(now() - 3 * 3600)}|${encodeCookieDate(now() - 4 * 3600)}`, note: 'idle 3 h (maxidle 30m): expired, a new cookie' },
      { cookie: `SRV=s1|${encodeCookieDate(now() - 60)}|${encodeCookieDate(now() - 9 * 3600)}`, note: 'first seen 9 h ago (maxlife 8h): too old' },
      { cookie: 'SRV=s1', note: 'a cookie without dates gets them' },
      { cookie: `SRV=s1|${encodeCookieDate(now() + 3 * 86400)}`, note: 'a date days in the future is not trusted' },
    ],
  },
  {
    title: 'maxidle only',
    cookie: 'cookie SRV insert maxidle 1h',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    requests: [
      { note: 'no cookie' },
      { cookie: `SRV=s1|${encodeCookieDate(now() - 300)}|${encodeCookieDate(now() - 600)}`, note: 'a first date maxlife does not want is dropped' },
    ],
  },
  {
    title: 'dynamic cookies',
    cookie: 'cookie SRV insert dynamic\n    dynamic-cookie-key s3cr3t',
    servers: (p) => `server s1 127.0.0.1:${p}`,
    requests: [{ note: 'the derived cookie' }],
  },
  {
    title: 'a server without a cookie value clears the client cookie',
    cookie: 'cookie SRV insert',
    servers: (p) => `server s1 127.0.0.1:${p}`,
    requests: [{ note: 'removal cookie' }, { cookie: 'SRV=old', note: 'removal cookie again' }],
  },
  {
    title: 'rewrite',
    cookie: 'cookie SRV rewrite',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    originSetCookie: 'SRV=app123; Path=/; HttpOnly',
    requests: [{ note: "the application's value replaced" }, { cookie: 'SRV=s1', note: 'replaced again' }],
  },
  {
    title: 'prefix',
    cookie: 'cookie SRV prefix',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    originSetCookie: 'SRV=app123; Path=/',
    requests: [{ note: 'server value prefixed' }, { cookie: 'SRV=s1~app123', note: 'prefixed again' }],
  },
  {
    title: 'insert with preserve: the application ends persistence',
    cookie: 'cookie SRV insert preserve',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    originSetCookie: 'SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT',
    requests: [{ note: "the application's cookie passed untouched" }],
  },
  {
    title: 'postonly',
    cookie: 'cookie SRV insert postonly',
    servers: (p) => `server s1 127.0.0.1:${p} cookie s1`,
    requests: [{ note: 'GET: nothing' }, { method: 'POST', note: 'POST: inserted' }],
  },
];

t.test('Set-Cookie byte for byte as HAProxy', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
  for (const sc of scenarios) {
    await t.test(sc.title, async (t) => {
      const origin = await startOrigin({
        name: 'o',
        t,
        handler: (req, res) => {
          if (sc.originSetCookie) res.setHeader('Set-Cookie', sc.originSetCookie);
          if (req.url === '/lm') res.setHeader('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT');
          if (req.url?.endsWith('ma')) res.setHeader('Cache-Control', 'max-age=60');
          if (req.url === '/nostore') res.setHeader('Cache-Control', 'no-store, max-age=60');
          if (req.url?.startsWith('/302')) res.statusCode = 302;
          if (req.url?.startsWith('/404')) res.statusCode = 404;
          res.setHeader('Content-Type', 'text/plain');
          res.end('ok\n');
        },
      });
      const [hp, lp] = await freePorts(2);
      const backend = `    ${sc.cookie}\n    ${sc.servers(origin.port)}`;
      await startHaproxy(t, config(hp!, backend), hp!);
      await startProxy(t, config(lp!, backend), { waitPorts: [lp!] });
      for (const r of sc.requests) {
        const send = (port: number) =>
          request(port, { method: r.method ?? 'GET', path: r.path ?? '/', headers: r.cookie ? { cookie: r.cookie } : {}, ...(r.method === 'POST' ? { body: 'x=1' } : {}) });
        const [theirs, ours] = [await send(hp!), await send(lp!)];
        t.equal(ours.status, theirs.status, `${r.note}: status`);
        t.same(normalise(headerValues(ours.headers, 'set-cookie')), normalise(headerValues(theirs.headers, 'set-cookie')), `${r.note}: Set-Cookie`);
        t.same(headerValues(ours.headers, 'cache-control'), headerValues(theirs.headers, 'cache-control'), `${r.note}: Cache-control`);
      }
    });
  }
});
