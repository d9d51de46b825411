// Shared-table metrics on the Prometheus exposition and the stats page, with a real
// redis-server and two limpet instances: instance A places a new client (a miss, one Redis
// round trip) and answers its next requests from memory (local hits); instance B, started
// afterwards, finds the client in Redis (a Redis hit). A memory-only table counts too.
import t from 'tap';
import { freePorts } from '../helpers/free-port.js';
import { get } from '../helpers/http-client.js';
import { startOrigin } from '../helpers/origin.js';
import { startProxy } from '../helpers/proxy-process.js';
import { requireRedis } from '../helpers/redis-server.js';

/** `name{labels} value` lines of an exposition, as a map from `name{labels}` to the number. */
const samples = (text: string) =>
  new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const i = l.lastIndexOf(' ');
    return [l.slice(0, i), Number(l.slice(i + 1))] as const;
  }));

/** Until the instance's Redis link is ready (a client before that is placed by hashing, without Redis). */
async function redisReady(statsPort: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (samples((await get(statsPort, '/;prometheus')).body).get('limpet_redis_up{redis="shared",table="app"}') === 1) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the Redis link never became ready');
}

t.test('stick table hits, misses and Redis round trips are exported', async (t) => {
  const redis = await requireRedis(t);
  if (!redis) return;
  const origins = [await startOrigin({ name: 's1', t }), await startOrigin({ name: 's2', t })];
  const servers = origins.map((o) => `    server ${o.name} 127.0.0.1:${o.port}`).join('\n');
  const [aWeb, aMem, aStats, bWeb, bMem, bStats] = await freePorts(6);
  const config = (web: number, mem: number, stats: number) => `
redis shared
    server 127.0.0.1:${redis.port}
    prefix limpet-metrics-${process.pid}
    timeout 500ms
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:${web}
    stick-table type ip size 1k expire 1m redis shared
    stick on src
${servers}
listen mem
    bind 127.0.0.1:${mem}
    stick-table type ip size 1k expire 1m
    stick on src
${servers}
listen stats
    bind 127.0.0.1:${stats}
    stats uri /
`;
  await startProxy(t, config(aWeb!, aMem!, aStats!), { waitPorts: [aWeb!, aMem!, aStats!] });
  await redisReady(aStats!);

  const served: string[] = [];
  for (let i = 0; i < 4; i++) served.push((await get(aWeb!, '/')).body);
  t.equal(new Set(served).size, 1, `one server for the client: ${served}`);
  for (let i = 0; i < 3; i++) t.equal((await get(aMem!, '/')).status, 200);

  const a = samples((await get(aStats!, '/;prometheus')).body);
  t.equal(a.get('limpet_stick_table_misses_total{table="app"}'), 1, 'the first request was a miss');
  t.equal(a.get('limpet_stick_table_hits_total{table="app",source="local"}'), 3, 'the next three were answered from memory');
  t.equal(a.get('limpet_stick_table_hits_total{table="app",source="redis"}'), 0);
  t.equal(a.get('limpet_stick_table_redis_timeouts_total{table="app"}'), 0);
  t.equal(a.get('limpet_redis_up{redis="shared",table="app"}'), 1);
  t.equal(a.get('limpet_redis_round_trips_total{redis="shared"}'), 1, 'only the miss went to Redis');
  const rtt = a.get('limpet_redis_round_trip_seconds_total{redis="shared"}') ?? -1;
  t.ok(rtt > 0 && rtt < 0.5, `the round trip took some time, within the budget: ${rtt}s`);
  t.equal(a.get('limpet_stick_table_misses_total{table="mem"}'), 1, 'memory table: one miss');
  t.equal(a.get('limpet_stick_table_hits_total{table="mem",source="local"}'), 2, 'memory table: two hits');
  t.equal(a.get('limpet_stick_table_hits_total{table="mem",source="redis"}'), undefined, 'no Redis source for a memory table');
  t.equal(a.get('limpet_stick_table_entries{table="app"}'), 1);

  const page = (await get(aStats!, '/')).body;
  t.match(page, /<tr class="stick up" data-table="app"><td>app<\/td><td>1<\/td><td>1024<\/td><td>3<\/td><td>0<\/td><td>1<\/td><td>0<\/td><td>shared<\/td><td>UP<\/td><td>1<\/td>/, 'stats page row for the shared table');
  t.match(page, /<tr class="stick no-check" data-table="mem"><td>mem<\/td><td>1<\/td><td>1024<\/td><td>2<\/td><td><\/td><td>1<\/td>/, 'stats page row for the memory table');

  // B starts after A wrote the entry, so only Redis can tell it where the client goes.
  await startProxy(t, config(bWeb!, bMem!, bStats!), { waitPorts: [bWeb!, bMem!, bStats!] });
  await redisReady(bStats!);
  t.equal((await get(bWeb!, '/')).body, served[0], 'instance B sends the client to the same server');
  const b = samples((await get(bStats!, '/;prometheus')).body);
  t.equal(b.get('limpet_stick_table_hits_total{table="app",source="redis"}'), 1, 'B found the entry in Redis');
  t.equal(b.get('limpet_stick_table_misses_total{table="app"}'), 0);
  t.equal(b.get('limpet_stick_table_hits_total{table="app",source="local"}'), 0);
});
