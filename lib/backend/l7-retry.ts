// `retry-on` beyond connection failures (HAProxy's layer-7 retries): a server that closed
// without answering, answered garbage, timed out, or answered with a listed status is asked
// again, or another server is, when nothing has reached the client yet and the whole request
// is still held. limpet is stricter than HAProxy on one point: only idempotent methods
// (RFC 9110 9.2.2) are ever sent twice.
import type { Backend } from './backend.js';
import type { Server } from './server.js';

export type RetryCause = 'empty-response' | 'junk-response' | 'response-timeout' | number;

/** What `all-retryable-errors` stands for in HAProxy. */
const ALL_RETRYABLE = ['conn-failure', 'empty-response', 'junk-response', 'response-timeout', '500', '502', '503', '504'];
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The failure types a `retry-on` list enables, `all-retryable-errors` expanded. */
export function retryKinds(retryOn: readonly string[] | undefined): Set<string> {
  const out = new Set<string>(retryOn ?? ['conn-failure']);
  if (out.has('all-retryable-errors')) for (const k of ALL_RETRYABLE) out.add(k);
  return out;
}

/** The request may be replayed at all: some response failure is retried and the method is idempotent. */
export function mayRetryResponse(backend: Backend, method: string): boolean {
  const kinds = retryKinds(backend.config.retryOn);
  return IDEMPOTENT.has(method) && [...kinds].some((k) => k !== 'conn-failure' && k !== 'none');
}

export type RetryTarget = { avoid: Server } | { same: Server };

/**
 * Whether to send the request again after `cause`, and where: another server with
 * `option redispatch` (unless `force-persist` holds it), else the same one. Retries share
 * the backend's `retries` budget with nothing else in limpet: `attempts` counts these alone.
 */
export function l7RetryTarget(backend: Backend, method: string, cause: RetryCause, attempts: number, server: Server, forced: boolean): RetryTarget | undefined {
  if (!IDEMPOTENT.has(method) || attempts >= backend.config.retries) return undefined;
  if (!retryKinds(backend.config.retryOn).has(String(cause))) return undefined;
  return backend.config.options.redispatch && !forced ? { avoid: server } : { same: server };
}
