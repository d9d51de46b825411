// The seam between sessions and stick tables (`stick match`, `stick on`, `stick store-request`,
// `stick store-response`). Sessions call it at HAProxy's points: match before balancing
// (after cookie persistence, which wins), store-request once a server is known, store-response
// on the response head. A shared table may answer a match asynchronously, within its budget.
import type { SampleContext } from '../acl/sample.js';
import type { Server } from '../backend/server.js';
import type { MessageHead } from '../http/message-head.js';

export interface StickRequestContext {
  /** client address (after PROXY protocol, when used) */
  src: string;
  /** the connection's other ends (`mode tcp` passes them; in HTTP the rules engine's context has them) */
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  /** the request head, in HTTP mode */
  request?: MessageHead;
  /**
   * The rules engine's context, when it runs (HTTP mode): conditions and expressions read it.
   * Without it expressions read a context built from the fields above, and a rule with a
   * condition does not apply.
   */
  sample?: SampleContext;
}

export interface StickRules {
  /** The server a stick table routes this request to, if any; `done` is called exactly once. */
  match(ctx: StickRequestContext, done: (server: Server | undefined) => void): void;
  /** A server was chosen (and connected) for this request. */
  storeRequest(ctx: StickRequestContext, server: Server): void;
  /** The response head arrived from `server` (HTTP mode). */
  storeResponse(ctx: StickRequestContext, response: MessageHead, server: Server): void;
}
