// A backend's stick rules (StickRules): `stick match` and `stick on` looked up in file order
// before balancing (the first that finds a server wins), `stick store-request` and `stick on`
// stored once the server is connected, `stick store-response` on the response head. A rule
// with `if`/`unless` applies only when its condition holds; the first applying store rule per
// table stores, as in HAProxy.
//
// With a shared table, a new client's first request claims its entry before connecting
// (first writer wins), so two instances that see it at the same moment send it to one
// server; while Redis is unreachable new clients are placed by hashing their key over the
// usable servers, so the instances still agree. Both happen only for a key that a
// store-request rule of the same table would store (`stick on`).
import { createHash } from 'node:crypto';
import type { Backend } from '../backend/backend.js';
import type { Server } from '../backend/server.js';
import type { Condition } from '../acl/condition.js';
import type { StickRuleKind } from '../config/types.js';
import type { SampleContext } from '../acl/sample.js';
import type { MessageHead } from '../http/message-head.js';
import { HttpMessage } from '../rules/http-message.js';
import { stickSample, stickSampleContext, type StickExpr } from './stick-expr.js';
import type { StickRequestContext, StickRules } from './stick-rules.js';
import type { StickTable } from './stick-table.js';

export interface StickRule {
  kind: StickRuleKind;
  fetch: StickExpr;
  table: StickTable;
  cond?: Condition;
}

export class StickRuleSet implements StickRules {
  readonly #backend: Backend;
  readonly #matches: Array<StickRule & { claimable: boolean }>;
  readonly #requestStores: StickRule[];
  readonly #responseStores: StickRule[];
  /** every expression reads the connection only (`stick on src`): the context skips the request */
  readonly #connectionOnly: boolean;

  constructor(backend: Backend, rules: StickRule[]) {
    this.#backend = backend;
    this.#connectionOnly = rules.every((r) => r.fetch.phase === 'connection');
    const stores = (kinds: StickRuleKind[]) => firstPerTable(rules.filter((r) => kinds.includes(r.kind)));
    this.#requestStores = stores(['on', 'store-request']);
    this.#responseStores = stores(['store-response']);
    this.#matches = rules
      .filter((r) => r.kind === 'on' || r.kind === 'match')
      .map((r) => ({
        ...r,
        // a claim stores: only when the store rule would store this key too (`stick on` shares its condition)
        claimable: this.#requestStores.some((s) => s.table === r.table && s.fetch.text === r.fetch.text && (!s.cond || s.cond === r.cond)),
      }));
  }

  match(ctx: StickRequestContext, done: (server: Server | undefined) => void): void {
    this.#matchFrom(0, ctx, done);
  }

  storeRequest(ctx: StickRequestContext, server: Server): void {
    this.#storeFirst(this.#requestStores, ctx, undefined, server);
  }

  storeResponse(ctx: StickRequestContext, response: MessageHead, server: Server): void {
    if (this.#responseStores.length === 0) return;
    // Response expressions and conditions read the response: the rules engine set it only when it had response rules.
    if (ctx.sample && !ctx.sample.res) ctx.sample.res = new HttpMessage(response);
    this.#storeFirst(this.#responseStores, ctx, response, server);
  }

  /** HAProxy stores with the first rule per table whose condition holds (at most one store per table). */
  #storeFirst(rules: readonly StickRule[], ctx: StickRequestContext, response: MessageHead | undefined, server: Server): void {
    if (rules.length === 0) return;
    const sample = this.#sampleContext(ctx, response);
    const done = rules.length > 1 ? new Set<StickTable>() : undefined;
    for (const rule of rules) {
      if (done?.has(rule.table) || !applies(rule, ctx)) continue;
      done?.add(rule.table);
      const key = rule.table.key(stickSample(rule.fetch, sample));
      if (key !== undefined) rule.table.store.store(key, rule.table.serverKey(server));
    }
  }

  /** The rules engine's context when it ran, else one built from what the session passed. */
  #sampleContext(ctx: StickRequestContext, response?: MessageHead): SampleContext {
    return ctx.sample ?? stickSampleContext(ctx, this.#backend.name, response, this.#connectionOnly);
  }

  #matchFrom(i: number, ctx: StickRequestContext, done: (server: Server | undefined) => void, sample?: SampleContext): void {
    for (; i < this.#matches.length; i++) {
      const rule = this.#matches[i]!;
      if (!applies(rule, ctx)) continue;
      sample ??= this.#sampleContext(ctx);
      const key = rule.table.key(stickSample(rule.fetch, sample));
      if (key === undefined) continue;
      const store = rule.table.store;
      const next = i + 1;
      const found = (serverKey: string | undefined): void => {
        const server = serverKey === undefined ? undefined : this.#server(rule.table, serverKey);
        // A server that is down or in maintenance does not take sticky traffic (HAProxy without
        // `option persist`): the next rule, else the balancer, decides, and the store that
        // follows moves the entry to the new server.
        if (server?.usable) return done(server);
        // A shared table could not answer in time, or Redis is down: agree with the others by hashing.
        if (rule.claimable && store.shared && serverKey === undefined && (store.degraded || claiming)) {
          return done(this.#hashed(rule.table, key));
        }
        this.#matchFrom(next, ctx, done, sample);
      };
      let claiming = false;
      if (rule.claimable && store.shared && !store.degraded) {
        // Balanced only when the key is new to this instance; a local hit answers at once.
        const candidate = (): string | undefined => {
          const server = this.#backend.pick({ clientAddress: ctx.src, ...(ctx.request ? { header: (n: string) => ctx.request!.first(n) } : {}) });
          claiming = server !== undefined;
          return server && rule.table.serverKey(server);
        };
        store.claim(key, candidate, found);
        return;
      }
      store.match(key, found);
      return;
    }
    done(undefined);
  }

  #server(table: StickTable, serverKey: string): Server | undefined {
    for (const s of this.#backend.servers) if (table.serverKey(s) === serverKey) return s;
    return undefined;
  }

  /** Rendezvous hashing over the usable active servers: instances agree, and few keys move when a server goes. */
  #hashed(table: StickTable, key: string): Server | undefined {
    let best: Server | undefined;
    let bestScore = -1;
    for (const s of this.#backend.servers) {
      if (!s.usable || s.backup) continue;
      const score = createHash('sha1').update(key).update('\0').update(table.serverKey(s)).digest().readUInt32BE(0);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }
}

function applies(rule: StickRule, ctx: StickRequestContext): boolean {
  if (!rule.cond) return true;
  return ctx.sample !== undefined && rule.cond.test(ctx.sample);
}

/** Store rules that can ever store: none after an unconditional one for the same table. */
function firstPerTable(rules: StickRule[]): StickRule[] {
  const closed = new Set<StickTable>();
  return rules.filter((r) => {
    if (closed.has(r.table)) return false;
    if (!r.cond) closed.add(r.table);
    return true;
  });
}
