// `stats socket`: the listening side of HAProxy's runtime API and its line protocol, so `socat`
// and `nc` scripts keep working. One line, one or more commands separated by ';', the answer,
// then the connection closes, unless `prompt` turned on interactive mode (then `quit`). What a
// command does is the executor's business: this process's (runtime-api.ts), or in the primary
// of several workers, the whole cluster's (lib/cluster/runtime-api-primary.ts).
import type net from 'node:net';
import type { BindAddress, StatsSocketConfig } from '../config/types.js';
import { describeBind, listen } from '../runtime/listener.js';

export type Level = StatsSocketConfig['level'];
export const LEVELS: readonly Level[] = ['user', 'operator', 'admin'];

/** Runs one command at a level; resolves with the answer as HAProxy writes it. */
export type CommandExecutor = (cmd: string, level: Level) => Promise<string>;

interface BoundSocket {
  server: net.Server;
  /** read by each new connection; changed in place when a reload keeps the address with another level */
  settings: { level: Level };
}

/** Sockets stay open across a reload when their address stays: keyed by address. */
const addressKey = (a: BindAddress) => describeBind(a);

export class RuntimeSocket {
  #execute: CommandExecutor;
  #bound = new Map<string, BoundSocket>();
  #clients = new Set<net.Socket>();

  constructor(execute: CommandExecutor) {
    this.#execute = execute;
  }

  /**
   * Binds `sockets`: those already bound stay open (with the new level), the others are bound
   * anew, and those no longer listed close. A socket that cannot be bound fails the call, the
   * ones bound before it kept.
   */
  async listen(sockets: readonly StatsSocketConfig[]): Promise<void> {
    const wanted = new Set(sockets.map((s) => addressKey(s.address)));
    for (const [key, b] of this.#bound) {
      if (wanted.has(key)) continue;
      b.server.close();
      this.#bound.delete(key);
    }
    for (const s of sockets) {
      const key = addressKey(s.address);
      const kept = this.#bound.get(key);
      if (kept) {
        kept.settings.level = s.level;
        continue;
      }
      const settings = { level: s.level };
      let server: net.Server;
      try {
        server = await listen(s.address, (c) => this.#accept(c, settings.level));
      } catch (err) {
        throw new Error(`Starting stats socket: cannot bind socket (${(err as Error).message}) for [${describeBind(s.address)}]`);
      }
      this.#bound.set(key, { server, settings });
    }
  }

  close(): void {
    for (const b of this.#bound.values()) b.server.close();
    for (const c of this.#clients) c.destroy();
    this.#bound.clear();
  }

  #accept(socket: net.Socket, level: Level): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buffered = '';
    let interactive = false;
    let busy = Promise.resolve();
    socket.on('data', (text: string) => {
      buffered += text;
      if (buffered.length > 65536) return void socket.destroy();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        busy = busy.then(async () => {
          if (socket.destroyed) return;
          let out = '';
          let quit = false;
          for (const cmd of splitCommands(line)) {
            if (cmd === 'prompt') {
              interactive = !interactive;
              continue;
            }
            if (cmd === 'quit') {
              quit = true;
              break;
            }
            out += await this.#run(cmd, level);
          }
          if (quit || !interactive) {
            socket.end(out);
            return;
          }
          socket.write(out + '> ');
        });
      }
    });
    // `echo cmd | nc` may send the command without a final newline before closing its side.
    socket.on('end', () => {
      const line = buffered.trim();
      buffered = '';
      busy = busy.then(async () => {
        if (socket.destroyed) return;
        if (!line) return void socket.end();
        let out = '';
        for (const cmd of splitCommands(line)) if (cmd !== 'prompt' && cmd !== 'quit') out += await this.#run(cmd, level);
        socket.end(out);
      });
    });
  }

  /** A failing executor answers with its error rather than leaving the client waiting. */
  async #run(cmd: string, level: Level): Promise<string> {
    try {
      return await this.#execute(cmd, level);
    } catch (err) {
      return `${(err as Error).message}\n\n`;
    }
  }
}

function splitCommands(line: string): string[] {
  return line.split(';').map((c) => c.trim()).filter(Boolean);
}
