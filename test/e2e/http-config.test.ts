// The HTTP engine's keywords: accepted when valid, refused with file:line and keyword when not
// (`limpet -c`), and in effect at run time (tune.http.maxhdr, tune.bufsize).
import t from 'tap';
import { freePort } from '../helpers/free-port.js';
import { rawRequest } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { runCli, startProxy, writeTempConfig } from '../helpers/proxy-process.js';

const base = (globalExtra: string, backendExtra: string, serverExtra = '') => `global
${globalExtra}
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
${backendExtra}
    server s1 127.0.0.1:18081 ${serverExtra}
`;

t.test('valid keywords pass limpet -c', async (t) => {
  for (const [g, b, s] of [
    ['    tune.http.maxhdr 50', '    http-reuse never', 'pool-max-conn 10'],
    ['    tune.bufsize 32768', '    http-reuse aggressive\n    option http-server-close', 'pool-max-conn -1'],
    ['', '    http-reuse always\n    option httpclose\n    no option httpclose\n    timeout http-keep-alive 2s', ''],
    ['', '    http-reuse safe\n    option http-keep-alive', 'pool-max-conn 0'],
  ] as const) {
    const r = await runCli(['-c', '-f', writeTempConfig(t, base(g, b, s))]);
    t.equal(r.code, 0, `${g} ${b} ${s}: ${r.stderr}`);
  }
});

t.test('invalid values name file, line and keyword', async (t) => {
  const cases: Array<[string, string, string, number, RegExp]> = [
    ['', '    http-reuse sometimes', '', 12, /http-reuse/],
    ['', '    http-reuse', '', 12, /http-reuse/],
    ['', '', 'pool-max-conn many', 13, /pool-max-conn/],
    ['    tune.http.maxhdr 0', '', '', 2, /tune\.http\.maxhdr/],
    ['    tune.http.maxhdr 40000', '', '', 2, /tune\.http\.maxhdr/],
    ['', '    option httpclose now', '', 12, /httpclose/],
  ];
  for (const [g, b, s, line, kw] of cases) {
    const file = writeTempConfig(t, base(g, b, s));
    const r = await runCli(['-c', '-f', file]);
    t.not(r.code, 0, `${g}${b}${s}: refused`);
    t.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}`), `names ${file}:${line}: ${r.stderr.trim()}`);
    t.match(r.stderr, kw, 'names the keyword');
  }
});

t.test('tune.http.maxhdr and tune.bufsize apply', async (t) => {
  const origin = await startOrigin({ name: 'o', t });
  const port = await freePort();
  await startProxy(t, `
global
    tune.http.maxhdr 5
    tune.bufsize 4096
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${origin.port}
`, { waitPorts: [port] });
  const headers = (n: number) => `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: n - 1 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
  t.equal((await rawRequest(port, headers(5))).status, 200, '5 header lines pass');
  t.equal((await rawRequest(port, headers(6))).status, 400, '6 are refused with 400');
  // HAProxy keeps tune.maxrewrite (1024) of the buffer for edits: a head must fit in 3072 bytes.
  const sized = (total: number) => {
    const prefix = 'GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ';
    return `${prefix}${'p'.repeat(total - prefix.length - 4)}\r\n\r\n`;
  };
  t.equal((await rawRequest(port, sized(3072))).status, 200, 'a 3072-byte head passes');
  t.equal((await rawRequest(port, sized(3073))).status, 400, 'a 3073-byte head gets 400');
  t.equal(origin.requests.length, 2, 'only the two valid requests reached the origin');
});
