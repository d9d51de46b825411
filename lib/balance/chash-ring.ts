// HAProxy's consistent-hash ring (src/lb_chash.c): each server owns weight x 16 points whose
// positions derive from the server's id (or IPv4/IPv6 address), never from its position in the
// file, so independent instances with the same ids build the same ring. A key goes to the closest
// point on either side; removing a server only moves the keys that were on its own points.
import type { Server } from '../backend/server.js';
import { isIP } from 'node:net';
import { fullHash } from './hash-functions.js';
import { ipv6Bytes } from './request-key.js';
import { xxh32 } from './xxh32.js';

/** HAProxy's BE_WEIGHT_SCALE: ring points per unit of weight. */
export const POINTS_PER_WEIGHT = 16;
/** HAProxy's SRV_EWGHT_RANGE (256 x 16): the spacing of server ids in the point numbering. */
const EWGHT_RANGE = 256 * POINTS_PER_WEIGHT;

export type HashKeySource = 'id' | 'addr' | 'addr-port';

/** The ring position of a server's `index`-th point (chash_compute_node_key). */
export function pointKey(server: Server, index: number): number {
  return fullHash((serverKey(server) + index) >>> 0);
}

/**
 * The number a server's points are derived from (HAProxy's lb_server_key): its id by default;
 * with `hash-key addr` or `addr-port`, its address (and port), so instances that number servers
 * differently agree. IPv4: the address as HAProxy reads its in_addr on a little-endian host,
 * added to the port's hash and mixed; IPv6: XXH32 of the 16 address bytes seeded with the
 * port's hash (0 without the port). A server named by a host name falls back to its id.
 */
export function serverKey(server: Server): number {
  const mode = server.hashKey;
  const kind = mode === 'id' ? 0 : isIP(server.host);
  if (kind === 0) return Math.imul(server.id, EWGHT_RANGE) >>> 0;
  const seed = mode === 'addr-port' ? fullHash(server.port) : 0;
  if (kind === 4) return fullHash((seed + Buffer.from(server.host.split('.').map(Number)).readUInt32LE(0)) >>> 0);
  return xxh32(ipv6Bytes(server.host), seed);
}

export class ChashRing {
  /** point positions, ascending, and the server owning each */
  #keys: Uint32Array = new Uint32Array(0);
  #owners: Server[] = [];
  /** round-robin cursor for requests without a key */
  #last = -1;

  get size(): number {
    return this.#keys.length;
  }

  build(servers: readonly Server[]): void {
    const points: Array<{ key: number; server: Server; order: number }> = [];
    let order = 0;
    for (const s of servers) {
      const n = s.weight * POINTS_PER_WEIGHT;
      for (let i = 0; i < n; i++) points.push({ key: pointKey(s, i), server: s, order: order++ });
    }
    // Equal positions keep insertion order, as HAProxy's ebtree does for duplicates.
    points.sort((a, b) => a.key - b.key || a.order - b.order);
    this.#keys = Uint32Array.from(points, (p) => p.key);
    this.#owners = points.map((p) => p.server);
    if (this.#last >= this.#keys.length) this.#last = -1;
  }

  /**
   * The server closest to `hash`, then walking forward past `avoid` and any server `eligible`
   * refuses (bounded loads), as chash_get_server_hash does.
   */
  lookup(hash: number, avoid?: Server, eligible?: (s: Server) => boolean): Server | undefined {
    const n = this.#keys.length;
    if (n === 0) return undefined;
    let next = this.#lowerBound(hash);
    if (next === n) next = 0;
    const prev = next === 0 ? n - 1 : next - 1;
    const dp = (hash - this.#keys[prev]!) >>> 0;
    const dn = (this.#keys[next]! - hash) >>> 0;
    let i = dp <= dn ? prev : next;
    for (let steps = 0; steps < n; steps++) {
      const s = this.#owners[i]!;
      if (s !== avoid && (!eligible || eligible(s))) return s;
      i = i + 1 === n ? 0 : i + 1;
    }
    return this.#owners[dp <= dn ? prev : next];
  }

  /** Walks the ring point by point, skipping full servers and `avoid` (chash_get_next_server). */
  next(avoid?: Server): Server | undefined {
    const n = this.#keys.length;
    if (n === 0) return undefined;
    let avoided: number | undefined;
    for (let steps = 0; steps < n; steps++) {
      this.#last = this.#last + 1 >= n ? 0 : this.#last + 1;
      const s = this.#owners[this.#last]!;
      if (s.isFull()) continue;
      if (s !== avoid) return s;
      avoided ??= this.#last;
    }
    if (avoided === undefined) return undefined;
    this.#last = avoided;
    return this.#owners[avoided];
  }

  #lowerBound(hash: number): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
