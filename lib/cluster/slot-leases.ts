// A worker's side of maxconn across workers: the slots of each server it holds (leased from
// the primary, slot-pool.ts), how many of them are in use, and when to ask for more or give
// some back. A request takes a slot only while in use < leased (Server.isFull); one that must
// queue makes the worker tell the primary how many wait; a grant serves the queue like a freed
// slot. Slots are given back only while the primary says the server is contended.
import type { QueuedRequest, Server } from '../backend/server.js';
import { clusterWorker, type WorkerChannel } from './cluster-bus.js';
import {
  SLOT_TOPICS,
  slotKey,
  type GrantMessage,
  type HelloReply,
  type HelloRequest,
  type RecallMessage,
  type WantMessage,
} from './slot-protocol.js';

const HELLO_TIMEOUT_MS = 2000;

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
  #server!: Server;
  #backendQueue!: QueuedRequest[];
  #reported = { wanted: 0, seen: 0 };
  #reportQueued = false;

  constructor(key: string, channel: WorkerChannel) {
    this.key = key;
    this.#channel = channel;
  }

  /** The server of the configuration now running, and its backend's queue. */
  bind(server: Server, backendQueue: QueuedRequest[]): void {
    this.#server = server;
    this.#backendQueue = backendQueue;
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

  granted(n: number): void {
    this.leased += n;
    this.#seen += n;
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
   * (the freeing server's first), give back what is still spare while contended, and tell the
   * primary if the number waiting changed.
   */
  settle(from?: Server): void {
    if (!this.#ready) return;
    if (this.keep !== undefined) this.#giveBack(Math.min(this.leased - this.inUse, this.leased - this.keep));
    if (from && from !== this.#server) this.#serve(from);
    this.#serve(this.#server);
    if (this.keep !== undefined) this.#giveBack(this.leased - this.inUse);
    if (this.#mayWait()) this.#scheduleReport();
  }

  #serve(server: Server): void {
    while (this.leased > this.inUse) {
      const before = this.inUse;
      server.serveWaiters();
      if (this.inUse === before) return;
    }
  }

  #giveBack(n: number): void {
    if (n <= 0) return;
    this.leased -= n;
    this.#channel.send(SLOT_TOPICS.giveBack, { key: this.key, n });
  }

  #mayWait(): boolean {
    return this.#server.queue.length > 0 || this.#backendQueue.length > 0 || this.#reported.wanted > 0;
  }

  // One report per turn of the event loop at most: a burst of queued requests is one message.
  #scheduleReport(): void {
    if (this.#reportQueued || !this.#ready) return;
    this.#reportQueued = true;
    setImmediate(() => {
      this.#reportQueued = false;
      this.#report();
    });
  }

  #report(): void {
    const s = this.#server;
    // Holding the whole maxconn already, more cannot be had: nothing to ask.
    const wanted =
      s.maxconn > 0 && this.leased < s.maxconn ? countWaiting(s.queue) + (s.balanceable ? countWaiting(this.#backendQueue) : 0) : 0;
    const last = this.#reported;
    if (wanted === last.wanted && (wanted === 0 || this.#seen === last.seen)) return;
    this.#reported = { wanted, seen: this.#seen };
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
    channel.on(SLOT_TOPICS.grant, (m: GrantMessage) => this.#shares.get(m.key)?.granted(m.n));
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
      // The primary is busy or restarting its channel: ask again (the share holds nothing meanwhile).
      () => {
        if (attempt < 5) setTimeout(() => this.#hello(shares, attempt + 1), 100 * attempt).unref();
      },
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
