// `balance random [(draws)]`: HAProxy draws random points on the consistent-hash ring (so
// weights count), `draws` times (default 2, "power of two choices"), and keeps the server with
// the fewest (connections + queued) per unit of weight.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';
import { ChashRing } from './chash-ring.js';

export class RandomBalancer implements Balancer {
  #ring = new ChashRing();
  #draws: number;
  #random: () => number;

  constructor(draws: number, random: () => number = Math.random) {
    this.#draws = draws;
    this.#random = random;
  }

  update(servers: Server[]): void {
    this.#ring.build(servers);
  }

  pick(_ctx: PickContext, exclude?: Server): Server | undefined {
    let best: Server | undefined;
    let bestLoad = Infinity;
    for (let d = 0; d < this.#draws; d++) {
      const s = this.#ring.lookup(Math.floor(this.#random() * 0x100000000) >>> 0, exclude);
      if (!s || s.isFull() || s === exclude) continue;
      const load = (s.active + s.queue.length) / s.weight;
      if (load < bestLoad) {
        best = s;
        bestLoad = load;
      }
    }
    // Every draw hit a full server: try the ring in order, as HAProxy retries a few times.
    return best ?? this.#ring.next(exclude);
  }
}
