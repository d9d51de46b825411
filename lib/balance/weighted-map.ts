// HAProxy's weighted server map (src/lb_map.c): a table with one slot per unit of effective
// weight, filled so that heavy servers are spread evenly and, between equal weights, the
// server declared first comes first. Map-based hashing takes `hash % size`; static-rr walks it.
import type { Server } from '../backend/server.js';

/** Greatest common divisor of the non-zero configured weights: HAProxy divides weights by it. */
export function weightDivisor(weights: readonly number[]): number {
  let g = 0;
  for (const w of weights) {
    if (w <= 0) continue;
    let a = g;
    let b = w;
    while (b) [a, b] = [b, a % b];
    g = a;
  }
  return g || 1;
}

/** A server's weight in the map: its weight divided by the backend's divisor, rounded up. */
export function mapWeight(weight: number, divisor: number): number {
  return Math.ceil(weight / divisor);
}

/** Builds the map from the usable servers, in declaration order. */
export function buildWeightedMap(servers: readonly Server[], divisor: number): Server[] {
  const weights = servers.map((s) => mapWeight(s.weight, divisor));
  const total = weights.reduce((a, b) => a + b, 0);
  const map: Server[] = [];
  if (total === 0) return map;
  const score = new Array<number>(servers.length).fill(0);
  for (let slot = 0; slot < total; slot++) {
    let best = -1;
    let max = 0;
    for (let i = 0; i < servers.length; i++) {
      if (weights[i] === 0) continue;
      if (total === 1) {
        best = i;
        break;
      }
      score[i]! += weights[i]!;
      // Integer division as in C: a value between 0 and 3; the first server reaching the
      // highest value wins the slot.
      const v = Math.floor((score[i]! + total) / total);
      if (best === -1 || v > max) {
        max = v;
        best = i;
      }
    }
    map.push(servers[best]!);
    score[best]! -= total;
  }
  return map;
}
