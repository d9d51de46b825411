// The rules engine one HTTP frontend runs for each request, in HAProxy's order: monitor-uri,
// the frontend's http-request rules, use_backend (first match, else default_backend), the
// backend's http-request rules, use-server, then X-Forwarded-For / X-Original-To. Responses go
// through the backend's http-response rules, then the frontend's.
import type { Backend } from '../backend/backend.js';
import type { Server } from '../backend/server.js';
import type { Sample, SampleContext } from '../acl/sample.js';
import type { ProxyConfig } from '../config/types.js';
import type { MessageHead } from '../http/message-head.js';
import type { HttpRule, RuleOutcome, RuleState } from './http-actions.js';
import { HttpMessage } from './http-message.js';
import { newProxyRules, type ForwardedHeader, type ProxyRules } from './proxy-rules.js';
import { generatedPage, monitorResponse, saysClose } from './responses.js';
import type { LocalResponse } from '../observe/stats-page.js';
import { Userlist, type UserlistConfig } from './userlist.js';

/** The connection's two ends, as the session knows them. */
export interface ConnectionEnds {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/** What the rules decided for one request; `txn` goes back to onResponse. */
export interface RequestVerdict {
  /** the request head to forward (the original one when no rule changed it) */
  head: MessageHead;
  backend?: Backend;
  /** a use-server choice: it goes before cookie and stick persistence */
  server?: Server;
  /** answer the client with this */
  respond?: Buffer;
  /** the answer is on its way (use-service in a worker of several): wait for it instead of `respond` */
  later?: Promise<LocalResponse>;
  /** the answer leaves the connection open (HAProxy's behaviour) unless it says `connection: close` */
  keepAlive?: boolean;
  /** the answer is a redirect: HAProxy closes after it when the request has a body, even one fully received */
  redirect?: boolean;
  status?: number;
  txn: RuleTransaction;
}

export interface ResponseVerdict {
  head: MessageHead;
  respond?: Buffer;
  status?: number;
}

/** Per-request state kept between the request and the response rules. */
export interface RuleTransaction {
  ctx: SampleContext;
  backend?: Backend;
}

const EMPTY_RULES = newProxyRules();

export class HttpRules {
  readonly #fe: ProxyConfig;
  readonly #feRules: ProxyRules;
  readonly #backends: ReadonlyMap<string, Backend>;
  readonly #defaultBackend: Backend | undefined;
  readonly #userlists = new Map<string, Userlist>();

  constructor(fe: ProxyConfig, backends: ReadonlyMap<string, Backend>, defaultBackend: Backend | undefined, userlists?: ReadonlyMap<string, UserlistConfig>) {
    this.#fe = fe;
    this.#feRules = fe.rules ?? EMPTY_RULES;
    this.#backends = backends;
    this.#defaultBackend = defaultBackend;
    for (const [name, ul] of userlists ?? []) this.#userlists.set(name, new Userlist(ul));
  }

  onRequest(ends: ConnectionEnds, head: MessageHead): RequestVerdict {
    const req = new HttpMessage(head);
    const backends = this.#backends;
    const userlists = this.#userlists;
    // Every field written up front and no spread: one stable object shape (a spread here made
    // each request ~25 times slower).
    const ctx: SampleContext = {
      src: ends.src,
      srcPort: ends.srcPort,
      dst: ends.dst,
      dstPort: ends.dstPort,
      req,
      res: undefined,
      vars: new Map<string, Sample>(),
      captures: [],
      uniqueId: undefined,
      frontend: this.#fe.name,
      backend: undefined,
      usableServers: (name) => backends.get(name)?.usableCount,
      userlist: (name) => userlists.get(name),
    };
    const txn: RuleTransaction = { ctx };
    const fe = this.#feRules;
    const answer = (out: { respond: Buffer; status: number; later?: Promise<LocalResponse>; redirect?: boolean }): RequestVerdict =>
      ({ head, respond: out.respond, status: out.status, keepAlive: !saysClose(out.respond), redirect: out.redirect === true, txn, later: out.later });
    if (fe.monitorUri !== undefined && req.path === fe.monitorUri) return answer({ respond: monitorResponse(), status: 200 });
    if (fe.uniqueIdFormat) ctx.uniqueId = fe.uniqueIdFormat.render(ctx);
    const state: RuleState = { ctx, msg: req, errorPage: (status) => this.#rulePage(status, txn.backend) };
    const feOut = runRules(fe.httpRequest, state);
    if (feOut && 'respond' in feOut) return answer(feOut);
    if (fe.uniqueIdHeader && ctx.uniqueId !== undefined) req.add(fe.uniqueIdHeader, ctx.uniqueId);

    let backend = this.#defaultBackend;
    for (const rule of fe.useBackends) {
      if (rule.cond && !rule.cond.test(ctx)) continue;
      // A dynamic name that matches no backend ends the search: default_backend applies.
      backend = backends.get(rule.name.render(ctx)) ?? this.#defaultBackend;
      break;
    }
    txn.backend = backend;
    ctx.backend = backend?.name;
    const be = backend?.config.rules ?? EMPTY_RULES;
    let server: Server | undefined;
    if (backend && backend.config !== this.#fe) {
      const beOut = runRules(be.httpRequest, state);
      if (beOut && 'respond' in beOut) return answer(beOut);
    }
    if (backend) {
      for (const rule of be.useServers) {
        if (rule.cond && !rule.cond.test(ctx)) continue;
        const s = backend.servers.find((x) => x.name === rule.server);
        // A server that is down is skipped, as HAProxy does without `force-persist`.
        if (s?.usable) {
          server = s;
          break;
        }
      }
    }
    const backendCfg = backend?.config;
    const xff = backendCfg?.rules?.forwardfor ?? fe.forwardfor ?? plainForwardfor(backendCfg, this.#fe);
    if (xff) addForwarded(req, xff, ends.src, ends.src);
    const xot = backendCfg?.rules?.originalto ?? fe.originalto;
    if (xot) addForwarded(req, xot, ends.dst, ends.dst);
    return { head: req.toHead(), backend, server, txn };
  }

  onResponse(txn: RuleTransaction, head: MessageHead): ResponseVerdict {
    const be = txn.backend && txn.backend.config !== this.#fe ? txn.backend.config.rules : undefined;
    if (!be?.httpResponse.length && !this.#feRules.httpResponse.length) return { head };
    const res = new HttpMessage(head);
    txn.ctx.res = res;
    // A deny here answers like one in http-request rules: the client connection may go on.
    const state: RuleState = { ctx: txn.ctx, msg: res, errorPage: (status) => this.#rulePage(status, txn.backend) };
    for (const rules of [be?.httpResponse ?? [], this.#feRules.httpResponse]) {
      const out = runRules(rules, state);
      if (out && 'respond' in out) return { head, respond: out.respond, status: out.status };
    }
    return { head: res.toHead() };
  }

  /** The page for an error that ends the connection: the backend's errorfile, the frontend's, or the built-in one. */
  errorPage(status: number, backend?: Backend): Buffer {
    return this.#errorfile(status, backend) ?? generatedPage(status, [], true);
  }

  /** The page a deny or return rule answers with; the connection may go on after it. */
  #rulePage(status: number, backend?: Backend): Buffer {
    return this.#errorfile(status, backend) ?? generatedPage(status);
  }

  #errorfile(status: number, backend?: Backend): Buffer | undefined {
    return backend?.config.rules?.errorfiles.get(status) ?? this.#feRules.errorfiles.get(status);
  }
}

function runRules(rules: readonly HttpRule[], state: RuleState): RuleOutcome {
  for (const rule of rules) {
    if (rule.cond && !rule.cond.test(state.ctx)) continue;
    const out = rule.run(state);
    if (out) return out;
  }
  return undefined;
}

/** `option forwardfor` with no argument, set where no rules object was created. */
function plainForwardfor(be: ProxyConfig | undefined, fe: ProxyConfig): ForwardedHeader | undefined {
  return be?.options.forwardfor || fe.options.forwardfor ? { header: 'X-Forwarded-For', ifNone: false } : undefined;
}

function addForwarded(req: HttpMessage, opt: ForwardedHeader, address: string, exceptTest: string): void {
  if (opt.except?.(exceptTest)) return;
  if (opt.ifNone && req.values(opt.header).length > 0) return;
  req.add(opt.header, address);
}
