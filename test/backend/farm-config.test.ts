// The farm keywords parse with HAProxy's syntax, and what limpet cannot run is an error naming
// file, line and keyword.
import t from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';
import type { ProxyConfig } from '../../lib/config/types.js';

function be(lines: string): ProxyConfig {
  const r = parseConfigText(`backend be\n  mode http\n${lines}\n`, 'f.cfg', {});
  if (!r.config) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.config.proxies[0]!;
}
function err(lines: string): string {
  const r = parseConfigText(`backend be\n  mode http\n${lines}\n`, 'f.cfg', {});
  t.equal(r.config, undefined, 'refused');
  return r.errors.map((e) => e.message).join('\n');
}

t.test('hash-type', async (t) => {
  t.same(be('  hash-type consistent').hashType, { lookup: 'consistent', fn: 'sdbm', avalanche: true }, 'consistent alone: sdbm with avalanche (as HAProxy)');
  t.same(be('  hash-type consistent sdbm').hashType, { lookup: 'consistent', fn: 'sdbm', avalanche: false });
  t.same(be('  hash-type map-based crc32 avalanche').hashType, { lookup: 'map-based', fn: 'crc32', avalanche: true });
  t.match(err('  hash-type ring'), /f\.cfg:3\] : 'hash-type' : unknown method 'ring'/);
  t.match(err('  hash-type consistent md5'), /unknown hash function 'md5'/);
  t.match(err('  hash-type consistent sdbm fast'), /unknown modifier 'fast'/);
  t.equal(be('  hash-balance-factor 150').hashBalanceFactor, 150);
  t.match(err('  hash-balance-factor 50'), /must be 0 or greater than 100/);
});

t.test('server keywords', async (t) => {
  const s = be('  server a 10.0.0.1:80 hash-key addr-port slowstart 30s maxqueue 5 fastinter 500 downinter 5s port 8080 addr 10.0.0.9').servers[0]!;
  t.same(
    { hashKey: s.hashKey, slowstart: s.slowstart, maxqueue: s.maxqueue, fastinter: s.fastinter, downinter: s.downinter, checkPort: s.checkPort, checkAddr: s.checkAddr },
    { hashKey: 'addr-port', slowstart: 30000, maxqueue: 5, fastinter: 500, downinter: 5000, checkPort: 8080, checkAddr: '10.0.0.9' },
  );
  t.match(err('  server a 10.0.0.1:80 hash-key name'), /f\.cfg:3\].*'hash-key' must be 'id', 'addr' or 'addr-port'/);
});

t.test('options and checks', async (t) => {
  const p = be('  option allbackups\n  option persist\n  option redispatch 2\n  http-check expect ! rstatus ^5\n  retry-on conn-failure');
  t.same([p.options.allbackups, p.options.persist, p.options.redispatch, p.redispatchInterval], [true, true, true, 2]);
  t.same(p.httpCheckExpect, { negate: true, kind: 'rstatus', pattern: '^5' });
  t.same(p.retryOn, ['conn-failure']);
  t.equal(be('  option redispatch 0').options.redispatch, false, 'option redispatch 0 disables it');
  t.equal(be('  option redispatch -2').redispatchInterval, -2);
  t.match(err('  http-check expect body x'), /unsupported match 'body'/);
  t.match(err('  http-check expect status abc'), /invalid status 'abc'/);
  t.match(err('  http-check expect rstring ('), /invalid regex/);
  t.same(be('  retry-on empty-response response-timeout 503 all-retryable-errors').retryOn, ['empty-response', 'response-timeout', '503', 'all-retryable-errors']);
  t.match(err('  retry-on 0rtt-rejected'), /f\.cfg:3\] : 'retry-on' : '0rtt-rejected' is not supported by limpet/);
  t.match(err('  retry-on 599'), /unknown failure type '599'/);
  t.match(err('  retry-on sometimes'), /unknown failure type/);
  t.match(err('  retry-on none 503'), /'none' cannot be combined/);
});

t.test('balance and cookie combinations limpet refuses', async (t) => {
  // check_post and converters are supported; an unknown option or converter is refused.
  t.ok(be('  balance url_param u check_post'), 'url_param check_post is accepted');
  t.match(err('  balance url_param u check_get'), /f\.cfg:3\] : 'balance' : unknown 'url_param' option 'check_get'/);
  t.ok(be('  balance hash req.hdr(x),lower'), 'a hash expression with a converter is accepted');
  t.match(err('  balance hash req.hdr(x),nosuch'), /unsupported converter 'nosuch'/);
  t.match(err('  balance hash nosuchfetch'), /unsupported sample expression/);
  t.match(err('  balance uri len 0'), /'len'/);
  t.match(err('  cookie S insert dynamic'), /'dynamic' needs a 'dynamic-cookie-key'/);
  t.match(err('  cookie S rewrite maxidle 10m'), /'maxidle' and 'maxlife' require 'insert'/);
  t.match(err('  balance rdp-cookie'), /requires 'mode tcp'/);
});
