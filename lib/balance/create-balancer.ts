// Maps a `balance` keyword to its implementation. Algorithms limpet has not implemented yet are
// refused at configuration time by the validator, never silently replaced.
import type { BalanceConfig } from '../config/types.js';
import type { Balancer } from './balancer.js';
import { RoundRobinBalancer } from './round-robin.js';

export const IMPLEMENTED_ALGORITHMS = new Set(['roundrobin']);

export function createBalancer(cfg: BalanceConfig): Balancer {
  switch (cfg.algorithm) {
    case 'roundrobin':
      return new RoundRobinBalancer();
    default:
      throw new Error(`balance algorithm '${cfg.algorithm}' is not implemented`);
  }
}
