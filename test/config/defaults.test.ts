import t from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';
import type { Config, ProxyConfig } from '../../lib/config/types.js';

function parse(text: string): Config {
  const r = parseConfigText(text, 'd.cfg', {});
  if (!r.config) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.config;
}
const find = (c: Config, name: string): ProxyConfig => c.proxies.find((p) => p.name === name)!;

t.test('defaults are inherited by every following proxy', async (t) => {
  const c = parse(`defaults
  mode http
  balance leastconn
  timeout connect 4s
  timeout client 20s
  timeout server 21s
  retries 5
  maxconn 300
  option redispatch
  option httplog
  option forwardfor
  cookie SRV insert
  log global
frontend fe
  bind :80
  default_backend be
backend be
  server s 127.0.0.1:1
listen li
  bind :81
`);
  const fe = find(c, 'fe');
  const be = find(c, 'be');
  const li = find(c, 'li');
  for (const p of [fe, be, li]) {
    t.equal(p.mode, 'http', `${p.name} mode`);
    t.same(p.logs, [{ target: 'global', where: { file: 'd.cfg', line: 13 } }], `${p.name} log`);
    t.equal(p.options.forwardfor, true, `${p.name} forwardfor`);
  }
  t.same(be.balance, { algorithm: 'leastconn', args: [], where: { file: 'd.cfg', line: 3 } });
  t.same(li.balance.algorithm, 'leastconn');
  t.same(be.timeouts, { connect: 4000, server: 21_000 }, 'a backend takes only backend timeouts');
  t.same(fe.timeouts, { client: 20_000 }, 'a frontend takes only frontend timeouts');
  t.same(li.timeouts, { connect: 4000, client: 20_000, server: 21_000 });
  t.equal(be.retries, 5);
  t.equal(fe.maxconn, 300);
  t.equal(be.maxconn, undefined, 'maxconn is a frontend setting');
  t.equal(li.maxconn, 300);
  t.equal(be.options.redispatch, true);
  t.equal(fe.options.redispatch, false);
  t.equal(fe.options.httplog, true);
  t.equal(be.options.httplog, false);
  t.equal(be.cookie?.name, 'SRV');
  t.same(be.cookie?.where, { file: 'd.cfg', line: 12 }, 'inherited settings point at the defaults line');
  t.equal(fe.cookie, undefined);
});

t.test('a proxy overrides and negates what it inherits', async (t) => {
  const c = parse(`defaults
  mode http
  timeout server 10s
  option redispatch
  log 127.0.0.1:514 local0
backend be
  mode tcp
  timeout server 1s
  no option redispatch
  no log
`);
  const be = find(c, 'be');
  t.equal(be.mode, 'tcp');
  t.equal(be.timeouts.server, 1000);
  t.equal(be.options.redispatch, false);
  t.same(be.logs, []);
});

t.test('each defaults section replaces the previous one', async (t) => {
  const c = parse(`defaults
  mode http
  timeout connect 1s
backend one
defaults
  timeout server 2s
backend two
`);
  t.equal(find(c, 'one').mode, 'http');
  t.same(find(c, 'one').timeouts, { connect: 1000 });
  t.equal(find(c, 'two').mode, 'tcp', 'not inherited from the earlier defaults');
  t.same(find(c, 'two').timeouts, { server: 2000 });
});

t.test('inherited objects are not shared between proxies', async (t) => {
  const c = parse('defaults\n  log global\n  timeout connect 1s\nbackend a\nbackend b\n');
  find(c, 'a').logs.push({ target: 'x', where: { file: '', line: 0 } });
  find(c, 'a').timeouts.connect = 9;
  t.equal(find(c, 'b').logs.length, 1);
  t.equal(find(c, 'b').timeouts.connect, 1000);
});

t.test('named defaults and from', async (t) => {
  const c = parse(`defaults web
  mode http
  timeout connect 3s
defaults plain
  timeout connect 1s
backend uses-last
backend uses-web from web
defaults web2 from web
  timeout server 7s
backend uses-web2 from web2
`);
  t.equal(find(c, 'uses-last').mode, 'tcp');
  t.same(find(c, 'uses-last').timeouts, { connect: 1000 });
  t.equal(find(c, 'uses-web').mode, 'http');
  t.same(find(c, 'uses-web').timeouts, { connect: 3000 });
  t.equal(find(c, 'uses-web2').mode, 'http');
  t.same(find(c, 'uses-web2').timeouts, { connect: 3000, server: 7000 });
});
