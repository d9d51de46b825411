// The primary's book of one server's maxconn slots across workers: how many each worker holds
// (its lease), how many requests wait in each for one, and what it has been told to keep.
// Each worker's part is a max-min fair split of maxconn by demand (what it holds plus what
// waits there). Free slots go to waiting workers, the one furthest below its part first;
// while some wait and none is free, the pool is contended: every worker is told its part and
// gives back what it holds above it as its requests finish, and any slot it frees with
// nothing waiting. A dead worker's slots are free again. Splitting by demand, not by
// who waits at this instant, keeps a worker whose queue empties for a moment from being told
// to give everything back. Uncontended, workers keep what they hold, so a busy worker pays
// no message per request.
import { fairShare } from './slot-share.js';

/** How the pool speaks to workers (the service sends these over the cluster channel). */
export interface SlotOutbox {
  /** `n` more slots; `keep` as in recall (a grant says what to keep, so no recall follows it) */
  grant(workerId: number, n: number, keep: number | null): void;
  /** keep at most `keep` slots; null: no longer contended, keep what you hold */
  recall(workerId: number, keep: number | null): void;
}

interface WorkerBook {
  leased: number;
  /** grants counted since the worker started (its initial share included) */
  granted: number;
  /** the worker's last count of waiting requests, and the grants it had seen then */
  wanted: number;
  seen: number;
  /** the recall in force, as the worker knows it (last sent) */
  keep: number | null;
  /** said hello since it started */
  greeted: boolean;
}

export class SlotPool {
  readonly key: string;
  #maxconn: number;
  #workers: number;
  #rotate: number;
  #out: SlotOutbox;
  #books = new Map<number, WorkerBook>();

  /**
   * Every worker starts holding its fair share, so first requests need no message. The
   * remainder of the split goes to the lowest ids after rotating by `rotate` (the server's
   * index), so that with maxconn below the number of workers each server's few slots start
   * in different workers.
   */
  constructor(key: string, maxconn: number, workers: number, out: SlotOutbox, rotate = 0) {
    this.key = key;
    this.#maxconn = maxconn;
    this.#workers = workers;
    this.#rotate = rotate;
    this.#out = out;
    for (let id = 1; id <= workers; id++) {
      const share = this.#fairShare(id);
      this.#books.set(id, { leased: share, granted: share, wanted: 0, seen: 0, keep: null, greeted: false });
    }
  }

  get maxconn(): number {
    return this.#maxconn;
  }

  /** Slots held by workers (may exceed maxconn for a while after it was lowered). */
  get leased(): number {
    let n = 0;
    for (const b of this.#books.values()) n += b.leased;
    return n;
  }

  /** What worker `id` holds (for tests and logs). */
  leaseOf(id: number): number {
    return this.#book(id).leased;
  }

  /**
   * A worker (new, or replacing a dead one) starts using this server: it holds what the book
   * says; a replacement, whose predecessor's slots went back to the pool, gets up to its fair
   * share of the free ones.
   */
  hello(id: number): { leased: number; granted: number; keep: number | null } {
    const b = this.#book(id);
    if (!b.greeted && this.#maxconn > 0) {
      const top = Math.max(0, Math.min(this.#fairShare(id) - b.leased, this.#free()));
      b.leased += top;
      b.granted += top;
    }
    b.greeted = true;
    return { leased: b.leased, granted: b.granted, keep: b.keep };
  }

  want(id: number, wanted: number, seen: number): void {
    const b = this.#book(id);
    b.wanted = wanted;
    b.seen = seen;
    this.#rebalance();
  }

  /** A worker gave back `n` slots, saying how many requests wait there (as in want). */
  giveBack(id: number, n: number, wanted?: number, seen?: number): void {
    const b = this.#book(id);
    b.leased = Math.max(0, b.leased - n);
    if (wanted !== undefined && seen !== undefined) [b.wanted, b.seen] = [wanted, seen];
    this.#rebalance();
  }

  /** `set maxconn server`, or a reload with another value (0: no limit). */
  setMaxconn(n: number): void {
    if (n === this.#maxconn) return;
    this.#maxconn = n;
    this.#rebalance();
  }

  /** A worker died: what it held comes back, and its replacement starts afresh. */
  workerExited(id: number): void {
    this.#books.set(id, { leased: 0, granted: 0, wanted: 0, seen: 0, keep: null, greeted: false });
    this.#rebalance();
  }

  #book(id: number): WorkerBook {
    let b = this.#books.get(id);
    if (!b) this.#books.set(id, (b = { leased: 0, granted: 0, wanted: 0, seen: 0, keep: null, greeted: false }));
    return b;
  }

  #fairShare(id: number): number {
    if (this.#maxconn <= 0) return 0;
    return fairShare(this.#maxconn, ((id - 1 + this.#rotate) % this.#workers) + 1, this.#workers);
  }

  #free(): number {
    return this.#maxconn - this.leased;
  }

  /** Requests waiting in a worker that no grant already on its way will serve. */
  #waiting(b: WorkerBook): number {
    return Math.max(0, b.wanted - (b.granted - b.seen));
  }

  #rebalance(): void {
    const ids = [...this.#books.keys()].sort((a, b) => a - b);
    if (this.#maxconn <= 0) {
      for (const id of ids) this.#tell(id, null);
      return;
    }
    // What each may keep when contended: a max-min fair split by demand (held + waiting). A
    // grant moves a slot from waiting to held, so the split holds through the grants below.
    const demand = (id: number) => this.#books.get(id)!.leased + this.#waiting(this.#books.get(id)!);
    const keep = maxMinSplit(this.#maxconn, ids.map((id) => [id, demand(id)] as const));
    // Free slots to waiting workers, one at a time to the one furthest below its part (never
    // beyond it while others wait: it would give the slot straight back).
    let free = this.#free();
    const grants = new Map<number, number>();
    while (free > 0) {
      let to: number | undefined;
      let deficit = -Infinity;
      for (const id of ids) {
        const b = this.#books.get(id)!;
        const d = keep.get(id)! - b.leased;
        if (this.#waiting(b) > 0 && d > deficit) [to, deficit] = [id, d];
      }
      if (to === undefined) break;
      const b = this.#books.get(to)!;
      b.leased++;
      b.granted++;
      grants.set(to, (grants.get(to) ?? 0) + 1);
      free--;
    }
    const contended = free < 0 || ids.some((id) => this.#waiting(this.#books.get(id)!) > 0);
    for (const id of ids) {
      const k = contended ? keep.get(id)! : null;
      const n = grants.get(id);
      if (n === undefined) this.#tell(id, k);
      else {
        this.#books.get(id)!.keep = k;
        this.#out.grant(id, n, k);
      }
    }
  }

  #tell(id: number, keep: number | null): void {
    const b = this.#books.get(id)!;
    if (b.keep === keep) return;
    // A worker compares `keep` only with what it holds: while both the value it knows and the
    // new one are at least that, it would act alike, so spare it the message.
    if (keep !== null && b.keep !== null && keep >= b.leased && b.keep >= b.leased) return;
    b.keep = keep;
    this.#out.recall(id, keep);
  }
}

/**
 * Splits `total` so that no taker gets more than it asks and the smallest askers are served
 * first (max-min fairness); equal demands split evenly, the lower id first on a remainder.
 */
export function maxMinSplit(total: number, demands: ReadonlyArray<readonly [number, number]>): Map<number, number> {
  const order = [...demands].sort((a, b) => a[1] - b[1] || b[0] - a[0]);
  const out = new Map<number, number>();
  let left = total;
  order.forEach(([id, d], i) => {
    const give = Math.min(d, Math.floor(left / (order.length - i)));
    out.set(id, give);
    left -= give;
  });
  return out;
}
