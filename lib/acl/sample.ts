// What fetches read and converters transform. A sample is a string, an integer or a boolean;
// a fetch may return several (every occurrence of a header) for ACLs to match any of them.
import type { HttpMessage } from '../rules/http-message.js';

export type Sample = string | number | boolean;

export type SampleType = 'str' | 'int' | 'bool' | 'ip' | 'meth';

/** When a fetch has data: on the request, or only once the response head is known. */
export type Phase = 'request' | 'response';

export interface UserlistLookup {
  /** Checks Basic credentials; with `group`, the user must also belong to it. */
  check(user: string, password: string, group?: string): boolean;
  /** The groups of a user with valid credentials. */
  groupsOf(user: string): string[];
}

/** Everything a fetch may look at during one HTTP transaction. */
export interface SampleContext {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  req: HttpMessage;
  res: HttpMessage | undefined;
  vars: Map<string, Sample>;
  captures: string[];
  uniqueId: string | undefined;
  frontend: string;
  backend: string | undefined;
  /** usable servers of a backend, undefined when there is no such backend */
  usableServers(backend: string): number | undefined;
  userlist(name: string): UserlistLookup | undefined;
}

export function sampleToString(s: Sample): string {
  if (typeof s === 'boolean') return s ? '1' : '0';
  return String(s);
}
