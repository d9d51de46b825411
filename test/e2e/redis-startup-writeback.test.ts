// A client that arrives before limpet's first Redis connection is ready is placed by hashing
// (as during an outage) and remembered locally; once the connection is ready, that entry is
// written to Redis, so the other instances learn it. Redis is held with SIGSTOP while limpet
// starts: the TCP connection is accepted by the kernel but the ready check waits, so no
// outage is ever reported (the case a plain "write back after an outage" missed).
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';
import { redisCommand } from '../helpers/resp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('entries learned before the first Redis connection is ready are written back', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const origins = [];
  for (const name of ['s1', 's2', 's3']) origins.push(await startOrigin({ name, t, handler: (_req, res) => res.end(name) }));
  const [tcp] = await freePorts(1);
  let stopped = false;
  const resume = () => {
    if (stopped) process.kill(redis.pid!, 'SIGCONT');
    stopped = false;
  };
  t.teardown(resume);
  process.kill(redis.pid!, 'SIGSTOP');
  stopped = true;
  await startProxy(t, `
redis shared
    server 127.0.0.1:${redis.port}
    prefix limpet-startup
    timeout 100ms
defaults
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen tcpapp
    mode tcp
    bind :${tcp}
    stick-table type ipv6 size 1k expire 1m redis shared
    stick on src
${origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n')}
`, { waitPorts: [tcp!] });
  const r = await get(tcp!, '/', undefined, { host: '::1', timeout: 3000 });
  t.equal(r.status, 200, 'served while Redis does not answer');
  resume();
  const key = 'limpet-startup:tcpapp:::1';
  let stored: unknown = null;
  for (let i = 0; i < 60 && stored === null; i++) {
    await sleep(50);
    stored = await redisCommand(redis.port, ['GET', key]);
  }
  t.equal(stored, r.body, `Redis learned ::1 -> ${r.body} once the connection was ready`);
});
