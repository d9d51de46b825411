// `balance leastconn`: the server with the fewest connections per unit of weight, counting
// requests queued on it too (HAProxy's lb_fwlc key is (served + queued) / weight). Equals take
// turns: the search starts after the server picked last.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';

export class LeastConnBalancer implements Balancer {
  #servers: Server[] = [];
  #start = 0;

  update(servers: Server[]): void {
    this.#servers = servers;
    if (this.#start >= servers.length) this.#start = 0;
  }

  pick(_ctx: PickContext, exclude?: Server): Server | undefined {
    const n = this.#servers.length;
    let best: Server | undefined;
    let bestIndex = 0;
    let bestLoad = Infinity;
    let fallback: Server | undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.#start + k) % n;
      const s = this.#servers[i]!;
      if (s.weight <= 0 || s.isFull()) continue;
      if (s === exclude) {
        fallback = s;
        continue;
      }
      const load = (s.active + s.queue.length) / s.weight;
      if (load < bestLoad) {
        best = s;
        bestLoad = load;
        bestIndex = i;
      }
    }
    if (best) this.#start = (bestIndex + 1) % n;
    return best ?? fallback;
  }
}
