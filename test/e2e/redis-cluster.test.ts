// The shared stick table on a three-master Redis Cluster (built with `redis-cli --cluster
// create`): three limpet instances agree on learned sessions and on concurrent first requests,
// with keys spread over the masters.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { stopChild } from '../helpers/child-process.js';
import { freePorts } from '../helpers/free-port.js';
import { get, headerValues } from '../helpers/http-client.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { haveRedisServer } from '../helpers/redis-server.js';
import { redisCommand } from '../helpers/resp.js';
import type { TeardownHost } from '../helpers/teardown.js';
import { waitFor } from '../helpers/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Three cluster-enabled redis-servers (data and bus ports ephemeral), joined as three masters. */
async function startCluster(t: TeardownHost): Promise<number[]> {
  const ports = await freePorts(6);
  const dir = mkdtempSync(join(tmpdir(), 'limpet-cluster-'));
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) await stopChild(c, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const data = ports.slice(0, 3);
  for (let i = 0; i < 3; i++) {
    children.push(spawn('redis-server', [
      '--port', String(data[i]), '--cluster-port', String(ports[3 + i]), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`),
      '--save', '', '--appendonly', 'no', '--dir', dir,
    ], { stdio: 'ignore' }));
  }
  for (const p of data) await waitFor(`redis ${p}`, async () => (await redisCommand(p, ['PING'], { timeout: 300 })) === 'PONG', 15000);
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...data.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { encoding: 'utf8', timeout: 20_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
  for (const p of data) {
    await waitFor(`cluster state ok on ${p}`, async () => /cluster_state:ok/.test(String(await redisCommand(p, ['CLUSTER', 'INFO']))), 15000);
  }
  return data;
}

/** GET on whichever master owns the key (following one MOVED). */
async function clusterGet(ports: number[], key: string): Promise<unknown> {
  const r = await redisCommand(ports[0]!, ['GET', key]);
  const moved = r instanceof Error ? /MOVED \d+ [\d.]+:(\d+)/.exec(r.message) : null;
  return moved ? redisCommand(Number(moved[1]), ['GET', key]) : r;
}

const origin = (name: string, t: TeardownHost) =>
  startOrigin({
    name,
    t,
    handler: (req, res) => {
      if (!/JSESSIONID=/.test(req.headers.cookie ?? '')) res.setHeader('Set-Cookie', `JSESSIONID=${name}-${Math.random().toString(36).slice(2)}; Path=/`);
      res.end(name);
    },
  });

const config = (nodes: number[], http: number, claim: number, origins: Origin[]) => {
  const servers = origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');
  return `
redis shared
    cluster ${nodes.map((p) => `127.0.0.1:${p}`).join(' ')}
    prefix lc
    timeout 200ms
defaults
    mode http
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:${http}
    default_backend app
frontend claimfe
    bind 127.0.0.1:${claim}
    default_backend byclient
backend app
    stick-table type string len 64 size 10k expire 30m redis shared
    stick store-response res.cook(JSESSIONID)
    stick match req.cook(JSESSIONID)
${servers}
backend byclient
    stick-table type string size 10k expire 30m redis shared
    stick on url_param(client)
${servers}
`;
};

t.test('three instances share a table on a three-master Redis Cluster', async (t) => {
  if (!haveRedisServer()) {
    if (process.env['CI'] === 'true') t.fail('redis-server is not installed');
    else t.plan(0, 'skipped: redis-server is not installed');
    return;
  }
  const nodes = await startCluster(t);
  const origins = [await origin('s1', t), await origin('s2', t), await origin('s3', t)];
  const ports = await freePorts(6);
  const inst = [];
  for (let i = 0; i < 3; i++) {
    const [http, claim] = [ports[i * 2]!, ports[i * 2 + 1]!];
    await startProxy(t, config(nodes, http, claim, origins), { waitPorts: [http, claim] });
    inst.push({ http, claim });
  }
  const [A, B, C] = inst as [{ http: number; claim: number }, { http: number; claim: number }, { http: number; claim: number }];
  await waitFor('instances connected to the cluster', async () => {
    await get(A.claim, '/?client=probe');
    return (await clusterGet(nodes, 'lc:byclient:probe')) !== null;
  }, 15000);
  await sleep(300);

  const sessions: Array<[string, string]> = [];
  for (let i = 0; i < 6; i++) {
    const r = await get(A.http, '/');
    sessions.push([/JSESSIONID=([^;]+)/.exec(headerValues(r.headers, 'set-cookie')[0]!)![1]!, r.body]);
  }
  await sleep(200);
  for (const [id, server] of sessions) {
    t.equal(await clusterGet(nodes, `lc:app:${id}`), server, `Redis Cluster holds ${id}`);
    for (const other of [B, C]) {
      const r = await get(other.http, '/', { Cookie: `JSESSIONID=${id}` });
      t.equal(`${r.status} ${r.body}`, `200 ${server}`, `session ${id} routed to ${server} by another instance`);
    }
  }
  const owners = new Set<number>();
  for (const [id] of sessions) {
    const r = await redisCommand(nodes[0]!, ['CLUSTER', 'KEYSLOT', `lc:app:${id}`]);
    owners.add(Math.floor(Number(r) / 5462));
  }
  t.ok(owners.size > 1, 'the keys spread over more than one master');

  const clients = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const results = await Promise.all(clients.map((c) => Promise.all([get(A.claim, `/?client=${c}`), get(B.claim, `/?client=${c}`)])));
  for (let i = 0; i < clients.length; i++) {
    const [a, b] = results[i]!;
    t.equal(`${a.status} ${a.body}`, `${b.status} ${b.body}`, `concurrent first requests of ${clients[i]} met on one server`);
  }
});
