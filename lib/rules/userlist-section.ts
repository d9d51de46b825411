// The body of a `userlist NAME` section: `group NAME [users U1,U2]` and
// `user NAME (password HASH | insecure-password PW) [groups G1,G2]`. Only SHA-crypt ($5$, $6$)
// hashes can be checked without crypt(3); any other hash is refused with its line.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import { parseShaCrypt } from './sha-crypt.js';
import type { UserlistConfig } from './userlist.js';

export function newUserlist(name: string, where: SourceLocation): UserlistConfig {
  return { name, users: new Map(), groups: new Map(), where };
}

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export function parseUserlistLine(ul: UserlistConfig, words: readonly string[], where: SourceLocation): void {
  const keyword = words[0]!;
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE): never => {
    throw new ConfigError(code, where, keyword, `'${keyword}' : ${detail}`);
  };
  const name = words[1] ?? fail(`missing ${keyword} name`, ConfigErrorCode.MISSING_ARGUMENT);
  if (keyword === 'group') {
    if (ul.groups.has(name)) fail(`group '${name}' is already declared in userlist '${ul.name}'`);
    const members: string[] = [];
    for (let i = 2; i < words.length; i++) {
      if (words[i] === 'users') members.push(...list(words[++i] ?? fail("'users' expects a list of users", ConfigErrorCode.MISSING_ARGUMENT)));
      else fail(`unexpected '${words[i]}' (expected 'users')`, ConfigErrorCode.UNKNOWN_OPTION);
    }
    ul.groups.set(name, members);
    return;
  }
  if (keyword !== 'user') fail(`unknown keyword '${keyword}' in 'userlist' section (expected 'user' or 'group')`, ConfigErrorCode.UNKNOWN_KEYWORD);
  if (ul.users.has(name)) fail(`user '${name}' is already declared in userlist '${ul.name}'`);
  let password: { kind: 'sha-crypt' | 'insecure'; value: string } | undefined;
  const groups: string[] = [];
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    const value = () => words[++i] ?? fail(`'${w}' expects a value`, ConfigErrorCode.MISSING_ARGUMENT);
    if (w === 'insecure-password') password = { kind: 'insecure', value: value() };
    else if (w === 'password') {
      const hash = value();
      if (!parseShaCrypt(hash)) {
        fail(`unsupported password hash for user '${name}': limpet checks SHA-256-crypt ($5$) and SHA-512-crypt ($6$) hashes and 'insecure-password'`, ConfigErrorCode.UNSUPPORTED);
      }
      password = { kind: 'sha-crypt', value: hash };
    } else if (w === 'groups') groups.push(...list(value()));
    else fail(`unexpected '${w}' (expected 'password', 'insecure-password' or 'groups')`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  if (!password) fail(`user '${name}' needs 'password' or 'insecure-password'`, ConfigErrorCode.MISSING_ARGUMENT);
  ul.users.set(name, { name, password: password!, groups, where });
}

/** Users naming groups that do not exist, and groups naming unknown users. */
export function checkUserlist(ul: UserlistConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const u of ul.users.values()) {
    for (const g of u.groups) {
      if (!ul.groups.has(g)) errors.push(new ConfigError(ConfigErrorCode.BAD_VALUE, u.where, 'user', `'user' : group '${g}' of user '${u.name}' is not declared in userlist '${ul.name}'`));
    }
  }
  return errors;
}
