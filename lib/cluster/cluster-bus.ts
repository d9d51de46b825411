// Messages between the primary process and its workers (`nbthread N` / `--workers N`), over
// node:cluster's IPC channel: one-way messages and requests with a reply, by topic. Features
// that must see the whole (maxconn slots, stick tables, stats, the runtime API) speak through
// it; everything else in a worker runs as in a single process.
import cluster, { type Worker } from 'node:cluster';

/** One message on the channel; `limpet` tells ours from node:cluster's own. */
interface Envelope {
  limpet: 1;
  topic: string;
  payload?: unknown;
  /** set on a request: the reply carries it back as `replyTo` */
  id?: number;
  replyTo?: number;
  error?: string;
}

/** A handler's return value is the reply when the message was a request. */
export type Handler = (payload: any, workerId: number) => unknown;

const DEFAULT_TIMEOUT_MS = 2000;

function isEnvelope(m: unknown): m is Envelope {
  return typeof m === 'object' && m !== null && (m as Envelope).limpet === 1;
}

/** Requests waiting for their reply, and the handlers of one side. */
class Endpoint {
  #handlers = new Map<string, Handler>();
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;

  on(topic: string, handler: Handler): void {
    this.#handlers.set(topic, handler);
  }

  request<T>(post: (e: Envelope) => boolean, topic: string, payload: unknown, timeoutMs: number): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to '${topic}' within ${timeoutMs}ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!post({ limpet: 1, topic, payload, id })) this.#settle({ limpet: 1, topic, replyTo: id, error: 'channel closed' });
    });
  }

  /** Fails every request waiting on a peer that went away. */
  failAll(why: string): void {
    for (const [id] of this.#pending) this.#settle({ limpet: 1, topic: '', replyTo: id, error: why });
  }

  receive(m: Envelope, workerId: number, post: (e: Envelope) => boolean): void {
    if (m.replyTo !== undefined) return this.#settle(m);
    const handler = this.#handlers.get(m.topic);
    const reply = (payload: unknown, error?: string) => {
      if (m.id !== undefined) post({ limpet: 1, topic: m.topic, replyTo: m.id, payload, error });
    };
    if (!handler) return reply(undefined, `no handler for '${m.topic}'`);
    try {
      const out = handler(m.payload, workerId);
      if (out instanceof Promise) out.then((v) => reply(v), (err: Error) => reply(undefined, err.message));
      else reply(out);
    } catch (err) {
      reply(undefined, (err as Error).message);
    }
  }

  #settle(m: Envelope): void {
    const p = this.#pending.get(m.replyTo!);
    if (!p) return;
    this.#pending.delete(m.replyTo!);
    clearTimeout(p.timer);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.payload);
  }
}

/** Sends unless the channel is closed (a dying peer); never throws. */
function safeSend(target: Worker | NodeJS.Process, e: Envelope): boolean {
  try {
    if ('isConnected' in target ? !target.isConnected() : !target.connected || !target.send) return false;
    (target as { send(m: unknown): boolean }).send(e);
    return true;
  } catch {
    return false;
  }
}

/** A worker's side: it talks to the primary only. */
export class WorkerChannel {
  /** 1..workers, stable across a respawn */
  readonly workerId: number;
  readonly workers: number;
  #endpoint = new Endpoint();
  #post = (e: Envelope) => safeSend(process, e);

  constructor(workerId: number, workers: number) {
    this.workerId = workerId;
    this.workers = workers;
    process.on('message', (m: unknown) => {
      if (isEnvelope(m)) this.#endpoint.receive(m, 0, this.#post);
    });
    process.on('disconnect', () => this.#endpoint.failAll('primary gone'));
  }

  send(topic: string, payload?: unknown): void {
    this.#post({ limpet: 1, topic, payload });
  }

  request<T>(topic: string, payload?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    return this.#endpoint.request<T>(this.#post, topic, payload, timeoutMs);
  }

  /** Messages and requests from the primary (the second argument is 0). */
  on(topic: string, handler: Handler): void {
    this.#endpoint.on(topic, handler);
  }
}

/** The primary's side: it talks to every worker, by id. */
export class PrimaryChannel {
  #endpoint = new Endpoint();
  #workers = new Map<number, Worker>();

  /** Ids of the workers now connected, in order. */
  get workerIds(): number[] {
    return [...this.#workers.keys()].sort((a, b) => a - b);
  }

  /** A freshly forked worker joins the channel under its id (replacing a dead one's). */
  attach(workerId: number, worker: Worker): void {
    this.#workers.set(workerId, worker);
    const post = (e: Envelope) => safeSend(worker, e);
    worker.on('message', (m: unknown) => {
      if (isEnvelope(m)) this.#endpoint.receive(m, workerId, post);
    });
    worker.on('exit', () => {
      if (this.#workers.get(workerId) === worker) this.#workers.delete(workerId);
    });
  }

  sendTo(workerId: number, topic: string, payload?: unknown): void {
    const w = this.#workers.get(workerId);
    if (w) safeSend(w, { limpet: 1, topic, payload });
  }

  broadcast(topic: string, payload?: unknown, except?: number): void {
    for (const id of this.workerIds) if (id !== except) this.sendTo(id, topic, payload);
  }

  requestFrom<T>(workerId: number, topic: string, payload?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const w = this.#workers.get(workerId);
    if (!w) return Promise.reject(new Error(`no worker ${workerId}`));
    return this.#endpoint.request<T>((e) => safeSend(w, e), topic, payload, timeoutMs);
  }

  /** Asks every worker; a worker that fails or does not answer in time is left out. */
  async requestAll<T>(topic: string, payload?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Array<{ workerId: number; value: T }>> {
    const ids = this.workerIds;
    const answers = await Promise.allSettled(ids.map((id) => this.requestFrom<T>(id, topic, payload, timeoutMs)));
    const out: Array<{ workerId: number; value: T }> = [];
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled') out.push({ workerId: ids[i]!, value: a.value });
    });
    return out;
  }

  /** Messages and requests from workers; the handler gets the sender's id. */
  on(topic: string, handler: Handler): void {
    this.#endpoint.on(topic, handler);
  }
}

let workerChannel: WorkerChannel | undefined;

/**
 * This process's channel to its primary, or undefined when limpet runs as one process.
 * Created on first use from the environment the primary gave the worker.
 */
export function clusterWorker(): WorkerChannel | undefined {
  if (!cluster.isWorker) return undefined;
  workerChannel ??= new WorkerChannel(Number(process.env.LIMPET_WORKER_ID ?? cluster.worker?.id ?? 1), Number(process.env.LIMPET_WORKERS ?? 1));
  return workerChannel;
}
