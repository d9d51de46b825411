// `userlist` sections: users with SHA-crypt or insecure passwords, and groups. A successful
// check is remembered (bounded) because each SHA-crypt verification costs thousands of hashes.
import { verifyShaCrypt } from './sha-crypt.js';
import type { UserlistLookup } from '../acl/sample.js';
import type { SourceLocation } from '../config/types.js';

export interface UserConfig {
  name: string;
  /** a $5$/$6$ hash, or the clear text of `insecure-password` */
  password: { kind: 'sha-crypt' | 'insecure'; value: string };
  groups: string[];
  where: SourceLocation;
}

export interface UserlistConfig {
  name: string;
  users: Map<string, UserConfig>;
  /** group name → users named by `group G users a,b` */
  groups: Map<string, string[]>;
  where: SourceLocation;
}

const CACHE_LIMIT = 1024;

export class Userlist implements UserlistLookup {
  readonly #config: UserlistConfig;
  readonly #verified = new Map<string, boolean>();

  constructor(config: UserlistConfig) {
    this.#config = config;
  }

  check(user: string, password: string, group?: string): boolean {
    const u = this.#config.users.get(user);
    if (!u) return false;
    if (!this.#passwordOk(u, password)) return false;
    return group === undefined || this.groupsOf(user).includes(group);
  }

  groupsOf(user: string): string[] {
    const out = new Set(this.#config.users.get(user)?.groups ?? []);
    for (const [g, members] of this.#config.groups) if (members.includes(user)) out.add(g);
    return [...out];
  }

  #passwordOk(u: UserConfig, password: string): boolean {
    if (u.password.kind === 'insecure') return u.password.value === password;
    const key = `${u.name}\0${password}`;
    let ok = this.#verified.get(key);
    if (ok === undefined) {
      ok = verifyShaCrypt(password, u.password.value);
      if (this.#verified.size >= CACHE_LIMIT) this.#verified.clear();
      this.#verified.set(key, ok);
    }
    return ok;
  }
}
