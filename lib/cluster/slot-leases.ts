// A worker's side of maxconn across workers: the slots of each server it holds (leased from
// the primary, slot-pool.ts), how many of them are in use, and when to ask for more or give
// some back. A request takes a slot only while in use < leased (Server.isFull); one that must
// queue makes the worker tell the primary how many wait; a grant serves the queue like a freed
// slot. Slots are given back only while the primary says the server is contended: those above
// the part it may keep, and (after LINGER_MS) those freed with nothing waiting here.
// The worker starts holding nothing and asks the primary what it holds (hello) as its
// configuration is built, before its listeners take connections: a first start finds its fair
// share reserved, a replacement for a dead worker gets what is free, never what others hold.
import type { QueuedRequest, Server } from '../backend/server.js';
import { clusterWorker, type WorkerChannel } from './cluster-bus.js';
import {
  SLOT_TOPICS,
  slotKey,
  type GiveBackMessage,
  type GrantMessage,
  type HelloReply,
  type HelloRequest,
  type RecallMessage,
  type WantMessage,
} from './slot-protocol.js';

const HELLO_TIMEOUT_MS = 2000;
/**
 * While contended, a slot freed with nothing waiting here is given back after this long, not
 * at once: a kept-alive client's next request usually comes sooner, and taking the slot back
 * from the primary would cost it two messages and the slot a round trip unused.
 */
const LINGER_MS = 1;
/** After the first, counts of waiting requests are told at most this often. */
const REPORT_EVERY_MS = 1;

const countWaiting = (queue: QueuedRequest[]): number => {
  let n = 0;
  for (const w of queue) if (!w.cancelled) n++;
  return n;
};

/** One server's slots in this worker (shared by its Server objects across reloads). */
export class SlotShare {
  readonly key: string;
  /** slots the primary leased to this worker */
  leased = 0;
  /** slots taken by requests in flight (old configurations' servers included) */
  inUse = 0;
  /** while contended: the most slots to hold; undefined: keep what is held */
  keep: number | undefined;
  #channel: WorkerChannel;
  #ready = false;
  #seen = 0;
  /** the configurations' servers using this share, newest last (an old one drains, a failed reload's goes) */
  #bound: Array<{ server: Server; backendQueue: QueuedRequest[] }> = [];
  #reported = { wanted: 0, seen: 0 };
  #reportQueued = false;
  #linger: NodeJS.Timeout | undefined;

  constructor(key: string, channel: WorkerChannel) {
    this.key = key;
    this.#channel = channel;
  }

  /** The server of the configuration now running, and its backend's queue. */
  bind(server: Server, backendQueue: QueuedRequest[]): void {
    this.#bound = this.#bound.filter((b) => b.server !== server);
    this.#bound.push({ server, backendQueue });
  }

  /**
   * A configuration stopped (drained after a reload, or a reload that failed to start): its
   * server no longer takes grants; the newest one left does. The last one stays bound.
   */
  unbind(server: Server): void {
    if (this.#bound.length > 1) this.#bound = this.#bound.filter((b) => b.server !== server);
  }

  get #server(): Server {
    return this.#bound.at(-1)!.server;
  }

  get #backendQueue(): QueuedRequest[] {
    return this.#bound.at(-1)!.backendQueue;
  }

  get maxconn(): number {
    return this.#server.maxconn;
  }

  /** The primary's answer to hello: what this worker holds. */
  welcome(r: HelloReply[string]): void {
    this.leased = r.leased;
    this.#seen = r.granted;
    this.keep = r.keep ?? undefined;
    this.#ready = true;
    this.settle();
  }

  granted(n: number, keep: number | null): void {
    this.leased += n;
    this.#seen += n;
    this.keep = keep ?? undefined;
    this.settle();
  }

  recalled(keep: number | null): void {
    this.keep = keep ?? undefined;
    this.settle();
  }

  /** A slot was freed by `server` (this configuration's or an older one's). */
  freed(server: Server): void {
    this.inUse--;
    this.settle(server);
  }

  /** `set maxconn server` reached this worker (every worker relays it; the primary applies it once). */
  maxconnSet(n: number): void {
    this.#channel.send(SLOT_TOPICS.maxconn, { key: this.key, maxconn: n });
    this.settle();
  }

  /** A request queued, or gave up waiting, where a slot of this server could serve it. */
  waitersChanged(): void {
    this.#scheduleReport();
  }

  /**
   * After any change: give back what a recall asks for, let spare slots serve waiting requests
   * (the freeing server's first), give back what is still spare while contended (after a
   * moment), and tell the primary if the number waiting changed.
   */
  settle(from?: Server): void {
    if (!this.#ready) return;
    if (this.keep !== undefined) this.#giveBack(Math.min(this.leased - this.inUse, this.leased - this.keep));
    if (from && from !== this.#server) this.#serve(from);
    this.#serve(this.#server);
    if (this.keep !== undefined && this.leased > this.inUse) this.#giveBackSpareSoon();
    if (this.#mayWait()) this.#scheduleReport();
  }

  #giveBackSpareSoon(): void {
    if (this.#linger) return;
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.keep !== undefined) this.#giveBack(this.leased - this.inUse);
    }, LINGER_MS);
    this.#linger.unref();
  }

  #serve(server: Server): void {
    while (this.leased > this.inUse) {
      const before = this.inUse;
      server.serveWaiters();
      if (this.inUse === before) return;
    }
  }

  // The count of waiting requests rides along: the primary must not lend the slot straight
  // back for requests it believes still wait here.
  #giveBack(n: number): void {
    if (n <= 0) return;
    this.leased -= n;
    const wanted = this.#wanted();
    this.#reported = { wanted, seen: this.#seen };
    const m: GiveBackMessage = { key: this.key, n, wanted, seen: this.#seen };
    this.#channel.send(SLOT_TOPICS.giveBack, m);
  }

  #mayWait(): boolean {
    return this.#server.queue.length > 0 || this.#backendQueue.length > 0 || this.#reported.wanted > 0;
  }

  // A first waiting request is told at the next turn of the event loop; later changes at most
  // every REPORT_EVERY_MS (under contention the count moves with every request, and the
  // primary needs its size, not each step).
  #scheduleReport(): void {
    if (this.#reportQueued || !this.#ready) return;
    this.#reportQueued = true;
    const report = () => {
      this.#reportQueued = false;
      this.#report();
    };
    if (this.#reported.wanted === 0) setImmediate(report);
    else setTimeout(report, REPORT_EVERY_MS).unref();
  }

  /** Requests waiting here that a slot of this server could serve (none when holding the whole maxconn: more cannot be had). */
  #wanted(): number {
    const s = this.#server;
    return s.maxconn > 0 && this.leased < s.maxconn ? countWaiting(s.queue) + (s.balanceable ? countWaiting(this.#backendQueue) : 0) : 0;
  }

  #report(): void {
    const wanted = this.#wanted();
    // The primary counts what still waits as wanted - (granted - seen): a grant that served a
    // waiting request changes neither, nothing waiting before or now needs no word either.
    const last = this.#reported;
    if (wanted === 0 && last.wanted === 0) return;
    const unchanged = wanted + this.#seen === last.wanted + last.seen;
    this.#reported = { wanted, seen: this.#seen };
    if (unchanged) return;
    const m: WantMessage = { key: this.key, wanted, seen: this.#seen };
    this.#channel.send(SLOT_TOPICS.want, m);
  }
}

/** The worker's shares, by server, and the messages that move them. */
export class SlotLeases {
  #channel: WorkerChannel;
  #shares = new Map<string, SlotShare>();
  #unannounced: SlotShare[] = [];

  constructor(channel: WorkerChannel) {
    this.#channel = channel;
    channel.on(SLOT_TOPICS.grant, (m: GrantMessage) => this.#shares.get(m.key)?.granted(m.n, m.keep));
    channel.on(SLOT_TOPICS.recall, (m: RecallMessage) => this.#shares.get(m.key)?.recalled(m.keep));
  }

  /** The share of `backend`/`server` (created, and announced to the primary, on first use). */
  bind(backend: string, server: Server, backendQueue: QueuedRequest[]): SlotShare {
    const key = slotKey(backend, server.name);
    let share = this.#shares.get(key);
    if (!share) {
      share = new SlotShare(key, this.#channel);
      this.#shares.set(key, share);
      // Every server of a configuration in one hello.
      if (this.#unannounced.push(share) === 1) queueMicrotask(() => this.#hello(this.#unannounced.splice(0), 1));
    }
    share.bind(server, backendQueue);
    return share;
  }

  #hello(shares: SlotShare[], attempt: number): void {
    const req: HelloRequest = { servers: shares.map((s) => ({ key: s.key, maxconn: s.maxconn })) };
    this.#channel.request<HelloReply>(SLOT_TOPICS.hello, req, HELLO_TIMEOUT_MS).then(
      (reply) => {
        for (const s of shares) {
          const r = reply[s.key];
          if (r) s.welcome(r);
        }
      },
      // The primary is busy: ask again (the share holds nothing meanwhile). A worker whose
      // primary is gone stops anyway (worker-process.ts).
      () => void setTimeout(() => this.#hello(shares, attempt + 1), Math.min(1000, 100 * attempt)).unref(),
    );
  }
}

let leases: SlotLeases | undefined;

/** This worker's leases, or undefined in a single process (where maxconn is counted locally). */
export function slotLeases(): SlotLeases | undefined {
  const channel = clusterWorker();
  if (!channel) return undefined;
  leases ??= new SlotLeases(channel);
  return leases;
}
