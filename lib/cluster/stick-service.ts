// The primary's copy of every memory stick table under `--workers N`: the one that decides.
// Workers keep full local copies (lib/persist/primary-stick-store.ts) and answer hits from
// them; they ask here only for keys they lack, claim new keys here (first writer wins), and
// send what they store, refresh and delete. Every change is told to every worker, batched
// every few milliseconds, so their copies follow. Tables are created by the first worker that attaches them, and
// keep their entries for as long as a configuration has a table of that name and key type
// (reloads, respawned workers). Tables shared through a `redis` section never come here.
import type { Config } from '../config/types.js';
import { StickMemoryStore, type StickEntry } from '../persist/stick-memory-store.js';
import type { PrimaryContext, PrimaryService } from './primary-service.js';
import {
  STICK_TOPICS,
  stickTableId,
  type AttachRequest,
  type ClaimReply,
  type ClaimRequest,
  type DumpChunk,
  type DumpRequest,
  type LookupReply,
  type LookupRequest,
  type StickEvent,
  type StickOp,
} from './stick-protocol.js';

interface Table {
  opts: AttachRequest;
  store: StickMemoryStore;
}

/**
 * Changes are told in batches this often: under load one message per worker carries many,
 * instead of one per new key and worker. A new key missing from a lagging copy is asked here
 * (no wrong answer); an entry moved or deleted elsewhere is seen this much later.
 */
const EVENT_BATCH_MS = 2;

/** Entries per message of a table's copy (about 40 bytes each). */
const DUMP_CHUNK = 10_000;

export function stickTableService(ctx: PrimaryContext, dumpChunk = DUMP_CHUNK): PrimaryService {
  const tables = new Map<string, Table>();
  /** changes not yet told; `except`: the worker that already knows (a claim's answer told it) */
  let pending: Array<{ e: StickEvent; except?: number }> = [];
  let flushing = false;

  const tell = (e: StickEvent, except?: number): void => {
    pending.push(except === undefined ? { e } : { e, except });
    if (flushing) return;
    flushing = true;
    setTimeout(() => {
      flushing = false;
      const told = pending;
      pending = [];
      if (told.every((p) => p.except === undefined)) return ctx.channel.broadcast(STICK_TOPICS.events, told.map((p) => p.e));
      for (const id of ctx.channel.workerIds) {
        const events = told.filter((p) => p.except !== id).map((p) => p.e);
        if (events.length > 0) ctx.channel.sendTo(id, STICK_TOPICS.events, events);
      }
    }, EVENT_BATCH_MS);
  };

  const create = (opts: AttachRequest): Table => {
    const { id } = opts;
    const store = new StickMemoryStore({ size: opts.size, expire: opts.expire, nopurge: opts.nopurge, onEvict: (key) => tell({ op: 'delete', id, key }) });
    return { opts, store };
  };

  /**
   * Stores `server` unless the key has an entry (refreshed then): the entry, or undefined when
   * full with nopurge. `claimer` is told by its answer, not by an event.
   */
  const firstWriter = (t: Table, id: string, key: string, server: string, claimer?: number): { entry: StickEntry | undefined; existed: boolean } => {
    const e = t.store.get(key);
    if (e) {
      t.store.touch(key, e);
      return { entry: e, existed: true };
    }
    const entry = t.store.set(key, server);
    if (entry) tell({ op: 'set', id, key, server }, claimer);
    return { entry, existed: false };
  };

  // A table is copied in chunks, so that neither the primary nor a worker serving on its old
  // configuration (a reload) stops for long. The keys are listed at once; each chunk gives
  // their entries as they are when it is sent, and changes after that follow as events.
  const dumps = new Map<number, { id: string; workerId: number; keys: string[]; next: number; at: number }>();
  let nextDump = 1;

  const chunk = (token: number): DumpChunk => {
    const d = dumps.get(token);
    const t = d && tables.get(d.id);
    if (!d || !t) {
      dumps.delete(token);
      return { entries: [] };
    }
    d.at = Date.now();
    const entries: DumpChunk['entries'] = [];
    const end = Math.min(d.keys.length, d.next + dumpChunk);
    for (; d.next < end; d.next++) {
      const key = d.keys[d.next]!;
      const e = t.store.get(key);
      if (e) entries.push([key, e.server, Number.isFinite(e.expires) ? e.expires - d.at : -1]);
    }
    if (d.next < d.keys.length) return { entries, more: token };
    dumps.delete(token);
    return { entries };
  };

  ctx.channel.on(STICK_TOPICS.attach, (req: AttachRequest, workerId: number): DumpChunk => {
    let t = tables.get(req.id);
    if (!t || !sameOptions(t.opts, req)) {
      const next = create(req);
      // Same name and type, new size or expire (a reload): the entries stay.
      if (t) copyEntries(t.store, next.store, req.expire);
      t?.store.close();
      tables.set(req.id, next);
      t = next;
    }
    // A copy abandoned for a minute (its worker stopped asking) is dropped.
    for (const [token, d] of dumps) if (Date.now() - d.at > 60_000) dumps.delete(token);
    const token = nextDump++;
    dumps.set(token, { id: req.id, workerId, keys: [...t.store.keys()], next: 0, at: Date.now() });
    return chunk(token);
  });

  ctx.channel.on(STICK_TOPICS.dump, (req: DumpRequest): DumpChunk => chunk(req.token));

  ctx.channel.on(STICK_TOPICS.lookup, (req: LookupRequest): LookupReply => {
    const t = tables.get(req.id);
    const e = t?.store.get(req.key);
    if (!t || !e) return null;
    // As a `stick match` hit refreshes the entry.
    t.store.touch(req.key, e);
    return e.server;
  });

  ctx.channel.on(STICK_TOPICS.claim, (req: ClaimRequest, workerId: number): ClaimReply => {
    const t = tables.get(req.id);
    if (!t) return { winner: req.server, existed: false, stored: false };
    // The answer reaches the claimer before any later change (one ordered pipe), so its copy
    // needs no event; a change told in the same batch but made earlier arrives after the
    // answer and may at worst remove the entry from its copy (then asked again on use).
    const { entry, existed } = firstWriter(t, req.id, req.key, req.server, workerId);
    return entry ? { winner: entry.server, existed, stored: true } : { winner: req.server, existed: false, stored: false };
  });

  ctx.channel.on(STICK_TOPICS.ops, (ops: StickOp[]) => {
    for (const op of ops) {
      const t = tables.get(op.id);
      if (!t) continue;
      switch (op.op) {
        case 'store': {
          const e = t.store.get(op.key);
          if (e && e.server === op.server) {
            t.store.touch(op.key, e);
          } else if (e && op.overwrite) {
            // The worker sent its client elsewhere on purpose (server down, cookie, redispatch).
            t.store.set(op.key, op.server);
            tell({ op: 'set', id: op.id, key: op.key, server: op.server });
          } else {
            apply(firstWriter(t, op.id, op.key, op.server), op, tell);
          }
          break;
        }
        case 'touch': {
          const e = t.store.get(op.key);
          if (e) t.store.touch(op.key, e);
          // The worker's copy names another server: set it right.
          if (e && e.server !== op.server) tell({ op: 'set', id: op.id, key: op.key, server: e.server });
          // Expired here while the worker kept using it: it lives again, first writer wins.
          if (!e) apply(firstWriter(t, op.id, op.key, op.server), op, tell);
          break;
        }
        case 'delete':
          t.store.delete(op.key);
          tell({ op: 'delete', id: op.id, key: op.key });
          break;
      }
    }
  });

  return {
    workerExited(workerId: number) {
      for (const [token, d] of dumps) if (d.workerId === workerId) dumps.delete(token);
    },
    reload(config: Config) {
      const keep = new Set(config.proxies.filter((p) => p.stickTable && !p.stickTable.redis).map((p) => stickTableId(p.name, p.stickTable!.type)));
      for (const [id, t] of tables) {
        if (keep.has(id)) continue;
        t.store.close();
        tables.delete(id);
      }
    },
    close() {
      for (const t of tables.values()) t.store.close();
      tables.clear();
    },
  };
}

/** After a first-writer store: the sender's copy must follow when it lost, or when nothing was stored. */
function apply(r: { entry: StickEntry | undefined; existed: boolean }, op: { id: string; key: string; server: string }, tell: (e: StickEvent) => void): void {
  if (!r.entry) tell({ op: 'delete', id: op.id, key: op.key });
  else if (r.existed && r.entry.server !== op.server) tell({ op: 'set', id: op.id, key: op.key, server: r.entry.server });
}

function sameOptions(a: AttachRequest, b: AttachRequest): boolean {
  return a.size === b.size && a.expire === b.expire && a.nopurge === b.nopurge;
}

/** Least recently used first, each keeping its time left (at most the new expire). */
function copyEntries(from: StickMemoryStore, to: StickMemoryStore, expire: number | undefined): void {
  const now = Date.now();
  for (const [key, e] of from.entries()) {
    if (e.expires <= now) continue;
    const copy = to.set(key, e.server);
    if (copy && expire !== undefined) copy.expires = Math.min(copy.expires, e.expires);
  }
}
