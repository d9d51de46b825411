// Cost of the rules engine per request (onRequest + onResponse) for a configuration, without
// sockets. Not a tap test. Run it bundled, as the CLI is:
//   ./node_modules/.bin/esbuild test/rules/rules-eval.bench.ts --bundle --platform=node \
//     --format=esm --target=node20 --packages=external --outfile=/tmp/rules-eval.mjs
//   node /tmp/rules-eval.mjs path/to/haproxy.cfg
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../lib/config/load-config.js';
import { Backend } from '../../lib/backend/backend.js';
import { HttpRules } from '../../lib/rules/http-rules.js';
import { MessageHead } from '../../lib/http/message-head.js';
const r = parseConfigText(readFileSync(process.argv[2]!, 'utf8'), 'x.cfg', {});
const cfg = r.config!;
const log =  { debug() {}, info() {}, warn() {}, alert() {}, notice() {}, debugEnabled: false } as unknown as ConstructorParameters<typeof Backend>[1];
const backends = new Map<string, Backend>();
for (const p of cfg.proxies) if (p.kind !== 'frontend') backends.set(p.name, new Backend(p, log));
const fe = cfg.proxies.find((p) => p.kind === 'frontend')!;
const rules = new HttpRules(fe, backends, backends.get(fe.defaultBackend!.name), cfg.userlists);
const req = new MessageHead(Buffer.from('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\nX-Secret: 1\r\n\r\n', 'latin1'));
const res = new MessageHead(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nDate: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n', 'latin1'));
const ends = { src: '127.0.0.1', srcPort: 5555, dst: '127.0.0.1', dstPort: 80 };
for (let round = 0; round < 3; round++) {
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const v = rules.onRequest(ends, req);
    rules.onResponse(v.txn, res);
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${ns.toFixed(0)} ns per request+response`);
}
for (const b of backends.values()) b.stop();
