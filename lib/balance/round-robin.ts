// `balance roundrobin`: smooth weighted round robin. Each pick adds every server's weight to
// its running score and takes the highest, then subtracts the total, which spreads a heavy
// server's turns evenly (5:1 gives a a a b a a, not a a a a a b) as HAProxy's fwrr does.
// Servers at their maxconn are skipped; the backend queues when every server is full.
import type { Server } from '../backend/server.js';
import type { Balancer, PickContext } from './balancer.js';

export class RoundRobinBalancer implements Balancer {
  #servers: Server[] = [];
  #score = new Map<Server, number>();

  update(servers: Server[]): void {
    this.#servers = servers;
    const next = new Map<Server, number>();
    for (const s of servers) next.set(s, this.#score.get(s) ?? 0);
    this.#score = next;
  }

  pick(_ctx: PickContext, exclude?: Server): Server | undefined {
    let best: Server | undefined;
    let bestScore = -Infinity;
    let total = 0;
    for (const s of this.#servers) {
      if (s === exclude || s.isFull()) continue;
      const w = s.weight;
      if (w <= 0) continue;
      const score = (this.#score.get(s) ?? 0) + w;
      this.#score.set(s, score);
      total += w;
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (best) this.#score.set(best, bestScore - total);
    return best;
  }
}
