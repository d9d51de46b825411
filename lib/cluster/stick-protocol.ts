// What workers and the primary say to each other about memory stick tables under
// `--workers N` (lib/cluster/stick-service.ts holds the tables, lib/persist/primary-stick-store.ts
// is a worker's copy). A table is named by its id, `TYPE NAME`: a reload that changes a table's
// key type starts a new table, while workers still draining on the old configuration keep
// using the old one.
import type { StickTableType } from '../config/types.js';

export const STICK_TOPICS = {
  /** worker → primary, request: create or join a table; the reply is the first chunk of its copy */
  attach: 'stick-attach',
  /** worker → primary, request: the next chunk of the copy */
  dump: 'stick-dump',
  /** worker → primary, request: a key the worker's copy lacks (it may be on its way) */
  lookup: 'stick-lookup',
  /** worker → primary, request: first writer wins */
  claim: 'stick-claim',
  /** worker → primary, one-way: stores, refreshes and deletes, batched */
  ops: 'stick-ops',
  /** primary → every worker, one-way: what changed, batched */
  events: 'stick-events',
} as const;

export const stickTableId = (name: string, type: StickTableType): string => `${type} ${name}`;

export interface AttachRequest {
  id: string;
  size: number;
  /** ms; undefined: entries never expire */
  expire: number | undefined;
  nopurge: boolean;
}

/** Part of a table's copy, least recently used first. */
export interface DumpChunk {
  /** [key, server key, ms left (-1: never expires)] */
  entries: Array<[string, string, number]>;
  /** more to come: ask with this token */
  more?: number;
}

export interface DumpRequest {
  token: number;
}

export interface LookupRequest {
  id: string;
  key: string;
}

/** The entry's server key (the lookup refreshed it), or null. */
export type LookupReply = string | null;

export interface ClaimRequest {
  id: string;
  key: string;
  /** the server the worker's balancer picked */
  server: string;
}

export interface ClaimReply {
  /** the entry's server: the existing one, or ours */
  winner: string;
  /** another worker wrote it first */
  existed: boolean;
  /** false: the table is full with `nopurge`, nothing was stored */
  stored: boolean;
}

export type StickOp =
  /** a request was served by `server`: overwrite an entry the worker knew, else first writer wins */
  | { op: 'store'; id: string; key: string; server: string; overwrite: boolean }
  /** a worker's hit: refresh the sliding expiry (re-create the entry if the primary lost it) */
  | { op: 'touch'; id: string; key: string; server: string }
  /** `clear table` */
  | { op: 'delete'; id: string; key: string };

export type StickEvent =
  | { op: 'set'; id: string; key: string; server: string }
  | { op: 'delete'; id: string; key: string };
