// One balancer per backend, as HAProxy's lbprm: told when the usable servers change and when
// connections are taken and released; asked to pick a server for a request.
import type { Server } from '../backend/server.js';

/** What a balancer may look at. Fields may be missing; a hash balancer then falls back. */
export interface PickContext {
  clientAddress?: string;
  /** request target as sent by the client (HTTP) */
  uri?: string;
  /** request method (HTTP) */
  method?: string;
  /** the mstshash / msts cookie of an RDP connection request (TCP) */
  rdpCookie?: (name: string) => string | undefined;
  /** header lookup (HTTP), lower-case name */
  header?: (name: string) => string | undefined;
  /** the first bytes of a POST body (`balance url_param`), once the session has them */
  body?: Buffer;
}

export interface Balancer {
  /** Picks among `servers` (the usable ones, as the backend decided), skipping `exclude`. */
  pick(ctx: PickContext, exclude?: Server): Server | undefined;
  /** The usable set changed: state, weight, or backup fallback. */
  update(servers: Server[]): void;
  taken?(server: Server): void;
  released?(server: Server): void;
}
