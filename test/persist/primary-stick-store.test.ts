// The primary's stick tables (stickTableService) and the workers' copies (PrimaryStickStore)
// over an in-process stand-in for the cluster bus that delivers each message on a later
// turn, as IPC does: first writer wins, what one worker learns reaches the others, LRU
// evictions and `clear table` reach every copy, `nopurge` refuses, a new worker starts from
// the whole table, reloads keep or drop tables, and a lost entry comes back on refresh.
// (test/e2e/workers-stick.test.ts drives the same through real worker processes.)
import t from 'tap';
import type { PrimaryChannel, WorkerChannel } from '../../lib/cluster/cluster-bus.js';
import type { PrimaryService } from '../../lib/cluster/primary-service.js';
import { stickTableService } from '../../lib/cluster/stick-service.js';
import type { Config, StickTableType } from '../../lib/config/types.js';
import { createLogger } from '../../lib/observe/logger.js';
import { PrimaryStickLink } from '../../lib/persist/primary-stick-link.js';
import { PRIMARY_ANSWER_MS, PrimaryStickStore } from '../../lib/persist/primary-stick-store.js';
import type { TeardownHost } from '../helpers/teardown.js';

type Handler = (payload: any, workerId: number) => unknown;
const later = () => new Promise<void>((r) => setImmediate(r));
/** Lets every message in flight (and those it causes) arrive. */
const settle = async () => {
  for (let round = 0; round < 3; round++) {
    // the primary tells changes every 2 ms
    await new Promise((r) => setTimeout(r, 4));
    for (let i = 0; i < 10; i++) await later();
  }
};

/** One primary and its workers in one process; messages travel through JSON, one turn later. */
class Bus {
  primaryHandlers = new Map<string, Handler>();
  workers = new Map<number, Map<string, Handler>>();
  /** every message: to a worker by id, or to the primary (0) */
  sent: Array<{ to: number; topic: string; payload: unknown }> = [];

  primary(): PrimaryChannel {
    const bus = this;
    return {
      on: (topic: string, h: Handler) => bus.primaryHandlers.set(topic, h),
      get workerIds() {
        return [...bus.workers.keys()];
      },
      sendTo: (id: number, topic: string, payload: unknown) => bus.deliver(id, topic, payload),
      broadcast(topic: string, payload: unknown) {
        for (const id of bus.workers.keys()) bus.deliver(id, topic, payload);
      },
    } as unknown as PrimaryChannel;
  }

  worker(id: number): WorkerChannel {
    const handlers = new Map<string, Handler>();
    this.workers.set(id, handlers);
    const bus = this;
    return {
      workerId: id,
      workers: 2,
      on: (topic: string, h: Handler) => handlers.set(topic, h),
      send(topic: string, payload: unknown) {
        bus.sent.push({ to: 0, topic, payload });
        const copy = JSON.parse(JSON.stringify(payload ?? null));
        void later().then(() => bus.primaryHandlers.get(topic)?.(copy, id));
      },
      async request(topic: string, payload: unknown) {
        bus.sent.push({ to: 0, topic, payload });
        const copy = JSON.parse(JSON.stringify(payload ?? null));
        await later();
        const out = bus.primaryHandlers.get(topic)!(copy, id);
        await later();
        return JSON.parse(JSON.stringify(out ?? null));
      },
    } as unknown as WorkerChannel;
  }

  deliver(id: number, topic: string, payload: unknown): void {
    this.sent.push({ to: id, topic, payload });
    const copy = JSON.parse(JSON.stringify(payload));
    void later().then(() => this.workers.get(id)?.get(topic)?.(copy, 0));
  }
}

const log = createLogger({ quiet: true });
const table = { type: 'string' as StickTableType, size: 100, expire: 60_000, nopurge: false };

function cluster(t: TeardownHost, opts: Partial<typeof table> = {}, workers = 2, dumpChunk?: number) {
  const bus = new Bus();
  const service: PrimaryService = stickTableService({ channel: bus.primary(), config: () => ({}) as Config, log, workers, reload: async () => '' }, dumpChunk);
  const stores = Array.from({ length: workers }, (_, i) => new PrimaryStickStore('app', { ...table, ...opts }, new PrimaryStickLink(bus.worker(i + 1)), log));
  t.teardown(() => {
    for (const s of stores) s.close();
    service.close?.();
  });
  const join = (id: number, o: Partial<typeof table> = opts) => {
    const s = new PrimaryStickStore('app', { ...table, ...o }, new PrimaryStickLink(bus.worker(id)), log);
    t.teardown(() => s.close());
    return s;
  };
  return { bus, service, stores, join };
}

const matched = (s: PrimaryStickStore, key: string) => new Promise<string | undefined>((r) => s.match(key, r));
const claimed = (s: PrimaryStickStore, key: string, server: string) => new Promise<string | undefined>((r) => s.claim(key, () => server, r));
const keys = (s: PrimaryStickStore) => [...s.entries()].map(([k, e]) => `${k}=${e.server}`).sort();

t.test('what one worker stores, the other matches from its own copy', async (t) => {
  const { stores: [a, b] } = cluster(t);
  await settle();
  a!.store('sid-1', 's2');
  await settle();
  t.same(keys(b!), ['sid-1=s2'], "B's copy has A's entry");
  t.equal(await matched(b!, 'sid-1'), 's2');
  t.equal(b!.counters.localHits, 1, 'answered from the copy');
});

t.test('a key not yet in the copy is asked of the primary', async (t) => {
  const { stores: [a, b] } = cluster(t);
  await settle();
  a!.store('sid-1', 's2');
  await later();
  await later();
  // The primary has it; the event to B may still be on its way.
  t.equal(await matched(b!, 'sid-1'), 's2');
  t.equal(await matched(b!, 'nobody'), undefined);
  t.equal(b!.counters.misses, 1);
});

t.test('concurrent claims of a new key in two workers: the first writer wins in both', async (t) => {
  const { stores: [a, b] } = cluster(t);
  await settle();
  const [x, y] = await Promise.all([claimed(a!, 'client', 's1'), claimed(b!, 'client', 's3')]);
  t.equal(x, 's1', "A's claim arrived first");
  t.equal(y, 's1', "B gets A's server, not its own");
  await settle();
  t.same(keys(a!), ['client=s1']);
  t.same(keys(b!), ['client=s1']);
});

t.test("a claim's answer tells the claimer; the event goes to the others only", async (t) => {
  const { bus, stores: [a, b] } = cluster(t);
  await settle();
  bus.sent = [];
  t.equal(await claimed(a!, 'client', 's2'), 's2');
  await settle();
  const events = bus.sent.filter((m) => m.topic === 'stick-events');
  t.same(events.map((m) => m.to), [2], 'one event, to B');
  t.same(keys(a!), ['client=s2']);
  t.same(keys(b!), ['client=s2']);
});

t.test('a store of a new key that lost the race is set right in its worker', async (t) => {
  const { stores: [a, b] } = cluster(t);
  await settle();
  a!.store('k', 's1');
  b!.store('k', 's2');
  await settle();
  t.same(keys(a!), ['k=s1']);
  t.same(keys(b!), ['k=s1'], 'first writer wins');
  // A known entry stored with another server overwrites (the client was sent elsewhere on purpose).
  b!.store('k', 's2');
  await settle();
  t.same(keys(a!), ['k=s2']);
});

t.test("the primary's LRU evictions and clear table reach every copy", async (t) => {
  const { stores: [a, b] } = cluster(t, { size: 2 });
  await settle();
  a!.store('k1', 's1');
  await settle();
  a!.store('k2', 's1');
  await settle();
  b!.store('k3', 's2');
  await settle();
  t.same(keys(a!), ['k2=s1', 'k3=s2'], 'k1 evicted from A');
  t.same(keys(b!), ['k2=s1', 'k3=s2'], 'and from B');
  b!.delete('k2');
  await settle();
  t.same(keys(a!), ['k3=s2'], "B's delete reached A");
  t.equal(await matched(a!, 'k2'), undefined, 'and the primary');
});

t.test('nopurge: a full table stores nothing more, the claim still answers', async (t) => {
  const { stores: [a, b] } = cluster(t, { size: 1, nopurge: true });
  await settle();
  t.equal(await claimed(a!, 'k1', 's1'), 's1');
  t.equal(await claimed(b!, 'k2', 's2'), 's2', 'the balancer\'s pick, not stored');
  await settle();
  t.same(keys(a!), ['k1=s1']);
  t.same(keys(b!), ['k1=s1']);
  b!.store('k3', 's2');
  await settle();
  t.equal(await matched(a!, 'k3'), undefined, 'a refused store is in no copy');
});

t.test('a worker that starts gets the whole table in chunks, with the time each entry has left', async (t) => {
  const { bus, stores: [a], join } = cluster(t, {}, 2, 7);
  await settle();
  for (let i = 0; i < 50; i++) a!.store(`k${i}`, `s${i % 3}`);
  await settle();
  const c = join(3);
  // Changes made while the copy is under way reach it too.
  await later();
  await later();
  a!.store('k49', 's9');
  a!.store('late', 's1');
  await settle();
  await c.copied;
  t.equal(c.localCount, 51, 'the copy holds every entry');
  t.equal(await matched(c, 'k49'), 's9', 'a change made during the copy');
  t.equal(bus.sent.filter((m) => m.topic === 'stick-dump').length, 7, '50 entries, 7 a chunk: the attach and 7 more requests');
  t.equal(await matched(c, 'k7'), 's1');
  const [, e] = [...c.entries()][0]!;
  t.ok(e.expires > Date.now() + 50_000 && e.expires <= Date.now() + 60_000, 'expiry carried over');
});

t.test('reload: same name and type keep their entries (new size too), another type or a table gone start empty', async (t) => {
  const { stores: [a], service, join } = cluster(t);
  await settle();
  a!.store('k', 's1');
  await settle();
  const bigger = join(3, { size: 500 });
  await settle();
  t.same(keys(bigger), ['k=s1'], 'a new size keeps the entries');
  const ip = join(4, { type: 'ip' });
  await settle();
  t.same(keys(ip), [], 'another key type is another table');
  service.reload!({ proxies: [{ name: 'app', stickTable: { ...table, size: 500 } }] } as unknown as Config);
  const kept = join(5, { size: 500 });
  await settle();
  t.same(keys(kept), ['k=s1'], 'a reload naming the table keeps it');
  service.reload!({ proxies: [] } as unknown as Config);
  const fresh = join(6, { size: 500 });
  await settle();
  t.same(keys(fresh), [], 'a reload without the table drops it');
});

t.test("sliding expiry: hits in one worker refresh the primary once per quarter of expire, and keep the entry for the others", async (t) => {
  const { bus, stores: [a, b] } = cluster(t, { expire: 400 });
  await settle();
  a!.store('k', 's1');
  await settle();
  const touches = () => bus.sent.filter((m) => m.topic === 'stick-ops' && (m.payload as Array<{ op: string }>).some((o) => o.op === 'touch')).length;
  // A uses the entry for 1.5 times expire; B's copy, never used, expires meanwhile.
  const seen = new Set<string | undefined>();
  const end = Date.now() + 600;
  while (Date.now() < end) {
    seen.add(await matched(a!, 'k'));
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same([...seen], ['s1'], 'A kept matching s1');
  t.ok(touches() >= 3 && touches() <= 7, `A refreshed the primary ${touches()} times in 600 ms (every 100 ms at most)`);
  t.equal(b!.localCount === 0 || [...b!.entries()].every(([, e]) => e.expires <= Date.now()), true, "B's copy expired");
  t.equal(await matched(b!, 'k'), 's1', 'the primary kept it alive: B gets it');
});

t.test('a primary that does not answer in time: the request goes on unplaced, counted as a timeout', async (t) => {
  const silent = {
    on: () => {},
    send: () => {},
    request: (topic: string, _payload: unknown, timeoutMs: number) =>
      new Promise((_, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
        // the attach waits longer than this test lasts
        if (topic === 'stick-attach') timer.unref();
      }),
  } as unknown as WorkerChannel;
  const s = new PrimaryStickStore('app', table, new PrimaryStickLink(silent), log);
  t.teardown(() => s.close());
  const started = Date.now();
  const [claim, match] = await Promise.all([claimed(s, 'k', 's1'), matched(s, 'j')]);
  const took = Date.now() - started;
  t.equal(claim, undefined, 'the claim says nothing (the stick rule then places the client by hashing its key)');
  t.equal(match, undefined);
  t.ok(took >= 240 && took < 1000, `answered after the ${PRIMARY_ANSWER_MS} ms budget (${took} ms)`);
  t.equal(s.counters.timeouts, 2);
});

t.test('copied: resolves once the whole table is in, or when the copy cannot be had', async (t) => {
  const { join } = cluster(t, {}, 2, 3);
  const c = join(3);
  let done = false;
  void c.copied.then(() => (done = true));
  t.notOk(done, 'not before the primary answered');
  await c.copied;
  const refused = { on: () => {}, send: () => {}, request: () => Promise.reject(new Error('channel closed')) } as unknown as WorkerChannel;
  const lone = new PrimaryStickStore('app', table, new PrimaryStickLink(refused), log);
  t.teardown(() => lone.close());
  await lone.copied;
  t.pass('a refused copy does not hold the start');
});
