// Config keywords of the operational surface: log-format, dontlognull, log-health-checks,
// stats *, stats socket, and the log targets limpet refuses (each error names file:line).
import t from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';

const parse = (text: string) => parseConfigText(text, 'x.cfg');

t.test('stats keywords fill the proxy\'s stats settings', async (t) => {
  const { config, errors } = parse(`
listen st
    bind 127.0.0.1:9000
    stats uri /s
    stats realm My\\ Stats
    stats auth a:b
    stats auth c:d:e
    stats refresh 10s
    option dontlognull
    log-format "%ci %ST"
`);
  t.same(errors.map((e) => e.message), []);
  const p = config!.proxies[0]!;
  t.same(p.stats, { enabled: true, uri: '/s', realm: 'My Stats', auth: [{ user: 'a', password: 'b' }, { user: 'c', password: 'd:e' }], refresh: 10000 });
  t.equal(p.options.dontlognull, true);
  t.equal(p.logFormat, '%ci %ST');
});

t.test('stats socket in global', async (t) => {
  const { config, errors } = parse('global\n    stats socket /run/l.sock level admin\n    stats socket ipv4@127.0.0.1:9999\n');
  t.same(errors, []);
  t.same(config!.global.statsSockets!.map((s) => [s.address, s.level]), [
    [{ kind: 'unix', path: '/run/l.sock' }, 'admin'],
    [{ kind: 'tcp', host: '127.0.0.1', port: 9999 }, 'operator'],
  ]);
});

t.test('errors name file, line and keyword', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['global\n    stats socket /x level root\n', /x\.cfg:2.*invalid level 'root'/],
    ['global\n    stats socket /x expose-fd listeners\n', /x\.cfg:2.*unknown option 'expose-fd'/],
    ['global\n    log ring@buf local0\n', /x\.cfg:2.*log target 'ring@buf' is not supported/],
    ['frontend f\n    bind :1\n    log-format "%ci %zz"\n', /x\.cfg:3.*unknown log-format variable '%zz'/],
    ['listen l\n    bind :1\n    stats uri nope\n', /x\.cfg:3.*invalid URI 'nope'/],
    ['listen l\n    bind :1\n    stats auth nocolon\n', /x\.cfg:3.*expected 'user:password'/],
    ['frontend f\n    bind :1\n    option log-health-checks\n', /x\.cfg:3.*not allowed in 'frontend'/],
  ];
  for (const [text, re] of cases) {
    const { errors } = parse(text);
    t.ok(errors.some((e) => re.test(e.message)), `${re}`, { errors: errors.map((e) => e.message) });
  }
});

t.test('a unix socket log target parses (limpet warns at start-up that it cannot send there)', async (t) => {
  const { config, errors } = parse('global\n    log /dev/log local0 info\n');
  t.same(errors, []);
  t.equal(config!.global.logs[0]!.target, '/dev/log');
});
