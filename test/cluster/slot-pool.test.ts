// The primary's book of a server's maxconn slots across workers (lib/cluster/slot-pool.ts):
// fair initial shares, grants from free slots, recalls while contended, dead workers' slots.
import t from 'tap';
import { maxMinSplit, SlotPool } from '../../lib/cluster/slot-pool.js';
import { fairShare } from '../../lib/cluster/slot-share.js';

function pool(maxconn: number, workers: number) {
  const grants: Array<[number, number]> = [];
  const recalls: Array<[number, number | null]> = [];
  // What each worker was last told to keep, by a recall or with a grant.
  const told = new Map<number, number | null>();
  const p = new SlotPool('be/s1', maxconn, workers, {
    grant: (id, n, keep) => (grants.push([id, n]), told.set(id, keep)),
    recall: (id, keep) => (recalls.push([id, keep]), told.set(id, keep)),
  });
  const keeps = () => Array.from({ length: workers }, (_, i) => told.get(i + 1) ?? null);
  return { p, grants, recalls, keeps };
}

t.test('fair shares add up to the total, the remainder to low ids', async (t) => {
  t.same([1, 2, 3].map((id) => fairShare(10, id, 3)), [4, 3, 3]);
  t.same([1, 2, 3, 4].map((id) => fairShare(3, id, 4)), [1, 1, 1, 0]);
  t.equal(fairShare(7, 1, 1), 7);
  const { p } = pool(3, 2);
  t.same([p.hello(1).leased, p.hello(2).leased], [2, 1], 'each worker starts with its share');
  t.equal(p.leased, 3);
});

t.test('a want is granted from free slots, else recalled from the others', async (t) => {
  const { p, grants, keeps } = pool(3, 2);
  p.hello(1);
  p.hello(2);
  p.giveBack(1, 1);
  p.want(2, 2, 1);
  t.same(grants, [[2, 1]], 'the one free slot goes to the waiting worker');
  t.same(keeps(), [1, 2], 'contended: each keeps a fair split by demand (held + waiting: 1 and 3), the grant says so itself');
  t.equal(p.leased, 3, 'never more leased than maxconn');
  p.giveBack(1, 1);
  t.same(grants.at(-1), [2, 1], 'a slot given back goes to the waiting worker');
  t.equal(p.leaseOf(2), 3);
  t.same(keeps(), [null, null], 'nobody waits any more: no longer contended');
});

t.test('max-min split: small demands served first, the rest shared evenly', async (t) => {
  const split = (total: number, d: number[]) => [...maxMinSplit(total, d.map((x, i) => [i + 1, x] as const))].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  t.same(split(20, [25, 25]), [10, 10]);
  t.same(split(20, [3, 25]), [3, 17]);
  t.same(split(3, [5, 5]), [2, 1], 'the remainder to the lower id');
  t.same(split(10, [0, 4, 30]), [0, 4, 6]);
});

t.test('a worker whose queue empties for a moment keeps what it uses', async (t) => {
  const { p, recalls } = pool(20, 2);
  p.hello(1);
  p.hello(2);
  p.want(1, 15, 10);
  p.want(2, 15, 10);
  t.same(recalls.slice(-2), [[1, 10], [2, 10]]);
  const before = recalls.length;
  p.want(1, 0, 10);
  t.equal(recalls.length, before, 'its 10 slots in use still count: nothing recalled');
});

t.test('a want already served by grants on their way is not counted twice', async (t) => {
  const { p, grants } = pool(4, 2);
  p.hello(1);
  p.hello(2);
  p.giveBack(1, 2);
  p.want(2, 1, 2);
  t.same(grants, [[2, 1]]);
  // The worker's next count (still 1 waiting) was made before it saw that grant.
  p.want(2, 1, 2);
  t.same(grants, [[2, 1]], 'no second grant for the same waiting request');
  t.equal(p.leased, 3, 'the other slot stays free');
});

t.test('two waiting workers share the slots fairly', async (t) => {
  const { p, recalls } = pool(4, 2);
  p.hello(1);
  p.hello(2);
  p.want(1, 5, 2);
  p.want(2, 5, 2);
  t.same(recalls.slice(-2), [[1, 2], [2, 2]], 'each keeps half');
  p.giveBack(1, 1);
  t.equal(p.leaseOf(2), 2, 'a freed slot goes to the one holding fewest');
  t.equal(p.leaseOf(1), 2);
});

t.test("a dead worker's slots come back; its replacement gets a share of what is free", async (t) => {
  const { p, grants } = pool(3, 2);
  p.hello(1);
  p.hello(2);
  p.want(2, 3, 0);
  p.workerExited(1);
  t.same(grants, [[2, 2]], "the dead worker's two slots go to the waiting one");
  t.equal(p.hello(1).leased, 0, 'nothing free for the replacement');
  p.want(2, 0, 2);
  p.giveBack(2, 3);
  p.workerExited(1);
  t.equal(p.hello(1).leased, 2, 'a replacement starts with its share when slots are free');
});

t.test('maxconn lowered: every worker down to its share; raised: waiting workers get the new slots', async (t) => {
  const { p, recalls, grants } = pool(4, 2);
  p.hello(1);
  p.hello(2);
  p.setMaxconn(2);
  t.same(recalls.slice(-2), [[1, 1], [2, 1]], 'over-leased: each keeps its share of the new limit');
  p.giveBack(1, 1);
  p.giveBack(2, 1);
  t.same(recalls.slice(-2), [[1, null], [2, null]], 'back within the limit');
  p.want(1, 3, 2);
  p.setMaxconn(5);
  t.same(grants.at(-1), [1, 3], 'the new slots go to the waiting worker');
  p.setMaxconn(0);
  t.equal(recalls.at(-1)![1], null, 'no limit: nothing to recall');
});

t.test('a slot given back goes to the other worker, with what it may now keep', async (t) => {
  const { p, grants, keeps } = pool(4, 2);
  p.hello(1);
  p.hello(2);
  p.want(1, 6, 2);
  p.want(2, 3, 2);
  t.same(keeps(), [2, 2]);
  // Worker 2's queue emptied: it gives a freed slot back and says nothing waits there now.
  p.giveBack(2, 1, 0, 2);
  t.same(grants, [[1, 1]], 'not lent straight back to worker 2 for requests no longer waiting');
  t.equal(keeps()[0], 3, 'the grant tells worker 1 it may keep 3, so it does not give the slot back');
  t.equal(keeps()[1], 2, 'worker 2, holding 1, is not told its part is 1 now: it would act alike');
});

t.test("the remainder of a server's split starts in another worker for each server", async (t) => {
  const out = { grant: () => {}, recall: () => {} };
  const first = new SlotPool('be/s1', 1, 2, out, 0);
  const second = new SlotPool('be/s2', 1, 2, out, 1);
  t.same([first.hello(1).leased, first.hello(2).leased], [1, 0]);
  t.same([second.hello(1).leased, second.hello(2).leased], [0, 1]);
  const third = new SlotPool('be/s3', 5, 2, out, 1);
  t.same([third.hello(1).leased, third.hello(2).leased], [2, 3]);
});
