// A worker's line to the primary's stick tables (`--workers N`): one per process, shared by
// every PrimaryStickStore (each table, and during a reload the old runtime's beside the new
// one's). It hands the primary's change events to the stores of their table, and batches the
// one-way operations of one callback into one message, sent before the event loop goes on: a
// store-response's entry must reach the primary before the client, given the response, can
// bring its next request to another worker.
import type { WorkerChannel } from '../cluster/cluster-bus.js';
import { STICK_TOPICS, type StickEvent, type StickOp } from '../cluster/stick-protocol.js';

export interface PrimaryStickListener {
  /** the primary changed an entry of this listener's table */
  event(e: StickEvent): void;
}

export class PrimaryStickLink {
  readonly #channel: WorkerChannel;
  readonly #listeners = new Map<string, Set<PrimaryStickListener>>();
  #ops: StickOp[] = [];
  #flushing = false;

  constructor(channel: WorkerChannel) {
    this.#channel = channel;
    channel.on(STICK_TOPICS.events, (events: StickEvent[]) => {
      for (const e of events) {
        const ls = this.#listeners.get(e.id);
        if (ls) for (const l of ls) l.event(e);
      }
    });
  }

  /** The primary is there (a worker whose primary is gone stops anyway). */
  get connected(): boolean {
    return process.connected;
  }

  register(id: string, l: PrimaryStickListener): void {
    let ls = this.#listeners.get(id);
    if (!ls) this.#listeners.set(id, (ls = new Set()));
    ls.add(l);
  }

  unregister(id: string, l: PrimaryStickListener): void {
    const ls = this.#listeners.get(id);
    ls?.delete(l);
    if (ls?.size === 0) this.#listeners.delete(id);
  }

  send(op: StickOp): void {
    this.#ops.push(op);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => this.#flush());
  }

  /** Operations sent before a request reach the primary before it. */
  request<T>(topic: string, payload: unknown, timeoutMs: number): Promise<T> {
    this.#flush();
    return this.#channel.request<T>(topic, payload, timeoutMs);
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    this.#channel.send(STICK_TOPICS.ops, ops);
  }
}

const links = new WeakMap<WorkerChannel, PrimaryStickLink>();

export function primaryStickLink(channel: WorkerChannel): PrimaryStickLink {
  let link = links.get(channel);
  if (!link) links.set(channel, (link = new PrimaryStickLink(channel)));
  return link;
}
