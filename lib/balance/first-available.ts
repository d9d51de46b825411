// `balance first`: the usable server with the lowest id that still has a free connection slot
// (its maxconn); weights are ignored. Servers without maxconn never fill up.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';

export class FirstAvailableBalancer implements Balancer {
  #byId: Server[] = [];

  update(servers: Server[]): void {
    this.#byId = [...servers].sort((a, b) => a.id - b.id);
  }

  pick(_ctx: PickContext, exclude?: Server): Server | undefined {
    let fallback: Server | undefined;
    for (const s of this.#byId) {
      if (s.isFull()) continue;
      if (s !== exclude) return s;
      fallback = s;
    }
    return fallback;
  }
}
