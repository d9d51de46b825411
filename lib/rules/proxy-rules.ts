// The L7 part of one proxy's configuration, compiled as it is parsed: ACLs, switching rules,
// http-request / http-response rules and the header options. Names of backends and
// userlists are checked by checkRuleReferences() once every section is known.
import type { AclTable } from '../acl/acl.js';
import type { Condition } from '../acl/condition.js';
import type { LogFormat } from '../acl/log-format.js';
import type { SampleMatcher } from '../acl/pattern-match.js';
import type { SourceLocation } from '../config/types.js';
import type { HttpRule } from './http-actions.js';

export interface UseBackendRule {
  /** a constant name, or a `%[...]` expression resolved per request */
  name: LogFormat;
  cond?: Condition;
  where: SourceLocation;
}

export interface UseServerRule {
  server: string;
  cond?: Condition;
  where: SourceLocation;
}

export interface ForwardedHeader {
  header: string;
  /** client addresses for which the header is not added */
  except?: SampleMatcher;
  /** forwardfor only: keep a header the client sent */
  ifNone: boolean;
}

export interface ProxyRules {
  acls: AclTable;
  useBackends: UseBackendRule[];
  useServers: UseServerRule[];
  httpRequest: HttpRule[];
  httpResponse: HttpRule[];
  monitorUri?: string;
  errorfiles: Map<number, Buffer>;
  forwardfor?: ForwardedHeader;
  originalto?: ForwardedHeader;
  uniqueIdFormat?: LogFormat;
  uniqueIdHeader?: string;
  /** userlists and backends named by fetches, checked once all sections are read */
  references: Array<{ kind: 'userlist' | 'backend'; name: string; where: SourceLocation }>;
}

export function newProxyRules(): ProxyRules {
  return { acls: new Map(), useBackends: [], useServers: [], httpRequest: [], httpResponse: [], errorfiles: new Map(), references: [] };
}

/** True when a proxy needs the rules engine at all (otherwise the session's plain path runs). */
export function hasRules(r: ProxyRules): boolean {
  return r.useBackends.length > 0 || r.useServers.length > 0 || r.httpRequest.length > 0 || r.httpResponse.length > 0 ||
    r.monitorUri !== undefined || r.errorfiles.size > 0 || r.forwardfor !== undefined || r.originalto !== undefined ||
    r.uniqueIdFormat !== undefined;
}
