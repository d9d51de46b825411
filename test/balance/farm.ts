// Real Server objects and a balancer built the way a Backend builds them, for unit tests of
// the balancing algorithms (no sockets: picks, weights, up/down and connection counts).
import { assignIds } from '../../lib/backend/backend.js';
import { Server } from '../../lib/backend/server.js';
import type { Balancer, PickContext } from '../../lib/balance/balancer.js';
import { createBalancer } from '../../lib/balance/create-balancer.js';
import type { HashTypeConfig, ServerConfig } from '../../lib/config/types.js';

export interface ServerSpec {
  name: string;
  weight?: number;
  id?: number;
  host?: string;
  port?: number;
  maxconn?: number;
  backup?: boolean;
  hashKey?: ServerConfig['hashKey'];
}

export function makeServer(spec: ServerSpec, fallbackId: number): Server {
  const cfg: ServerConfig = {
    name: spec.name,
    host: spec.host ?? '127.0.0.1',
    port: spec.port ?? 8000,
    weight: spec.weight ?? 1,
    maxconn: spec.maxconn ?? 0,
    check: false,
    inter: 2000,
    rise: 2,
    fall: 3,
    backup: spec.backup ?? false,
    disabled: false,
    where: { file: 'test', line: 1 },
    ...(spec.hashKey ? { hashKey: spec.hashKey } : {}),
  };
  return new Server(cfg, spec.id ?? fallbackId);
}

export interface Farm {
  servers: Server[];
  balancer: Balancer;
  pick(ctx?: PickContext, exclude?: Server): Server | undefined;
  /** the usable set changed (servers' `weight`, `health`): rebuild as the backend does */
  refresh(): void;
}

export function makeFarm(
  algorithm: string,
  args: string[],
  specs: ServerSpec[],
  hashType?: HashTypeConfig,
  hashBalanceFactor?: number,
): Farm {
  // Ids as HAProxy (and Backend) assign them.
  const ids = assignIds({ servers: specs.map((s) => ({ id: s.id }) as ServerConfig) }).map(([, id]) => id);
  const servers = specs.map((s, i) => makeServer(s, ids[i]!));
  const balancer = createBalancer({
    balance: { algorithm, args, where: { file: 'test', line: 1 } },
    hashType,
    hashBalanceFactor,
    weights: specs.map((s) => s.weight ?? 1),
  });
  const refresh = () => balancer.update(servers.filter((s) => s.balanceable && !s.backup));
  refresh();
  return { servers, balancer, pick: (ctx = {}, exclude) => balancer.pick(ctx, exclude), refresh };
}

/** Counts picks per server name over `n` requests. */
export function tally(farm: Farm, n: number, ctx: (i: number) => PickContext = () => ({})): Map<string, number> {
  const counts = new Map<string, number>(farm.servers.map((s) => [s.name, 0]));
  for (let i = 0; i < n; i++) {
    const s = farm.pick(ctx(i));
    if (s) counts.set(s.name, counts.get(s.name)! + 1);
  }
  return counts;
}
