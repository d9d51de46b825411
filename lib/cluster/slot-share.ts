// Splitting a limit between workers: floor(total / workers) each, the remainder going one by
// one to the lowest ids, so the shares add up to the total.

/** Worker `workerId`'s share (ids 1..workers) of `total`. */
export function fairShare(total: number, workerId: number, workers: number): number {
  if (workers <= 1) return total;
  const base = Math.floor(total / workers);
  return base + (workerId <= total % workers ? 1 : 0);
}

/** The share of the `index`-th (0-based) of `count` takers. */
export function shareAt(total: number, index: number, count: number): number {
  return fairShare(total, index + 1, count);
}
