// `balance static-rr`, and the map shared with map-based hashing: servers take turns in the
// order of HAProxy's weighted map (src/lb_map.c), skipping servers at their maxconn.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';
import { buildWeightedMap } from './weighted-map.js';

export class StaticRoundRobin implements Balancer {
  #divisor: number;
  #map: Server[] = [];
  #index = 0;

  constructor(divisor: number) {
    this.#divisor = divisor;
  }

  update(servers: Server[]): void {
    this.#map = buildWeightedMap(servers, this.#divisor);
    if (this.#index >= this.#map.length) this.#index = 0;
  }

  /** The map slot for a hash (map_get_server_hash). */
  at(hash: number): Server | undefined {
    return this.#map.length === 0 ? undefined : this.#map[hash % this.#map.length];
  }

  pick(_ctx: PickContext, exclude?: Server): Server | undefined {
    const n = this.#map.length;
    let avoided: number | undefined;
    for (let steps = 0; steps < n; steps++) {
      const i = this.#index;
      this.#index = i + 1 === n ? 0 : i + 1;
      const s = this.#map[i]!;
      if (s.isFull() || s.queue.length > 0) continue;
      if (s !== exclude) return s;
      avoided ??= i;
    }
    if (avoided === undefined) return undefined;
    this.#index = avoided + 1 === n ? 0 : avoided + 1;
    return this.#map[avoided];
  }
}
