// Maps a `balance` keyword (and `hash-type`) to its implementation. Algorithms or options
// limpet has not implemented are refused at configuration time by the validator (see
// `unsupportedBalance`), never silently replaced.
import type { BalanceConfig, HashTypeConfig } from '../config/types.js';
import type { Balancer } from './balancer.js';
import { FirstAvailableBalancer } from './first-available.js';
import { HashBalancer } from './hash-balancer.js';
import { LeastConnBalancer } from './leastconn.js';
import { RandomBalancer } from './random-choice.js';
import { parseSample, requestKeyHasher } from './request-key.js';
import { RoundRobinBalancer } from './round-robin.js';
import { StaticRoundRobin } from './static-rr.js';
import { weightDivisor } from './weighted-map.js';

export const DEFAULT_HASH_TYPE: HashTypeConfig = { lookup: 'map-based', fn: 'sdbm', avalanche: false };

const HASHED = new Set(['source', 'uri', 'url_param', 'hdr', 'rdp-cookie', 'hash']);

export interface BalancerSetup {
  balance: BalanceConfig;
  hashType?: HashTypeConfig;
  hashBalanceFactor?: number;
  /** configured weights of every server of the backend (map-based divides them by their gcd) */
  weights: readonly number[];
}

/** Why limpet cannot run this `balance` line, or undefined when it can. */
export function unsupportedBalance(cfg: BalanceConfig): string | undefined {
  if (cfg.algorithm === 'hash') {
    try {
      parseSample(cfg.args.join(' '));
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

export function createBalancer(setup: BalancerSetup): Balancer {
  const { balance } = setup;
  const hashType = setup.hashType ?? DEFAULT_HASH_TYPE;
  const divisor = weightDivisor(setup.weights);
  if (HASHED.has(balance.algorithm)) {
    return new HashBalancer({
      lookup: hashType.lookup,
      key: requestKeyHasher(balance.algorithm, balance.args, hashType),
      divisor,
      balanceFactor: setup.hashBalanceFactor ?? 0,
    });
  }
  switch (balance.algorithm) {
    case 'roundrobin':
      return new RoundRobinBalancer();
    case 'static-rr':
      return new StaticRoundRobin(divisor);
    case 'leastconn':
      return new LeastConnBalancer();
    case 'first':
      return new FirstAvailableBalancer();
    case 'random':
      return new RandomBalancer(balance.args[0] ? Number(balance.args[0]) : 2);
    default:
      throw new Error(`balance algorithm '${balance.algorithm}' is not implemented`);
  }
}
