// Every http-request and http-response action, converters, userlist auth, use-server, dynamic
// use_backend, monitor-uri, errorfile, forwardfor / originalto and unique-id, over real sockets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { headerValues, keepAliveConnection, rawRequest, request, type SimpleResponse } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { echoHeader, echoOf, startEchoOrigin } from '../rules/rules-test-kit.js';

const BOB_HASH = '$6$Zq8w$96A1uGU8/mlIv7NNl0tEY1dfd9JfL4vJ4eaT6BkkREmM4E5wY82HG7AqZOkYay9nfQMEia/Y84O8RTvNodG9m/';
const ERRORFILE_503 = 'HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>custom 503</h1></body></html>\n';

const basic = (user: string, pw: string): [string, string] => ['Authorization', `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`];

t.test('http-request and http-response actions', async (t) => {
  const o1 = await startEchoOrigin(t, 'o1');
  const o2 = await startEchoOrigin(t, 'o2');
  const [port, dead] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'limpet-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const cfg = `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0

userlist admins
    group ops
    user alice insecure-password wonderland groups ops
    user bob password ${BOB_HASH}

frontend fe
    bind 127.0.0.1:${port}
    monitor-uri /healthz
    errorfile 503 ${file('503.http', ERRORFILE_503)}
    unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    unique-id-header X-Unique-ID
    option forwardfor except 10.0.0.0/8 header X-Real-Client if-none
    option originalto
    http-request capture req.hdr(host) len 5
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-header X-Var %[var(txn.host)]
    http-request set-header X-Cap %[capture.req.hdr(0)]
    http-request set-header X-Id-In-Rule %[unique-id]
    http-request auth realm Admins if { path_beg /private } !{ http_auth(admins) }
    http-request deny if { path_beg /private/ops } !{ http_auth_group(admins) ops }
    http-request allow if { path_beg /allowed }
    http-request deny if { path_beg /allowed }
    http-request return status 201 content-type text/plain string created hdr X-Made %[method] if { path /return }
    http-request return status 200 content-type text/plain file ${file('body.txt', 'from a file\n')} if { path /file }
    http-request return status 200 content-type text/plain lf-string "path=%[path]" if { path /lf }
    http-request return status 404 default-errorfiles if { path /missing }
    http-request redirect prefix /new append-slash if { path_beg /old }
    http-request redirect location https://x.test/ code 307 set-cookie SEEN=1 if { path /r307 }
    http-request redirect location /gone code 308 clear-cookie SEEN if { path /r308 }
    http-request redirect scheme https code 303 if { path /r303 }
    http-request deny deny_status 400 if { path /bad }
    http-request set-method PUT if { path /method }
    http-request set-method HEAD if { path /tohead }
    http-request set-query a=1&b=2 if { path /query }
    http-request set-uri /rewritten?z=9 if { path /uri }
    http-request set-path /p2 if { path /p1 }
    http-request replace-value X-List ^b$ B
    http-request replace-header X-Whole ^(.*),(.*)$ \\2+\\1
    http-request del-header X-Drop -m beg
    http-request del-header x-exact
    http-request set-header X-Map %[req.hdr(host),map(${file('hosts.map', '# host map\nwww.test web\napi.test api\n')},none)]
    http-request set-header X-Map-Beg %[path,map_beg(${file('paths.map', '/img images\n/ root\n')},nobeg)]
    http-request set-header X-Map-Dom %[req.hdr(host),map_dom(${file('dom.map', 'test testdom\n')},nodom)]
    http-request set-header X-B64 %[req.hdr(x-in),base64] if { req.hdr(x-in) -m found }
    http-request set-header X-Hex %[req.hdr(x-in),hex] if { req.hdr(x-in) -m found }
    http-request set-header X-Up %[req.hdr(x-in),upper] if { req.hdr(x-in) -m found }
    http-request set-header X-Low %[req.hdr(x-in),lower] if { req.hdr(x-in) -m found }
    http-request set-header X-Regsub %[req.hdr(x-in),regsub(l+,L,g)] if { req.hdr(x-in) -m found }
    http-request set-header X-Word %[req.hdr(x-words),word(2,/)] if { req.hdr(x-words) -m found }
    http-request set-header X-Field %[req.hdr(x-words),field(3,/)] if { req.hdr(x-words) -m found }
    http-request set-header X-Query %[query] if { query -m found }
    http-request set-header X-Url %[url]
    use_backend %[req.hdr(x-backend)] if { req.hdr(x-backend) -m found }
    use_backend be_pinned if { path_beg /pin }
    use_backend be_dead if { path /dead }
    use_backend be_resdeny if { path /resdeny }
    default_backend be

backend be
    http-response set-status 299 reason Fine if { status 200 } { res.hdr(x-origin) o1 } { path /status }
    http-response add-header X-Res-Seen %[res.hdr(x-origin)]
    http-response del-header Server
    http-response replace-header Content-Type ^application/(.*)$ app/\\1
    server s1 127.0.0.1:${o1.port}

backend be2
    option forwardfor except 127.0.0.0/8
    http-response set-header X-Backend be2
    server s2 127.0.0.1:${o2.port}

backend be_pinned
    balance roundrobin
    use-server p2 if { req.hdr(x-pin) 2 }
    use-server p1 if { req.hdr(x-pin) 1 }
    server p1 127.0.0.1:${o1.port}
    server p2 127.0.0.1:${o2.port}

backend be_dead
    server d1 127.0.0.1:${dead}

backend be_resdeny
    http-response deny if { status 200 }
    server s1 127.0.0.1:${o1.port}
`;
  await startProxy(t, cfg, { waitPorts: [port] });
  const go = (path: string, headers: [string, string][] = [], method = 'GET'): Promise<SimpleResponse> =>
    request(port, { path, method, headers: [['Host', 'www.test'], ...headers] });
  const seen = (res: SimpleResponse, name: string) => echoHeader(echoOf(res), name);

  await t.test('monitor-uri answers itself', async (t) => {
    const res = await go('/healthz');
    t.equal(res.status, 200);
    t.match(res.body, /Service ready/);
    t.equal(o1.requests.some((r) => r.url === '/healthz'), false, 'never forwarded');
  });

  await t.test('set-var, capture, unique-id, forwardfor and originalto', async (t) => {
    const res = await go('/');
    t.same(seen(res, 'x-var'), ['www.test']);
    t.same(seen(res, 'x-cap'), ['www.t'], 'capture truncated to len 5');
    const id = seen(res, 'x-unique-id');
    t.match(id[0], /^7F000001:[0-9A-F]+_7F000001:[0-9A-F]+_[0-9A-F]+_[0-9A-F]+:[0-9A-F]+$/, 'unique id in hexadecimal');
    t.same(seen(res, 'x-id-in-rule'), id, '%[unique-id] in a rule is the same id');
    t.same(seen(res, 'x-real-client'), ['127.0.0.1'], 'forwardfor with its own header name');
    t.same(seen(res, 'x-forwarded-for'), []);
    t.same(seen(res, 'x-original-to'), ['127.0.0.1']);
    const kept = await go('/', [['X-Real-Client', '1.2.3.4']]);
    t.same(seen(kept, 'x-real-client'), ['1.2.3.4'], 'if-none keeps the client header');
    const other = await go('/', [['X-Backend', 'be2']]);
    t.equal(echoOf(other)?.origin, 'o2', 'dynamic use_backend');
    t.same(headerValues(other.headers, 'x-backend'), ['be2']);
    t.same(seen(other, 'x-real-client'), [], "the backend's forwardfor except 127.0.0.0/8 applies");
    const unknown = await go('/', [['X-Backend', 'nope']]);
    t.equal(echoOf(unknown)?.origin, 'o1', 'a dynamic name with no such backend falls back to default_backend');
  });

  await t.test('auth with a userlist: insecure and SHA-512-crypt passwords, groups', async (t) => {
    const none = await go('/private/x');
    t.equal(none.status, 401);
    t.same(headerValues(none.headers, 'www-authenticate'), ['Basic realm="Admins"']);
    t.equal((await go('/private/x', [basic('alice', 'nope')])).status, 401);
    t.equal((await go('/private/x', [basic('alice', 'wonderland')])).status, 200);
    t.equal((await go('/private/x', [basic('bob', 'builder')])).status, 200, 'SHA-512-crypt password');
    t.equal((await go('/private/x', [basic('bob', 'Builder')])).status, 401);
    t.equal((await go('/private/ops', [basic('alice', 'wonderland')])).status, 200, 'alice is in ops');
    t.equal((await go('/private/ops', [basic('bob', 'builder')])).status, 403, 'bob is not');
  });

  await t.test('allow stops the rules; deny, return and redirects answer directly', async (t) => {
    t.equal((await go('/allowed')).status, 200, 'allow skips the later deny');
    const ret = await go('/return');
    t.equal(ret.status, 201);
    t.equal(ret.body, 'created');
    t.same(headerValues(ret.headers, 'x-made'), ['GET']);
    t.same(headerValues(ret.headers, 'content-type'), ['text/plain']);
    t.equal((await go('/file')).body, 'from a file\n');
    t.equal((await go('/lf')).body, 'path=/lf');
    const missing = await go('/missing');
    t.equal(missing.status, 404);
    t.match(missing.body, /404 Not Found/);
    const old = await go('/old/page?x=1');
    t.equal(old.status, 302);
    t.same(headerValues(old.headers, 'location'), ['/new/old/page?x=1/'], 'prefix with append-slash: the slash goes after the query, as HAProxy 2.6 does');
    const r307 = await go('/r307');
    t.equal(r307.status, 307);
    t.same(headerValues(r307.headers, 'location'), ['https://x.test/']);
    t.same(headerValues(r307.headers, 'set-cookie'), ['SEEN=1; path=/;']);
    const r308 = await go('/r308');
    t.equal(r308.status, 308);
    t.same(headerValues(r308.headers, 'set-cookie'), ['SEEN; path=/; Max-Age=0;']);
    const r303 = await go('/r303?a=b');
    t.equal(r303.status, 303);
    t.same(headerValues(r303.headers, 'location'), ['https://www.test/r303?a=b']);
    t.equal((await go('/bad')).status, 400, 'deny_status');
  });

  await t.test('request line and header edits reach the origin', async (t) => {
    t.equal(echoOf(await go('/method'))?.method, 'PUT');
    // the client asked GET, so only a second request on the connection shows the framing
    const conn = await keepAliveConnection(port, { timeout: 2000 });
    t.teardown(() => conn.close());
    const headRes = await conn.send('GET /tohead HTTP/1.1\r\nHost: www.test\r\n\r\n', { head: true });
    t.equal(headRes.status, 200, 'a GET turned into HEAD is answered');
    const next = await conn.send('GET /after HTTP/1.1\r\nHost: www.test\r\n\r\n');
    t.equal(next.status, 200, 'and the connection goes on: no body was awaited after the HEAD response');
    t.equal(JSON.parse(next.body.toString()).url, '/after');
    t.equal(o1.requests.find((r) => r.url === '/tohead')?.method, 'HEAD');
    t.equal(echoOf(await go('/query?old=1'))?.url, '/query?a=1&b=2');
    t.equal(echoOf(await go('/uri'))?.url, '/rewritten?z=9');
    const p = await go('/p1?k=v');
    t.equal(echoOf(p)?.url, '/p2?k=v', 'set-path keeps the query');
    t.same(seen(p, 'x-query'), ['k=v']);
    t.same(seen(p, 'x-url'), ['/p2?k=v'], 'later rules see the new path');
    const h = await go('/', [['X-List', 'a, b, c'], ['X-Whole', 'left,right'], ['X-Drop-1', 'x'], ['X-Drop-Two', 'y'], ['X-Exact', 'z'], ['X-Keep', 'k']]);
    t.same(seen(h, 'x-list'), ['a,B, c'], 'replace-value works on each value (spacing as HAProxy leaves it)');
    t.same(seen(h, 'x-whole'), ['right+left'], 'replace-header works on the whole line');
    t.same([...seen(h, 'x-drop-1'), ...seen(h, 'x-drop-two'), ...seen(h, 'x-exact')], [], 'del-header, exact and -m beg');
    t.same(seen(h, 'x-keep'), ['k']);
  });

  await t.test('converters and maps', async (t) => {
    const c = await go('/img/a.png', [['X-In', 'Hello'], ['X-Words', 'a//b/c']]);
    t.same(seen(c, 'x-b64'), ['SGVsbG8=']);
    t.same(seen(c, 'x-hex'), ['48656C6C6F']);
    t.same(seen(c, 'x-up'), ['HELLO']);
    t.same(seen(c, 'x-low'), ['hello']);
    t.same(seen(c, 'x-regsub'), ['HeLo']);
    t.same(seen(c, 'x-word'), ['b'], 'word skips empty words');
    t.same(seen(c, 'x-field'), ['b'], 'field counts empty fields');
    t.same(seen(c, 'x-map'), ['web']);
    t.same(seen(c, 'x-map-beg'), ['images']);
    t.same(seen(c, 'x-map-dom'), ['testdom']);
    const d = await request(port, { path: '/x', headers: [['Host', 'elsewhere.org']] });
    t.same(seen(d, 'x-map'), ['none'], 'map default');
    t.same(seen(d, 'x-map-beg'), ['root']);
    t.same(seen(d, 'x-map-dom'), ['nodom']);
  });

  await t.test('http-response actions', async (t) => {
    const s = await go('/status');
    t.equal(s.status, 299);
    const raw = await rawRequest(port, 'GET /status HTTP/1.1\r\nHost: www.test\r\nConnection: close\r\n\r\n');
    t.equal(raw.reason, 'Fine');
    t.same(headerValues(s.headers, 'x-res-seen'), ['o1']);
    t.same(headerValues(s.headers, 'server'), [], 'del-header on the response');
    t.same(headerValues(s.headers, 'content-type'), ['app/json'], 'replace-header on the response');
    const denied = await go('/resdeny');
    t.equal(denied.status, 502, 'http-response deny answers 502');
    t.notMatch(denied.body, /o1/, 'the denied body is not relayed');
  });

  await t.test('use-server picks the server; errorfile replaces the 503 page', async (t) => {
    for (let i = 0; i < 3; i++) {
      t.equal(echoOf(await go('/pin', [['X-Pin', '2']]))?.origin, 'o2');
      t.equal(echoOf(await go('/pin', [['X-Pin', '1']]))?.origin, 'o1');
    }
    const d = await go('/dead');
    t.equal(d.status, 503);
    t.match(d.body, /custom 503/);
  });
});
