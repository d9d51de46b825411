// The shared stick table through Redis Sentinel: limpet asks a real redis-server in sentinel
// mode for the master of `mymaster`, and two instances share what they learn.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { stopChild } from '../helpers/child-process.js';
import { freePorts } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';
import { redisCommand } from '../helpers/resp.js';
import { waitFor } from '../helpers/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('two instances share a table through a Sentinel-managed master', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const [sentinelPort, a, b] = await freePorts(3);
  const dir = mkdtempSync(join(tmpdir(), 'limpet-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${redis.port} 1\n`);
  const sentinel: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  t.teardown(async () => {
    await stopChild(sentinel, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('sentinel knows the master', async () => {
    const r = await redisCommand(sentinelPort!, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'], { timeout: 300 });
    return Array.isArray(r) && r[1] === String(redis.port);
  });
  const origins = await Promise.all(['s1', 's2'].map((name) => startOrigin({ name, t, handler: (_req, res) => res.end(name) })));
  const cfg = (port: number) => `
redis shared
    sentinel 127.0.0.1:${sentinelPort} master mymaster
    prefix ls
    timeout 200ms
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:${port}
    stick-table type string size 1k expire 10m redis shared
    stick on url_param(client)
${origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n')}
`;
  await startProxy(t, cfg(a!), { waitPorts: [a!] });
  await startProxy(t, cfg(b!), { waitPorts: [b!] });
  await waitFor('instance A writes through the Sentinel-managed master', async () => {
    await get(a!, '/?client=probe');
    return (await redisCommand(redis.port, ['EXISTS', 'ls:app:probe'])) === 1;
  });
  await sleep(300);
  const learned = new Map<string, string>();
  for (let i = 0; i < 4; i++) learned.set(`k${i}`, (await get(a!, `/?client=k${i}`)).body);
  t.equal(new Set(learned.values()).size, 2, 'A spread the clients over both servers');
  for (const [c, server] of learned) {
    t.equal(await redisCommand(redis.port, ['GET', `ls:app:${c}`]), server, `the master holds ${c}`);
    t.equal((await get(b!, `/?client=${c}`)).body, server, `B routes ${c} to ${server}`);
  }
});
