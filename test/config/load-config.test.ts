import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, parseConfigText } from '../../lib/config/load-config.js';

t.test('several files are read in order; defaults carry over, sections do not', async (t) => {
  const dir = t.testdir({
    'base.cfg': 'global\n  maxconn 500\ndefaults\n  mode http\n  timeout connect 2s\n',
    'front.cfg': 'frontend www\n  bind ":${PORT}"\n  default_backend app\n',
    'back.cfg': 'backend app\n  server a 127.0.0.1:9001\n',
  });
  const files = ['base.cfg', 'front.cfg', 'back.cfg'].map((f) => join(dir, f));
  const r = loadConfig(files, { PORT: '8081' });
  t.same(r.errors, []);
  const config = r.config!;
  t.equal(config.global.maxconn, 500);
  t.same(config.proxies.map((p) => [p.kind, p.name, p.mode]), [['frontend', 'www', 'http'], ['backend', 'app', 'http']]);
  t.same(config.proxies[0]!.binds[0]!.address, { kind: 'tcp', host: '', port: 8081 });
  t.same(config.proxies[0]!.binds[0]!.where, { file: files[1], line: 2 });
  t.same(config.proxies[1]!.timeouts, { connect: 2000 });
  t.same(config.proxies[1]!.servers[0]!.where, { file: files[2], line: 2 }, 'locations name the file each line came from');
});

t.test('a new file starts outside any section', async (t) => {
  const dir = t.testdir({
    'a.cfg': 'backend app\n  server a 127.0.0.1:1\n',
    'b.cfg': '  server b 127.0.0.1:2\n',
  });
  const r = loadConfig([join(dir, 'a.cfg'), join(dir, 'b.cfg')], {});
  t.equal(r.config, undefined);
  t.equal(r.errors.length, 1);
  t.equal(r.errors[0]!.message, `parsing [${join(dir, 'b.cfg')}:1] : unknown keyword 'server' out of section`);
});

t.test('errors from every file are reported, and names resolve across files', async (t) => {
  const dir = t.testdir({
    'one.cfg': 'frontend fe\n  bind :80\n  default_backend missing\n  bogus\n',
    'two.cfg': 'backend be\n  nonsense\n',
  });
  const one = join(dir, 'one.cfg');
  const two = join(dir, 'two.cfg');
  const r = loadConfig([one, two], {});
  t.equal(r.config, undefined);
  t.same(r.errors.map((e) => `${e.file}:${e.line} ${e.keyword} ${e.code}`), [
    `${one}:4 bogus LIMPET_CONFIG_UNKNOWN_KEYWORD`,
    `${two}:2 nonsense LIMPET_CONFIG_UNKNOWN_KEYWORD`,
    `${one}:3 default_backend LIMPET_CONFIG_UNKNOWN_BACKEND`,
  ]);
});

t.test('an unreadable file is a ConfigError and the others are still parsed', async (t) => {
  const dir = t.testdir({ 'ok.cfg': 'backend be\n  junk\n' });
  const missing = join(dir, 'missing.cfg');
  const r = loadConfig([missing, join(dir, 'ok.cfg')], {});
  t.equal(r.config, undefined);
  t.equal(r.errors.length, 2);
  t.equal(r.errors[0]!.code, 'LIMPET_CONFIG_UNREADABLE_FILE');
  t.equal(r.errors[0]!.file, missing);
  t.match(r.errors[0]!.message, `parsing [${missing}:0] : cannot read configuration file '${missing}' (ENOENT)`);
  t.equal(r.errors[1]!.keyword, 'junk');
  const isDir = loadConfig([dir], {});
  t.match(isDir.errors[0]!.message, /EISDIR/);
});

t.test('environment defaults to process.env', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'env.cfg');
  writeFileSync(file, 'frontend fe\n  bind ":${LIMPET_TEST_PORT}"\n');
  process.env.LIMPET_TEST_PORT = '9999';
  t.teardown(() => void delete process.env.LIMPET_TEST_PORT);
  t.same(loadConfig([file]).config?.proxies[0]!.binds[0]!.address, { kind: 'tcp', host: '', port: 9999 });
  t.same(parseConfigText('frontend fe\n  bind ":${LIMPET_TEST_PORT}"\n', 'x').config?.proxies[0]!.binds[0]!.address,
    { kind: 'tcp', host: '', port: 9999 });
});

t.test('CRLF line endings', async (t) => {
  const r = parseConfigText('backend be\r\n  server a 127.0.0.1:1\r\n', 'crlf.cfg', {});
  t.same(r.errors, []);
  t.equal(r.config?.proxies[0]!.servers[0]!.port, 1);
});

t.test('the embedded demo configuration parses', async (t) => {
  const { demoConfigText } = await import('../../lib/demo/demo-config.js');
  const r = parseConfigText(demoConfigText('127.0.0.1', 8080, [{ name: 'a', port: 9001 }, { name: 'b', port: 9002 }]), '<demo>', {});
  t.same(r.errors, []);
  t.same(r.config?.proxies.map((p) => p.name), ['www', 'websvrs']);
});
