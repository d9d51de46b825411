// Every fetch, match flag and operator, over real sockets: each ACL of the frontend adds a
// request header `X-Acl: NAME` when it matches, and the echo origin reports which ones it saw.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { rawRequest, request } from '../helpers/http-client.js';
import { startProxy } from '../helpers/proxy-process.js';
import { echoHeader, echoOf, startEchoOrigin } from '../rules/rules-test-kit.js';

// name → ACL body: `acl NAME BODY`
const ACLS: Record<string, string> = {
  hdr_exact: 'hdr(x-t) foo',
  hdr_icase: 'hdr(x-t) -i FOO',
  hdr_beg: 'hdr_beg(x-t) fo',
  hdr_end: 'hdr_end(x-t) oo',
  hdr_sub: 'hdr_sub(x-t) ob',
  hdr_reg: 'hdr_reg(x-t) ^f.o$',
  hdr_dom: 'hdr_dom(host) example',
  hdr_cnt2: 'hdr_cnt(x-t) ge 2',
  hdr_len3: 'hdr_len(x-t) 3',
  hdr_found: 'req.hdr(x-t) -m found',
  reqhdr_m_beg: 'req.hdr(x-t) -m beg ba',
  path_exact: 'path /a/b',
  path_beg: 'path_beg /a/',
  path_end: 'path_end .png',
  path_dir: 'path_dir b',
  path_reg: 'path_reg ^/a/[0-9]+$',
  path_sub: 'path_sub /x/',
  url_has_query: 'url_sub ?q=',
  url_param: 'url_param(q) 42',
  url_param_reg: 'url_param(q) -m reg ^4',
  query: 'query -m beg q=',
  method_post: 'method POST',
  src_local: 'src 127.0.0.0/8 ::1',
  src_other: 'src 10.0.0.0/8',
  dst_port: 'dst_port PORT',
  cook: 'req.cook(sid) abc',
  cook_icase_sub: 'req.cook(sid) -i -m sub BC',
  ver11: 'req.ver 1.1',
  ver10: 'req.ver 1.0',
  ssl: 'ssl_fc',
  nbsrv_up: 'nbsrv(be) eq 1',
  nbsrv_dead: 'nbsrv(be_dead) lt 1',
  int_range: 'hdr_val(x-n) 10:20',
  int_open_hi: 'hdr_val(x-n) 100:',
  int_lt: 'hdr(x-n) -m int lt 5',
  int_eq: 'hdr(x-n) -m int eq 15',
  int_gt: 'hdr(x-n) -m int gt 14',
  int_le: 'hdr(x-n) -m int le 15',
  len_m: 'hdr(x-t) -m len 2:4',
  file: 'hdr(x-t) -f PATTERNS',
  dashdash: 'hdr(x-t) -- -x',
  always: 'always_true',
  never: 'always_false',
  neg_n: 'hdr(x-t) -n foo',
};

const PREDEFINED = ['TRUE', 'FALSE', 'METH_GET', 'METH_POST', 'HTTP_1.1', 'HTTP_1.0', 'LOCALHOST', 'HTTP_URL_SLASH', 'HTTP_CONTENT', 'RDP_COOKIE'];

function config(port: number, origin: number, dead: number, patterns: string): string {
  const lines = Object.entries(ACLS).map(([n, body]) => `    acl ${n} ${body.replace('PORT', String(port)).replace('PATTERNS', patterns)}`);
  const rules = [...Object.keys(ACLS), ...PREDEFINED].map((n) => `    http-request add-header X-Acl ${n} if ${n}`);
  return `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
${lines.join('\n')}
${rules.join('\n')}
    http-request add-header X-Acl or_term if never || always
    http-request add-header X-Acl and_term if always !never
    http-request add-header X-Acl unless_term unless never
    http-request add-header X-Acl anon_term if { path_beg /a } { method GET }
    acl two_lines hdr(x-t) nothing
    acl two_lines hdr(x-t) foo
    http-request add-header X-Acl or_same_name_after if two_lines
    default_backend be
backend be
    server s1 127.0.0.1:${origin}
backend be_dead
    server d1 127.0.0.1:${dead} check inter 200ms fall 1 rise 1
`;
}

t.test('fetches, flags and operators', async (t) => {
  const origin = await startEchoOrigin(t, 'o');
  const [port, dead] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'limpet-acl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const patterns = join(dir, 'patterns.lst');
  writeFileSync(patterns, '# comment\n\nzzz\nfoo\n');
  await startProxy(t, config(port, origin.port, dead, patterns), { waitPorts: [port] });
  // the dead server's first check must have failed before nbsrv(be_dead) is read
  await new Promise((r) => setTimeout(r, 600));

  const matched = async (opts: Parameters<typeof request>[1]) => {
    const res = await request(port, opts);
    t.equal(res.status, 200, 'forwarded');
    return new Set(echoHeader(echoOf(res), 'x-acl'));
  };
  const expectSet = (t: { ok(v: unknown, m: string): void; notOk(v: unknown, m: string): void }, got: Set<string>, yes: string[], no: string[]) => {
    for (const n of yes) t.ok(got.has(n), `${n} matches`);
    for (const n of no) t.notOk(got.has(n), `${n} does not match`);
  };

  await t.test('GET /a/b with X-T: foo (twice), a cookie and X-N: 15', async (t) => {
    const got = await matched({
      path: '/a/b?q=42',
      headers: [['Host', 'www.example.com'], ['X-T', 'foo'], ['X-T', 'bar'], ['Cookie', 'x=1; sid=abc'], ['X-N', '15']],
    });
    expectSet(t, got,
      ['hdr_exact', 'hdr_icase', 'hdr_beg', 'hdr_end', 'hdr_reg', 'hdr_dom', 'hdr_cnt2', 'hdr_len3', 'hdr_found', 'reqhdr_m_beg', 'path_exact',
        'path_beg', 'path_dir', 'url_has_query', 'url_param', 'url_param_reg', 'query', 'src_local', 'dst_port', 'cook', 'cook_icase_sub',
        'ver11', 'nbsrv_up', 'nbsrv_dead', 'int_range', 'int_eq', 'int_gt', 'int_le', 'len_m', 'file', 'always', 'neg_n',
        'TRUE', 'METH_GET', 'HTTP_1.1', 'LOCALHOST', 'HTTP_URL_SLASH',
        'or_term', 'and_term', 'unless_term', 'anon_term', 'or_same_name_after'],
      ['hdr_sub', 'path_end', 'path_reg', 'path_sub', 'method_post', 'src_other', 'ver10', 'ssl', 'int_open_hi', 'int_lt',
        'dashdash', 'never', 'FALSE', 'METH_POST', 'HTTP_1.0', 'HTTP_CONTENT', 'RDP_COOKIE']);
  });

  await t.test('POST /a/123/pic.png with X-T: -x, a body and an RDP cookie', async (t) => {
    const got = await matched({
      method: 'POST',
      path: '/a/123',
      headers: [['Host', 'other.test'], ['X-T', '-x'], ['X-N', '3'], ['Cookie', 'mstshash=u1'], ['Content-Length', '2']],
      body: 'hi',
    });
    expectSet(t, got, ['method_post', 'METH_POST', 'path_reg', 'dashdash', 'int_lt', 'HTTP_CONTENT', 'RDP_COOKIE', 'len_m'],
      ['METH_GET', 'hdr_dom', 'path_exact', 'url_param', 'query', 'cook', 'hdr_exact', 'anon_term', 'int_range']);
    const png = await matched({ path: '/x/y/pic.png', headers: [['X-N', '500'], ['X-T', 'foobar']] });
    expectSet(t, png, ['path_end', 'path_sub', 'int_open_hi', 'hdr_sub', 'hdr_beg'], ['hdr_reg', 'hdr_exact', 'path_dir']);
  });

  await t.test('HTTP/1.0 request', async (t) => {
    const res = await rawRequest(port, 'GET /a/b HTTP/1.0\r\nX-T: foo\r\n\r\n');
    const got = new Set(echoHeader(echoOf({ status: res.status ?? 0, headers: res.headers, body: res.body.toString() }), 'x-acl'));
    expectSet(t, got, ['ver10', 'HTTP_1.0'], ['ver11', 'HTTP_1.1']);
  });
});
