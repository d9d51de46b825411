// Backend-level server semantics without sockets: ids as HAProxy numbers them, slowstart's
// weight ramp, runtime weight changes, backups and allbackups, dynamic cookies.
import t from 'tap';
import { assignIds, Backend } from '../../lib/backend/backend.js';
import { parseConfigText } from '../../lib/config/load-config.js';
import type { ProxyConfig } from '../../lib/config/types.js';
import { createLogger } from '../../lib/observe/logger.js';
import { dynamicCookie } from '../../lib/persist/dynamic-cookie.js';

function backend(body: string): Backend {
  const r = parseConfigText(`defaults\n  mode http\n  timeout connect 1s\nbackend be\n${body}\n`, 't.cfg', {});
  if (!r.config) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const log = createLogger({ quiet: true, write: () => {} });
  const be = new Backend(r.config.proxies.find((p) => p.name === 'be') as ProxyConfig, log);
  t.teardown(() => be.stop());
  return be;
}

const picks = (be: Backend, n: number) => Array.from({ length: n }, () => be.pick({})?.name ?? '-');

t.test('server ids: explicit ones kept, others numbered by position (HAProxy)', async (t) => {
  const ids = assignIds({ servers: [{}, { id: 9 }, {}, { id: 3 }, {}] as ProxyConfig['servers'] }).map(([, id]) => id);
  t.same(ids, [1, 9, 4, 3, 6], 'the counter advances past every server, skipping numbers taken by an id');
  t.same(assignIds({ servers: [{}, {}, { id: 2 }] as ProxyConfig['servers'] }).map(([, id]) => id), [1, 3, 2], 'a taken number is skipped');
});

t.test('slowstart: a server coming back up starts at 1/16 of its weight and ramps up', async (t) => {
  const be = backend('  balance roundrobin\n  server a 127.0.0.1:1 weight 16 slowstart 1s\n  server b 127.0.0.1:2 weight 16');
  const [a] = be.servers;
  be.setHealth(a!, false, 'test');
  t.same(new Set(picks(be, 10)), new Set(['b']));
  be.setHealth(a!, true, 'test');
  t.equal(a!.weight, 1, 'weight 16 starts at 1');
  const early = picks(be, 170).filter((n) => n === 'a').length;
  t.ok(early >= 5 && early <= 15, `a gets about 1/17 of the traffic at first (${early}/170)`);
  await new Promise((r) => setTimeout(r, 550));
  t.ok(a!.weight > 6 && a!.weight < 16, `half way: weight ${a!.weight}`);
  await new Promise((r) => setTimeout(r, 600));
  t.equal(a!.weight, 16, 'full weight after the slowstart time');
});

t.test('slowstart does not apply to static algorithms (as HAProxy)', async (t) => {
  const be = backend('  balance static-rr\n  server a 127.0.0.1:1 weight 16 slowstart 1s\n  server b 127.0.0.1:2 weight 16');
  be.setHealth(be.servers[0]!, false, 'test');
  be.setHealth(be.servers[0]!, true, 'test');
  t.equal(be.servers[0]!.weight, 16);
});

t.test('setWeight at run time, 0 draining', async (t) => {
  for (const algo of ['roundrobin', 'leastconn', 'static-rr', 'random', 'first', 'uri']) {
    const be = backend(`  balance ${algo}\n  server a 127.0.0.1:1\n  server b 127.0.0.1:2`);
    be.setWeight(be.servers[0]!, 0);
    t.same(new Set(picks(be, 20)), new Set(['b']), `${algo}: weight 0 takes a out of balancing`);
    be.setWeight(be.servers[0]!, 1);
    be.setWeight(be.servers[1]!, 0);
    t.same(new Set(picks(be, 20)), new Set(['a']), `${algo}: and back`);
  }
});

t.test('backups: first usable one, or all with option allbackups; active weight 0 counts as none', async (t) => {
  const cfg = (extra: string) => `  ${extra}\n  server a 127.0.0.1:1\n  server b1 127.0.0.1:2 backup\n  server b2 127.0.0.1:3 backup`;
  const be = backend(cfg(''));
  t.same(new Set(picks(be, 6)), new Set(['a']));
  be.setHealth(be.servers[0]!, false, 'test');
  t.same(new Set(picks(be, 6)), new Set(['b1']));
  be.setHealth(be.servers[1]!, false, 'test');
  t.same(new Set(picks(be, 6)), new Set(['b2']), 'the next backup takes over');
  const all = backend(cfg('option allbackups'));
  all.setWeight(all.servers[0]!, 0);
  t.same(new Set(picks(all, 6)), new Set(['b1', 'b2']));
});

t.test('dynamic cookies are given to servers without a cookie value', async (t) => {
  const be = backend('  cookie S insert dynamic\n  dynamic-cookie-key k\n  server a 10.0.0.1:80\n  server b 10.0.0.2:80 cookie fixed');
  t.equal(be.servers[0]!.cookie, dynamicCookie('k', '10.0.0.1', 80));
  t.equal(be.servers[1]!.cookie, 'fixed', 'an explicit cookie wins');
});
