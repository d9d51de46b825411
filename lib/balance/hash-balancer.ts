// Hash-based balancing (source, uri, url_param, hdr, rdp-cookie, hash): the request's key is
// hashed, then a server is selected from the hash, either `map-based` (hash modulo the weighted
// map, HAProxy's default) or `consistent` (the closest point on the ring). Without a key the
// request is balanced round robin over the same map or ring, as HAProxy does.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';
import { ChashRing, POINTS_PER_WEIGHT } from './chash-ring.js';
import type { KeyHasher } from './request-key.js';
import { StaticRoundRobin } from './static-rr.js';

export type HashLookup = 'map-based' | 'consistent';

export interface HashBalancerOptions {
  lookup: HashLookup;
  key: KeyHasher;
  /** divisor of the configured weights (map-based) */
  divisor: number;
  /** `hash-balance-factor` in percent, 0 = off (consistent only) */
  balanceFactor: number;
}

export class HashBalancer implements Balancer {
  #opts: HashBalancerOptions;
  #map: StaticRoundRobin;
  #ring = new ChashRing();
  #servers: Server[] = [];
  #cumulative = new Map<Server, number>();
  #totalWeight = 0;

  constructor(opts: HashBalancerOptions) {
    this.#opts = opts;
    this.#map = new StaticRoundRobin(opts.divisor);
  }

  update(servers: Server[]): void {
    this.#servers = servers;
    if (this.#opts.lookup === 'map-based') return this.#map.update(servers);
    this.#ring.build(servers);
    this.#cumulative.clear();
    let cum = 0;
    for (const s of servers) {
      this.#cumulative.set(s, cum);
      cum += s.weight * POINTS_PER_WEIGHT;
    }
    this.#totalWeight = cum;
  }

  pick(ctx: PickContext, exclude?: Server): Server | undefined {
    const h = this.#servers.length === 0 ? undefined : this.#opts.key(ctx);
    if (this.#opts.lookup === 'map-based') {
      if (h === undefined) return this.#map.pick(ctx, exclude);
      return this.#map.at(h);
    }
    if (h === undefined) return this.#ring.next(exclude);
    const eligible = this.#opts.balanceFactor > 0 ? (s: Server) => this.#eligible(s) : undefined;
    return this.#ring.lookup(h, exclude, eligible);
  }

  /** Bounded loads (HAProxy's chash_server_is_eligible): a server takes at most its share of
   * (connections + 1) x factor, counted in weight units. */
  #eligible(s: Server): boolean {
    let served = 0;
    for (const x of this.#servers) served += x.active;
    const tw = this.#totalWeight;
    const totSlots = Math.floor(((served + 1) * this.#opts.balanceFactor + 99) / 100);
    const perWeight = Math.floor(totSlots / tw);
    const rem = totSlots % tw;
    const ew = s.weight * POINTS_PER_WEIGHT;
    const cum = this.#cumulative.get(s) ?? 0;
    let slots = ew * perWeight + Math.floor(((cum + ew) * rem) / tw) - Math.floor((cum * rem) / tw);
    if (slots === 0) slots = 1;
    return s.active < slots;
  }
}
