// Messages of health checks across workers: one worker (the checker, elected by the primary)
// runs every check and reports each server state change; the primary keeps the latest per
// server and passes it on; every other worker applies it without checking or logging.

export const HEALTH_TOPICS = {
  /** worker -> primary, request: this worker starts; reply: HealthHello */
  hello: 'health-hello',
  /** checker -> primary: a server went up or down (HealthState) */
  change: 'health-change',
  /** primary -> workers: another worker's check changed a server's state (HealthState) */
  state: 'health-state',
  /** primary -> one worker: it runs the checks from now on (its checker died) */
  role: 'health-role',
} as const;

/** One server's state as its checks last saw it. */
export interface HealthState {
  backend: string;
  server: string;
  up: boolean;
  /** the check's reason, as in the UP/DOWN line ("Layer4 check passed, check duration: 1ms") */
  reason: string;
  /** when it changed (ms since the epoch): the stats page's last change */
  at: number;
}

export interface HealthHello {
  /** this worker runs the checks */
  checker: boolean;
  /** the latest state of every server that changed since the primary started */
  states: HealthState[];
}

export const healthKey = (backend: string, server: string): string => `${backend}/${server}`;
