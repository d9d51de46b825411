// The messages by which workers lease a server's maxconn slots from the primary (see
// slot-pool.ts for the primary's side, slot-leases.ts for a worker's). A server is named
// `backend/server` in every message.

export const SLOT_TOPICS = {
  /** worker -> primary request: the servers it now runs; the reply is what it holds of each */
  hello: 'slot-hello',
  /** worker -> primary: how many requests wait here for a slot, and how many grants it has seen */
  want: 'slot-want',
  /** worker -> primary: it gives back `n` leased slots */
  giveBack: 'slot-return',
  /** worker -> primary: `set maxconn server` changed the server's limit */
  maxconn: 'slot-maxconn',
  /** primary -> worker: `n` more slots are leased to it, and what to keep (as in recall) */
  grant: 'slot-grant',
  /** primary -> worker: the slots are contended, keep at most `keep` (null: no longer contended) */
  recall: 'slot-recall',
} as const;

export interface HelloRequest {
  servers: Array<{ key: string; maxconn: number }>;
}
/** Per server: the slots leased to the worker, the grants counted so far, and the recall in force. */
export type HelloReply = Record<string, { leased: number; granted: number; keep: number | null }>;
export interface WantMessage {
  key: string;
  /** requests waiting in this worker that a slot of this server could serve */
  wanted: number;
  /** grants the worker had received when it counted them */
  seen: number;
}
export interface GiveBackMessage {
  key: string;
  n: number;
  /** the worker's count of waiting requests as it gave back, as in WantMessage */
  wanted: number;
  seen: number;
}
export interface MaxconnMessage {
  key: string;
  maxconn: number;
}
export interface GrantMessage {
  key: string;
  n: number;
  keep: number | null;
}
export interface RecallMessage {
  key: string;
  keep: number | null;
}

export const slotKey = (backend: string, server: string): string => `${backend}/${server}`;
