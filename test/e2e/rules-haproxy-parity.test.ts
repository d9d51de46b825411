// The actions and converters of the L7 rules, checked side by side against HAProxy (skipped
// where HAProxy is not installed): the same configuration file, the same requests, and what
// the client and the origin saw must be the same.
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { headerValues, request, sendSequentially, type SimpleResponse } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { echoHeader, echoOf, haveHaproxy, startEchoOrigin, startHaproxy } from '../rules/rules-test-kit.js';

const config = (port: number, o1: number, o2: number) => `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

userlist admins
    group ops
    user alice insecure-password wonderland groups ops
    user bob insecure-password builder

frontend fe
    bind 127.0.0.1:${port}
    acl is_api path_beg /api/
    http-request auth realm Admins if { path_beg /private } !{ http_auth(admins) }
    http-request deny if { path_beg /private/ops } !{ http_auth_group(admins) ops }
    http-request redirect prefix /new append-slash if { path_beg /old }
    http-request redirect location https://x.test/ code 307 set-cookie SEEN=1 if { path /r307 }
    http-request redirect location /gone code 308 clear-cookie SEEN if { path /r308 }
    http-request redirect scheme https code 303 drop-query if { path /r303 }
    http-request return status 201 content-type text/plain string created hdr X-Made %[method] if { path /return }
    http-request return status 200 content-type text/plain lf-string "p=%[path] q=%[query]" if { path /lf }
    http-request deny deny_status 400 if { path /bad }
    http-request set-method PUT if { path /method }
    http-request set-query a=1&b=2 if { path /query }
    http-request set-uri /rewritten?z=9 if { path /uri }
    http-request set-path /p2 if { path /p1 }
    http-request replace-value X-List ^b$ B
    http-request replace-header X-Whole ^(.*),(.*)$ \\2+\\1
    http-request del-header X-Drop -m beg
    http-request set-header X-B64 %[req.hdr(x-in),base64] if { req.hdr(x-in) -m found }
    http-request set-header X-Hex %[req.hdr(x-in),hex] if { req.hdr(x-in) -m found }
    http-request set-header X-Up %[req.hdr(x-in),upper,lower,upper] if { req.hdr(x-in) -m found }
    http-request set-header X-Regsub %[req.hdr(x-in),regsub(l+,L,g)] if { req.hdr(x-in) -m found }
    http-request set-header X-Word %[req.hdr(x-words),word(2,/)] if { req.hdr(x-words) -m found }
    http-request set-header X-Field %[req.hdr(x-words),field(3,/)] if { req.hdr(x-words) -m found }
    http-request set-header X-Cnt %[req.hdr_cnt(x-list)]
    http-request set-header X-Param %[url_param(k)] if { url_param(k) -m found }
    http-request set-header X-Cook %[req.cook(sid)] if { req.cook(sid) -m found }
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-var(txn.deny) path if { path_beg /api/deny }
    http-request set-header X-Var %[var(txn.host)]
    http-request add-header X-Add one
    http-request add-header X-Add two
    use_backend be2 if is_api
    default_backend be

backend be
    http-response set-status 299 reason Fine if { status 200 } { res.hdr(x-origin) o1 }
    http-response add-header X-Res-Seen %[res.hdr(x-origin)]
    http-response del-header Server
    http-response replace-header Content-Type ^application/(.*)$ app/\\1
    server s1 127.0.0.1:${o1}

backend be2
    http-response deny if { res.hdr(x-origin) o2 } { var(txn.deny) -m found }
    http-response set-header X-Backend be2
    server s2 127.0.0.1:${o2}
`;

const basic = (user: string, pw: string): [string, string] => ['Authorization', `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`];

const CASES: Array<{ path: string; headers?: [string, string][]; method?: string }> = [
  { path: '/private/x' },
  { path: '/private/x', headers: [basic('alice', 'nope')] },
  { path: '/private/x', headers: [basic('bob', 'builder')] },
  { path: '/private/ops', headers: [basic('bob', 'builder')] },
  { path: '/private/ops', headers: [basic('alice', 'wonderland')] },
  { path: '/old/page?x=1' },
  { path: '/old/' },
  { path: '/old/x?y=/' },
  { path: '/r307' },
  { path: '/r308' },
  { path: '/r303?a=b' },
  { path: '/return', method: 'POST' },
  { path: '/lf?z=1' },
  { path: '/bad' },
  { path: '/method' },
  { path: '/query?old=1' },
  { path: '/uri' },
  { path: '/p1?k=v' },
  { path: '/h', headers: [['X-List', 'a, b, c'], ['X-List', 'b'], ['X-Whole', 'left,right'], ['X-Drop-1', 'x'], ['X-Dropped', 'y'], ['X-Keep', 'k']] },
  { path: '/c?k=7&j=1', headers: [['X-In', 'Hello'], ['X-Words', 'a//b/c'], ['Cookie', 'a=1; sid=xyz']] },
  { path: '/api/ok' },
  { path: '/api/deny' },
];

function observe(res: SimpleResponse) {
  const echo = echoOf(res);
  const hv = (n: string) => headerValues(res.headers, n);
  const ev = (n: string) => echoHeader(echo, n);
  return {
    status: res.status,
    location: hv('location'),
    setCookie: hv('set-cookie'),
    wwwAuthenticate: hv('www-authenticate'),
    made: hv('x-made'),
    contentType: hv('content-type'),
    server: hv('server'),
    resSeen: hv('x-res-seen'),
    backend: hv('x-backend'),
    // generated pages differ in wording, and HAProxy lower-cases the header names it forwards:
    // bodies are compared only when a rule wrote them
    body: res.status === 201 || res.body.startsWith('p=') ? res.body : undefined,
    seen: echo && {
      method: echo.method,
      url: echo.url,
      list: ev('x-list'), whole: ev('x-whole'), drop: [...ev('x-drop-1'), ...ev('x-dropped')], keep: ev('x-keep'),
      b64: ev('x-b64'), hex: ev('x-hex'), up: ev('x-up'), regsub: ev('x-regsub'), word: ev('x-word'), field: ev('x-field'),
      cnt: ev('x-cnt'), param: ev('x-param'), cook: ev('x-cook'), v: ev('x-var'), add: ev('x-add'),
    },
  };
}

async function run(port: number) {
  const out: Array<ReturnType<typeof observe>> = [];
  for (const c of CASES) {
    out.push(observe(await request(port, { path: c.path, method: c.method ?? 'GET', headers: [['Host', 'www.test'], ...(c.headers ?? [])] })));
  }
  return out;
}

t.test('limpet and HAProxy answer the same', { skip: haveHaproxy() ? false : 'haproxy is not installed' }, async (t) => {
  const o1 = await startEchoOrigin(t, 'o1');
  const o2 = await startEchoOrigin(t, 'o2');
  const [lport, hport] = [await freePort(), await freePort()];
  await startProxy(t, config(lport, o1.port, o2.port), { waitPorts: [lport] });
  await startHaproxy(t, config(hport, o1.port, o2.port), hport);
  const ours = await run(lport);
  const theirs = await run(hport);
  CASES.forEach((c, i) => t.same(ours[i], theirs[i], `${c.method ?? 'GET'} ${c.path}: limpet (found) vs HAProxy (wanted)`));
  // Answers made by rules leave the connection open, as HAProxy's do, except an error page
  // that ends it (400 here, last).
  const sequence = ['/old/a', '/return', '/private/x', '/lf', '/method', '/r307', '/private/ops', '/bad', '/lf'].map((p) => `GET ${p} HTTP/1.1\r\nHost: www.test\r\n\r\n`);
  const oneConnection = async (port: number) =>
    (await sendSequentially(port, sequence, { timeout: 3000 })).map((r) => ({ status: r.status, complete: r.complete }));
  const ourSeq = await oneConnection(lport);
  t.same(ourSeq, await oneConnection(hport), 'one keep-alive connection: limpet (found) vs HAProxy (wanted)');
  t.same(ourSeq.map((r) => r.status), [302, 201, 401, 200, 299, 307, 401, 400, undefined], 'answered on one connection until the 400');
  t.equal(ours.filter((o) => o.seen).length, 9, 'the forwarded cases did reach an origin');
  t.same(ours[CASES.findIndex((c) => c.path === '/api/deny')]?.status, 502, 'http-response deny with a variable set by a request rule');
});
