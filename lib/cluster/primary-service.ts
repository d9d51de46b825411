// What the primary process runs beside its workers: services that keep the one copy of
// something every worker must agree on (maxconn slots, stick tables, the runtime API).
import type { Config } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import type { PrimaryChannel } from './cluster-bus.js';

export interface PrimaryContext {
  readonly channel: PrimaryChannel;
  /** the configuration the workers run now (changes on reload) */
  config(): Config;
  readonly log: Logger;
  /** how many workers run */
  readonly workers: number;
  /** re-read the configuration in every worker; resolves with a one-line account */
  reload(): Promise<string>;
}

export interface PrimaryService {
  /** a start, or a reload the workers accepted: the new configuration */
  start?(): Promise<void> | void;
  reload?(config: Config): void;
  /** a worker died (it is respawned under the same id): forget what it held */
  workerExited?(workerId: number): void;
  close?(): Promise<void> | void;
}

export type PrimaryServiceFactory = (ctx: PrimaryContext) => PrimaryService;
