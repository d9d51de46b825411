// A HAProxy user's configuration that routes by host and path, redirects, denies and edits
// headers both ways, run through limpet over real sockets and, where HAProxy is installed,
// through HAProxy with the same file: both must answer every request the same way.
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { request, headerValues, sendSequentially, type SimpleResponse } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { echoHeader, echoOf, haveHaproxy, startEchoOrigin, startHaproxy } from '../rules/rules-test-kit.js';

const config = (port: number, api: number, stat: number, web: number) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend www
    bind 127.0.0.1:${port}
    acl host_api hdr(host) -i api.example.com
    acl host_shop hdr_dom(host) -i shop.example.com
    acl is_static path_beg /static/ /images/
    acl is_asset path_end .css .js
    acl is_admin path_beg /admin
    acl has_admin_token req.hdr(x-admin-token) -m str s3cret
    http-request redirect scheme https code 301 if { hdr(host) -i secure.example.com }
    http-request redirect prefix https://new.example.com drop-query if { hdr(host) -i old.example.com }
    http-request redirect location /login code 302 if { path /signin }
    http-request deny if is_admin !has_admin_token
    http-request deny deny_status 429 if { url_param(abuse) -m found }
    http-request del-header X-Secret
    http-request set-header X-Routed-By limpet-test
    http-request add-header X-Client-Port-Known yes if { src_port gt 0 }
    http-request replace-header User-Agent ^curl/(.*)$ curl-via-proxy/\\1
    http-request set-path /v2%[path,regsub(^/v1/,/)] if host_api { path_beg /v1/ }
    http-request set-header X-Shop %[req.hdr(host),lower,field(1,.)] if host_shop
    use_backend be_api if host_api
    use_backend be_static if is_static || is_asset
    default_backend be_web

backend be_api
    http-response set-header X-Backend api
    http-response del-header Server
    server a1 127.0.0.1:${api}

backend be_static
    http-response set-header Cache-Control "public, max-age=60"
    http-response set-header X-Backend static
    server s1 127.0.0.1:${stat}

backend be_web
    http-response set-header X-Backend web
    http-response replace-header Set-Cookie (.*) \\1;\\ Secure
    server w1 127.0.0.1:${web}
`;

interface Case {
  name: string;
  path: string;
  host: string;
  headers?: [string, string][];
  method?: string;
}

const CASES: Case[] = [
  { name: 'api host goes to be_api, /v1/ rewritten to /v2/', host: 'api.example.com', path: '/v1/users?id=3' },
  { name: 'api host, other path kept', host: 'API.example.com', path: '/health' },
  { name: 'static path prefix', host: 'www.example.com', path: '/static/app.png' },
  { name: 'asset suffix', host: 'www.example.com', path: '/js/app.js?v=2' },
  { name: 'default backend', host: 'www.example.com', path: '/' },
  { name: 'shop subdomain header from converters', host: 'Shop.Example.com', path: '/cart' },
  { name: 'scheme redirect', host: 'secure.example.com', path: '/pay?x=1' },
  { name: 'prefix redirect drops the query', host: 'old.example.com', path: '/a/b?c=d' },
  { name: 'location redirect', host: 'www.example.com', path: '/signin' },
  { name: 'admin without token is denied', host: 'www.example.com', path: '/admin/panel' },
  { name: 'token holder reaches admin', host: 'www.example.com', path: '/admin/panel', headers: [['X-Admin-Token', 's3cret']] },
  { name: 'abuse parameter gets 429', host: 'www.example.com', path: '/search?q=a&abuse=1' },
  { name: 'secret header removed, user agent rewritten', host: 'www.example.com', path: '/x', headers: [['X-Secret', 'hide me'], ['User-Agent', 'curl/8.1']] },
];

/** What a client and the origin saw, with what differs between any two proxies left out. */
function observe(res: SimpleResponse) {
  const echo = echoOf(res);
  return {
    status: res.status,
    location: headerValues(res.headers, 'location'),
    backend: headerValues(res.headers, 'x-backend'),
    server: headerValues(res.headers, 'server'),
    cacheControl: headerValues(res.headers, 'cache-control'),
    setCookie: headerValues(res.headers, 'set-cookie'),
    origin: echo?.origin,
    url: echo?.url,
    routedBy: echoHeader(echo, 'x-routed-by'),
    clientPortKnown: echoHeader(echo, 'x-client-port-known'),
    secret: echoHeader(echo, 'x-secret'),
    userAgent: echoHeader(echo, 'user-agent'),
    shop: echoHeader(echo, 'x-shop'),
  };
}

async function runCases(port: number) {
  const out: Record<string, ReturnType<typeof observe>> = {};
  for (const c of CASES) {
    const res = await request(port, { path: c.path, method: c.method ?? 'GET', headers: [['Host', c.host], ...(c.headers ?? [])] });
    out[c.name] = observe(res);
  }
  return out;
}

t.test('host and path routing, redirects, deny and header edits', async (t) => {
  const api = await startEchoOrigin(t, 'api');
  const stat = await startEchoOrigin(t, 'static');
  const web = await startEchoOrigin(t, 'web');
  const port = await freePort();
  await startProxy(t, config(port, api.port, stat.port, web.port), { waitPorts: [port] });
  const seen = await runCases(port);

  const c = (name: string) => seen[CASES.find((x) => x.name.startsWith(name))!.name]!;
  t.match(c('api host goes'), { status: 200, origin: 'api', url: '/v2/users?id=3', backend: ['api'], server: [] });
  t.match(c('api host, other'), { status: 200, origin: 'api', url: '/health' });
  t.match(c('static path'), { status: 200, origin: 'static', backend: ['static'], cacheControl: ['public, max-age=60'] });
  t.match(c('asset suffix'), { status: 200, origin: 'static', url: '/js/app.js?v=2' });
  t.match(c('default backend'), { status: 200, origin: 'web', backend: ['web'], routedBy: ['limpet-test'], setCookie: ['sid=abc; path=/; Secure'] });
  t.match(c('shop subdomain'), { status: 200, origin: 'web', shop: ['shop'] });
  t.match(c('scheme redirect'), { status: 301, location: ['https://secure.example.com/pay?x=1'], origin: undefined });
  t.match(c('prefix redirect'), { status: 302, location: ['https://new.example.com/a/b'] });
  t.match(c('location redirect'), { status: 302, location: ['/login'] });
  t.match(c('admin without'), { status: 403, origin: undefined });
  t.match(c('token holder'), { status: 200, origin: 'web' });
  t.match(c('abuse'), { status: 429, origin: undefined });
  t.match(c('secret header'), { status: 200, secret: [], userAgent: ['curl-via-proxy/8.1'], clientPortKnown: ['yes'] });
  t.equal(web.requests.some((r) => r.url.startsWith('/admin') && !r.headers.includes('X-Admin-Token')), false, 'a denied request never reached an origin');

  await t.test('each request of a keep-alive connection is switched on its own', async (t) => {
    const req = (host: string, path: string) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const responses = await sendSequentially(port, [
      req('api.example.com', '/v1/a'),
      req('www.example.com', '/static/x.png'),
      req('www.example.com', '/'),
      req('api.example.com', '/b'),
    ]);
    t.same(responses.map((r) => JSON.parse(r.body.toString()).origin), ['api', 'static', 'web', 'api']);
    t.same(responses.map((r) => JSON.parse(r.body.toString()).url), ['/v2/a', '/static/x.png', '/', '/b']);
    t.ok(responses.every((r) => !r.closed || r === responses[responses.length - 1]), 'one connection served them all');
  });

  await t.test('HAProxy answers the same configuration the same way', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
    const hport = await freePort();
    await startHaproxy(t, config(hport, api.port, stat.port, web.port), hport);
    const theirs = await runCases(hport);
    for (const k of CASES) t.same(seen[k.name], theirs[k.name], `${k.name}: limpet (found) vs HAProxy (wanted)`);
  });
});
