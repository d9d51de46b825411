// A worker's leases of a server's maxconn slots (lib/cluster/slot-leases.ts), against a stand-in
// for the primary's channel: what a Server may take, when the worker asks, serves and gives back.
import t from 'tap';
import type { WorkerChannel } from '../../lib/cluster/cluster-bus.js';
import { SlotLeases } from '../../lib/cluster/slot-leases.js';
import { SLOT_TOPICS, type HelloReply } from '../../lib/cluster/slot-protocol.js';
import type { QueuedRequest, Server } from '../../lib/backend/server.js';
import { makeServer } from '../balance/farm.js';

function primary(reply: HelloReply) {
  const sent: Array<[string, any]> = [];
  const handlers = new Map<string, (p: any) => unknown>();
  const channel = {
    send: (topic: string, payload: unknown) => void sent.push([topic, payload]),
    request: async () => reply,
    on: (topic: string, h: (p: any) => unknown) => void handlers.set(topic, h),
  } as unknown as WorkerChannel;
  const tell = (topic: string, payload: unknown) => handlers.get(topic)!(payload);
  return { channel, sent, tell };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

function waiter(): QueuedRequest & { got: Server | undefined } {
  const w = { cancelled: false, got: undefined as Server | undefined, grant: (s: Server) => void (w.got = s) };
  return w;
}

async function setup(leased: number, keep: number | null = null) {
  const p = primary({ 'be/s1': { leased, granted: leased, keep } });
  const leases = new SlotLeases(p.channel);
  const server = makeServer({ name: 's1', maxconn: 3 }, 1);
  const backendQueue: QueuedRequest[] = [];
  server.share = leases.bind('be', server, backendQueue);
  await tick();
  return { ...p, server, backendQueue };
}

t.test('a worker uses only the slots leased to it', async (t) => {
  const { server, sent } = await setup(2);
  t.notOk(server.isFull());
  server.take();
  server.take();
  t.ok(server.isFull(), 'full at 2 leased slots, below maxconn 3');
  server.release();
  server.release();
  t.same(sent.filter(([topic]) => topic !== SLOT_TOPICS.maxconn), [], 'uncontended: no message per request');
});

t.test('a queued request is told to the primary; a grant serves it', async (t) => {
  const { server, sent, tell } = await setup(1);
  server.take();
  const w = waiter();
  server.enqueue(w);
  await tick();
  t.same(sent, [[SLOT_TOPICS.want, { key: 'be/s1', wanted: 1, seen: 1 }]]);
  tell(SLOT_TOPICS.grant, { key: 'be/s1', n: 1, keep: null });
  t.equal(w.got, server, 'the grant served the waiting request');
  t.equal(server.share!.inUse, 2);
});

t.test('the backend queue asks for slots too', async (t) => {
  const { server, sent, tell, backendQueue } = await setup(0);
  const w = waiter();
  backendQueue.push(w);
  server.share!.waitersChanged();
  await tick();
  t.same(sent, [[SLOT_TOPICS.want, { key: 'be/s1', wanted: 1, seen: 0 }]]);
  // What the backend does with a freed slot: serve its queue.
  server.onSlotFree = (s) => {
    const next = backendQueue.shift();
    if (next && !s.isFull()) (s.take(), next.grant(s));
  };
  tell(SLOT_TOPICS.grant, { key: 'be/s1', n: 1, keep: null });
  t.equal(w.got, server);
});

t.test('contended: a slot above the part to keep goes back at once, a spare one after a moment', async (t) => {
  const { server, sent, tell } = await setup(3);
  server.take();
  server.take();
  server.take();
  const w = waiter();
  server.enqueue(w);
  tell(SLOT_TOPICS.recall, { key: 'be/s1', keep: 2 });
  server.release();
  t.same(sent.at(-1), [SLOT_TOPICS.giveBack, { key: 'be/s1', n: 1, wanted: 1, seen: 3 }], 'above its part: given back though a request waits');
  t.equal(w.got, undefined);
  server.release();
  t.equal(w.got, server, 'within its part: the freed slot serves the waiting request');
  sent.length = 0;
  server.release();
  t.same(sent, [], 'a spare slot is kept a moment');
  await tick();
  t.same(sent.filter(([topic]) => topic === SLOT_TOPICS.giveBack), [[SLOT_TOPICS.giveBack, { key: 'be/s1', n: 1, wanted: 0, seen: 3 }]], 'then given back');
  t.equal(server.share!.leased, 1);
});

t.test('a request arriving while a spare slot lingers takes it', async (t) => {
  const { server, sent, tell } = await setup(2);
  server.take();
  server.take();
  tell(SLOT_TOPICS.recall, { key: 'be/s1', keep: 2 });
  server.release();
  t.notOk(server.isFull());
  server.take();
  await tick();
  t.same(sent.filter(([topic]) => topic === SLOT_TOPICS.giveBack), [], 'nothing given back: it was used');
  tell(SLOT_TOPICS.recall, { key: 'be/s1', keep: null });
  server.release();
  await tick();
  t.same(sent.filter(([topic]) => topic === SLOT_TOPICS.giveBack), [], 'uncontended: kept');
});

t.test("after a reload the new configuration's server takes grants; after a failed one, the old again", async (t) => {
  const { server: old, sent, tell } = await setup(1);
  const next = makeServer({ name: 's1', maxconn: 3 }, 1);
  next.share = old.share;
  old.share!.bind(next, []);
  old.take();
  t.ok(next.isFull(), "the old configuration's request in flight counts against the new one's server");
  const w = waiter();
  next.enqueue(w);
  await tick();
  t.same(sent.at(-1), [SLOT_TOPICS.want, { key: 'be/s1', wanted: 1, seen: 1 }], "the new server's queue is counted");
  old.release();
  t.equal(w.got, next, "a slot freed by the old configuration's server serves the new one's queue");
  // The new configuration failed to start: its server is unbound, the old one's queue is served again.
  old.share!.unbind(next);
  const w2 = waiter();
  old.enqueue(w2);
  tell(SLOT_TOPICS.grant, { key: 'be/s1', n: 1, keep: null });
  t.equal(w2.got, old);
});
