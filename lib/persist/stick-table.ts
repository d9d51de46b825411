// A stick table at run time: its key type (samples are converted as HAProxy converts them,
// or yield no key), its store, and how servers are named in it.
import net from 'node:net';
import type { Server } from '../backend/server.js';
import type { StickTableConfig } from '../config/types.js';
import type { StickStore } from './stick-store.js';

export class StickTable {
  readonly name: string;
  readonly config: StickTableConfig;
  readonly store: StickStore;

  constructor(name: string, config: StickTableConfig, store: StickStore) {
    this.name = name;
    this.config = config;
    this.store = store;
  }

  /** The table key for a sample, or undefined when the sample does not convert to the table's type. */
  key(sample: string | undefined): string | undefined {
    if (sample === undefined) return undefined;
    switch (this.config.type) {
      case 'ip': {
        const v4 = sample.startsWith('::ffff:') ? sample.slice(7) : sample;
        return net.isIPv4(v4) ? v4 : undefined;
      }
      case 'ipv6':
        if (net.isIPv4(sample)) return `::ffff:${sample}`;
        return net.isIPv6(sample) ? sample.toLowerCase() : undefined;
      case 'integer': {
        if (!/^[+-]?\d+$/.test(sample)) return undefined;
        const n = Number(sample);
        return n >= -2147483648 && n <= 2147483647 ? String(n) : undefined;
      }
      case 'string':
      case 'binary':
        // Longer keys are truncated to `len`, as HAProxy does; an empty sample is no key.
        return sample.length === 0 ? undefined : sample.slice(0, this.config.len);
    }
  }

  /** The server's identity in this table: its name, or addr:port with `srvkey addr`. */
  serverKey(server: Server): string {
    return this.config.srvkey === 'addr' ? `${server.host}:${server.port}` : server.name;
  }
}
