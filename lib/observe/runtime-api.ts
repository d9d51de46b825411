// HAProxy's runtime API commands and their answers, run on this process's proxies. The socket
// and its line protocol are runtime-socket.ts; the primary of several workers runs its own
// executor (lib/cluster/runtime-api-primary.ts) that passes commands on to the workers.
import type { Backend } from '../backend/backend.js';
import type { Server } from '../backend/server.js';
import type { StatsSocketConfig } from '../config/types.js';
import type { StickTable } from '../persist/stick-table.js';
import type { WorkerChannel } from '../cluster/cluster-bus.js';
import { RUNTIME_COMMAND } from '../cluster/stats-topics.js';
import { VERSION } from '../version.js';
import { RuntimeSocket, LEVELS, type Level } from './runtime-socket.js';
import { collectStats, snapshotOf, statsCsv, statsJson, type ProcessStats, type StatRow, type StatsSource } from './stats-data.js';

/** What the runtime API reads and changes. */
export interface RuntimeControl {
  stats(): StatsSource;
  backends(): ReadonlyMap<string, Backend>;
  stickTables(): ReadonlyMap<string, StickTable>;
  /** global maxconn (read and set) */
  globalMaxconn: number | undefined;
  setFrontendMaxconn(name: string, n: number): boolean;
  /** re-read the configuration; resolves with what happened */
  reload?(): Promise<string>;
}

const HELP = [
  ['help', 'list known commands'],
  ['prompt', 'toggle interactive mode with prompt'],
  ['quit', 'disconnect'],
  ['show info', 'report information about the running process'],
  ['show stat [json]', 'report counters for each proxy and server'],
  ['show servers state [<backend>]', 'dump volatile server information (all or for a single backend)'],
  ['show table [<table>]', 'report table usage stats or dump this table\'s contents'],
  ['clear table <table> [key <value>]', 'remove an entry or all entries from a table'],
  ['set server <bk>/<srv> state ready|drain|maint', 'change a server\'s administrative state'],
  ['set server <bk>/<srv> weight <w>[%]', 'change a server\'s weight'],
  ['enable server <bk>/<srv>', 'enable a disabled server (use \'set server\' instead)'],
  ['disable server <bk>/<srv>', 'disable a server for maintenance (use \'set server\' instead)'],
  ['set weight <bk>/<srv> <w>[%]', 'change a server\'s weight (deprecated)'],
  ['get weight <bk>/<srv>', 'report a server\'s current weight'],
  ['set maxconn global|frontend <name>|server <bk>/<srv> <n>', 'change a maxconn setting'],
  ['reload', 're-read the configuration (as SIGUSR2)'],
];

/** HAProxy's `help` answer. */
export function helpAnswer(): string {
  return 'The following commands are valid at this level:\n' + HELP.map(([k, v]) => `  ${k.padEnd(52)}: ${v}`).join('\n') + '\n\n';
}

export const PERMISSION_DENIED = 'Permission denied\n\n';

export const isAdmin = (level: Level) => LEVELS.indexOf(level) >= LEVELS.indexOf('admin');

export const unknownCommand = (cmd: string) => `Unknown command: '${cmd}'. Type 'help' for the list of commands.\n\n`;

/** `show stat` (CSV) or `show stat json`. */
export function showStatAnswer(rows: StatRow[], json: boolean): string {
  return json ? JSON.stringify(statsJson(rows)) + '\n\n' : statsCsv(rows) + '\n';
}

/** `show info`, from the process numbers of a snapshot (this process's, or the workers' whole). */
export function showInfoAnswer(proc: ProcessStats, maxconn: number | undefined): string {
  const up = Math.floor((Date.now() - proc.startedAt) / 1000);
  const d = Math.floor(up / 86400);
  const h = Math.floor((up % 86400) / 3600);
  const m = Math.floor((up % 3600) / 60);
  const s = up % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  const fields: Array<[string, string | number]> = [
    ['Name', 'limpet'],
    ['Version', VERSION],
    ['Release_date', ''],
    ['Nbthread', proc.nbthread],
    ['Nbproc', 1],
    ['Process_num', 1],
    ['Pid', proc.pid],
    ['Uptime', `${d}d ${h}h${p2(m)}m${p2(s)}s`],
    ['Uptime_sec', up],
    ['Memmax_MB', 0],
    ['PoolAlloc_MB', Math.round(process.memoryUsage().heapUsed / 1048576)],
    ['Ulimit-n', 0],
    ['Maxsock', 0],
    ['Maxconn', maxconn ?? 0],
    ['Hard_maxconn', maxconn ?? 0],
    ['CurrConns', proc.actconn],
    ['CumConns', proc.cumConns],
    ['CumReq', proc.cumReq],
    ['Stopping', 0],
    ['Jobs', proc.actconn],
    ['Node', (process.env.HOSTNAME ?? '')],
  ];
  return fields.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n';
}

/** The commands run on this process's own proxies (a single process, or one worker of several). */
export class RuntimeCommands {
  #control: RuntimeControl;

  constructor(control: RuntimeControl) {
    this.#control = control;
  }

  /** Runs one command at `level`; the answer as HAProxy writes it (ending with a blank line where it does). */
  async execute(cmd: string, level: Level = 'admin'): Promise<string> {
    const w = cmd.split(/\s+/).filter(Boolean);
    const c = this.#control;
    const admin = () => isAdmin(level);
    const denied = PERMISSION_DENIED;
    const is = (...words: string[]) => words.every((word, i) => w[i] === word);
    if (w.length === 0) return '';
    if (is('help')) return helpAnswer();
    if (is('show', 'info')) return showInfoAnswer(snapshotOf(c.stats()).process, c.globalMaxconn);
    if (is('show', 'stat')) return showStatAnswer(collectStats(c.stats()), w[2] === 'json');
    if (is('show', 'servers', 'state')) return this.#serversState(w[3]);
    if (is('show', 'table')) return this.#showTable(w[2]);
    if (is('clear', 'table')) {
      if (!admin()) return denied;
      return this.#clearTable(w[2], w[3] === 'key' ? w[4] : undefined);
    }
    if (is('set', 'server') || is('enable', 'server') || is('disable', 'server') || is('set', 'weight')) {
      if (!admin()) return denied;
      const found = this.#server(w[2]);
      if (typeof found === 'string') return found;
      const [be, srv] = found;
      if (w[0] === 'enable') return this.#setState(be, srv, 'ready');
      if (w[0] === 'disable') return this.#setState(be, srv, 'maint');
      if (w[1] === 'weight') return this.#setWeight(be, srv, w[3]);
      if (w[3] === 'state') return this.#setState(be, srv, w[4]);
      if (w[3] === 'weight') return this.#setWeight(be, srv, w[4]);
      return "'set server <srv>' only supports 'state' and 'weight' in limpet.\n\n";
    }
    if (is('get', 'weight')) {
      const found = this.#server(w[2]);
      if (typeof found === 'string') return found;
      return `${found[1].weight} (initial ${found[1].config.weight})\n\n`;
    }
    if (is('set', 'maxconn')) {
      if (!admin()) return denied;
      return this.#setMaxconn(w.slice(2));
    }
    if (is('reload')) {
      if (!admin()) return denied;
      if (!c.reload) return 'Reload is not available.\n\n';
      return (await c.reload()) + '\n\n';
    }
    return unknownCommand(cmd);
  }

  #server(spec: string | undefined): [Backend, Server] | string {
    const slash = spec?.indexOf('/') ?? -1;
    if (!spec || slash < 0) return 'Require \'backend/server\'.\n\n';
    const be = this.#control.backends().get(spec.slice(0, slash));
    if (!be) return 'No such backend.\n\n';
    const srv = be.servers.find((s) => s.name === spec.slice(slash + 1));
    if (!srv) return 'No such server.\n\n';
    return [be, srv];
  }

  #setState(be: Backend, srv: Server, state: string | undefined): string {
    if (state === 'maint') {
      srv.maintenance = true;
      srv.drainIdle();
      be.refresh();
      be.onServerState?.(srv, false, `Server ${be.name}/${srv.name} is going DOWN for maintenance. ${be.usableCount} active and 0 backup servers left.`);
    } else if (state === 'drain') {
      const wasMaint = srv.maintenance;
      srv.maintenance = false;
      // DRAIN: weight 0 for balancing; persistent requests still reach the server.
      drained.set(srv, drained.get(srv) ?? srv.userWeight);
      be.setWeight(srv, 0);
      if (wasMaint) be.onServerState?.(srv, true, `Server ${be.name}/${srv.name} is UP/DRAIN (leaving forced maintenance).`);
    } else if (state === 'ready') {
      const wasMaint = srv.maintenance;
      srv.maintenance = false;
      const w = drained.get(srv);
      drained.delete(srv);
      if (w !== undefined) be.setWeight(srv, w);
      else be.refresh();
      if (wasMaint) be.onServerState?.(srv, true, `Server ${be.name}/${srv.name} is UP (leaving forced maintenance).`);
    } else return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n";
    return '\n';
  }

  #setWeight(be: Backend, srv: Server, text: string | undefined): string {
    const m = /^(\d+)(%?)$/.exec(text ?? '');
    if (!m) return 'Require <weight> or <weight%>.\n\n';
    const n = Number(m[1]);
    const weight = m[2] ? Math.round((srv.config.weight * n) / 100) : n;
    if (weight > 256) return 'Absolute weight can only be between 0 and 256 inclusive.\n\n';
    drained.delete(srv);
    be.setWeight(srv, weight);
    return '\n';
  }

  #setMaxconn(w: string[]): string {
    const c = this.#control;
    const n = Number(w[w.length - 1]);
    if (!/^\d+$/.test(w[w.length - 1] ?? '')) return 'Require an integer maxconn value.\n\n';
    if (w[0] === 'global' && w.length === 2) {
      if (n < 1) return 'Value out of range.\n\n';
      c.globalMaxconn = n;
      return '\n';
    }
    if (w[0] === 'frontend' && w.length === 3) return c.setFrontendMaxconn(w[1]!, n) ? '\n' : 'No such frontend.\n\n';
    if (w[0] === 'server' && w.length === 3) {
      const found = this.#server(w[1]);
      if (typeof found === 'string') return found;
      // A runtime setting of the server's slot count (its queue takes the surplus).
      (found[1] as { maxconn: number }).maxconn = n;
      return '\n';
    }
    return "Require 'global', 'frontend <name>' or 'server <backend>/<server>', then the value.\n\n";
  }

  #serversState(backend: string | undefined): string {
    const cols = 'be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ' +
      'srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state ' +
      'bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
    const src = this.#control.stats();
    let out = `1\n# ${cols}\n`;
    let beId = 0;
    for (const p of src.config.proxies) {
      beId++;
      const be = this.#control.backends().get(p.name);
      if (!be || (backend !== undefined && be.name !== backend)) continue;
      for (const s of be.servers) {
        const st = src.serverStates.get(`${be.name}/${s.name}`);
        const op = s.health === 'up' ? 2 : 0;
        const adminState = (s.maintenance ? (s.config.disabled ? 0x04 : 0x01) : 0) | (drained.has(s) ? 0x08 : 0);
        const since = Math.floor((Date.now() - (st?.lastChange ?? src.startedAt)) / 1000);
        const checkState = s.config.check ? 6 : 0;
        out += [beId, be.name, s.id, s.name, s.host, op, adminState, s.userWeight, s.config.weight, since,
          s.config.check ? 6 : 1, s.health === 'up' ? 3 : 1, s.config.check ? (s.health === 'up' ? s.config.rise + s.config.fall - 1 : 0) : 0,
          checkState, 0, 0, s.config.id !== undefined ? 1 : 0, '-', s.port, '-', 0, 0, '-', '-', 0].join(' ') + '\n';
      }
    }
    if (backend !== undefined && !this.#control.backends().has(backend)) return "Can't find backend.\n\n";
    return out + '\n';
  }

  #showTable(name: string | undefined): string {
    const tables = this.#control.stickTables();
    const header = (t: StickTable, used: number) => `# table: ${t.name}, type: ${t.config.type}, size:${t.config.size}, used:${used}\n`;
    if (name === undefined) {
      let out = '';
      for (const t of tables.values()) out += header(t, entriesOf(t)?.length ?? 0);
      return out + '\n';
    }
    const t = tables.get(name);
    if (!t) return 'No such table\n\n';
    const entries = entriesOf(t) ?? [];
    const now = Date.now();
    const be = this.#control.backends().get(name);
    let out = header(t, entries.length);
    let i = 0;
    for (const [key, e] of entries) {
      const srv = be?.servers.find((s) => t.serverKey(s) === e.server);
      const exp = Number.isFinite(e.expires) ? Math.max(0, e.expires - now) : 0;
      out += `0x${(++i).toString(16).padStart(12, '0')}: key=${key} use=0 exp=${exp} shard=0 server_id=${srv?.id ?? 0} server_key=${e.server}\n`;
    }
    return out + '\n';
  }

  #clearTable(name: string | undefined, key: string | undefined): string {
    if (!name) return 'Missing table name.\n\n';
    const t = this.#control.stickTables().get(name);
    if (!t) return 'No such table\n\n';
    const store = t.store as { entries?: () => Iterable<[string, unknown]>; delete?: (key: string) => void };
    if (!store.delete || !store.entries) return 'This table cannot be cleared from here (a shared table).\n\n';
    if (key !== undefined) store.delete(key);
    else for (const [k] of [...store.entries()]) store.delete(k);
    return '\n';
  }
}

/** Servers put in DRAIN, with the weight to give back on `ready`. */
const drained = new WeakMap<Server, number>();

function entriesOf(t: StickTable): Array<[string, { server: string; expires: number }]> | undefined {
  const store = t.store as { entries?: () => Iterable<[string, { server: string; expires: number }]> };
  return store.entries ? [...store.entries()] : undefined;
}

/** `stats socket` of a single process: the line protocol over this process's commands. */
export class RuntimeApi {
  #commands: RuntimeCommands;
  #socket: RuntimeSocket;

  constructor(control: RuntimeControl) {
    this.#commands = new RuntimeCommands(control);
    this.#socket = new RuntimeSocket((cmd, level) => this.#commands.execute(cmd, level));
  }

  listen(sockets: StatsSocketConfig[]): Promise<void> {
    return this.#socket.listen(sockets);
  }

  close(): void {
    this.#socket.close();
  }

  execute(cmd: string, level: Level = 'admin'): Promise<string> {
    return this.#commands.execute(cmd, level);
  }
}

/**
 * A worker of several runs the commands its primary passes on (the primary serves the
 * sockets): `set server` and the like on this worker's proxies, reads of its tables.
 */
export function answerPrimaryCommands(channel: WorkerChannel, control: RuntimeControl): void {
  const commands = new RuntimeCommands(control);
  channel.on(RUNTIME_COMMAND, (p: { cmd: string; level: Level }) => commands.execute(p.cmd, p.level));
}
