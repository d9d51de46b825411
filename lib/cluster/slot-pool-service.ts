// The primary's maxconn service: one SlotPool per server with a maxconn, so that a server's
// limit holds for all workers together. Workers lease slots (slot-leases.ts); this answers
// them and follows reloads, `set maxconn server` and workers that die.
import { isBackend, type Config } from '../config/types.js';
import type { PrimaryContext, PrimaryService } from './primary-service.js';
import { SlotPool } from './slot-pool.js';
import {
  SLOT_TOPICS,
  slotKey,
  type GiveBackMessage,
  type HelloReply,
  type HelloRequest,
  type MaxconnMessage,
  type WantMessage,
} from './slot-protocol.js';

export function slotPoolService(ctx: PrimaryContext): PrimaryService {
  const pools = new Map<string, SlotPool>();
  const poolFor = (key: string, maxconn: number): SlotPool => {
    let pool = pools.get(key);
    if (!pool) {
      pool = new SlotPool(
        key,
        maxconn,
        ctx.workers,
        {
          grant: (id, n, keep) => ctx.channel.sendTo(id, SLOT_TOPICS.grant, { key, n, keep }),
          recall: (id, keep) => ctx.channel.sendTo(id, SLOT_TOPICS.recall, { key, keep }),
        },
        pools.size,
      );
      pools.set(key, pool);
    }
    return pool;
  };
  // The file's values win on reload, as they do for a single process's new servers.
  const follow = (config: Config): void => {
    for (const p of config.proxies) {
      if (!isBackend(p)) continue;
      for (const s of p.servers) {
        const key = slotKey(p.name, s.name);
        const pool = pools.get(key);
        if (pool) pool.setMaxconn(s.maxconn);
        else if (s.maxconn > 0) poolFor(key, s.maxconn);
      }
    }
  };

  ctx.channel.on(SLOT_TOPICS.hello, (req: HelloRequest, id): HelloReply => {
    const reply: HelloReply = {};
    // A server the primary does not know yet (a worker reloaded first) starts with the worker's value.
    for (const { key, maxconn } of req.servers) reply[key] = poolFor(key, maxconn).hello(id);
    return reply;
  });
  ctx.channel.on(SLOT_TOPICS.want, (m: WantMessage, id) => pools.get(m.key)?.want(id, m.wanted, m.seen));
  ctx.channel.on(SLOT_TOPICS.giveBack, (m: GiveBackMessage, id) => pools.get(m.key)?.giveBack(id, m.n, m.wanted, m.seen));
  // Every worker relays the same `set maxconn server`: applying it again changes nothing.
  ctx.channel.on(SLOT_TOPICS.maxconn, (m: MaxconnMessage) => {
    const pool = pools.get(m.key);
    if (pool) pool.setMaxconn(m.maxconn);
    else if (m.maxconn > 0) poolFor(m.key, m.maxconn);
  });

  return {
    start: () => follow(ctx.config()),
    reload: (config) => follow(config),
    workerExited: (id) => {
      for (const pool of pools.values()) pool.workerExited(id);
    },
  };
}
