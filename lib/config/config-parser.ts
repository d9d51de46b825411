// The recording pass: reads lines, tracks the current section, and hands each keyword to its
// parser from the section's table. Name resolution waits for validateConfig(), so a
// default_backend may name a backend declared further down or in a later file.
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { defaultGlobal, GLOBAL_KEYWORDS } from './global-keywords.js';
import { keywordContext, type Keyword, type KeywordTable, type SectionKind } from './keyword-context.js';
import { splitLine, type Env } from './lexer.js';
import { newProxy, PROXY_KEYWORDS } from './proxy-keywords.js';
import { newRedis, REDIS_KEYWORDS } from './redis-section.js';
import { newUserlist, parseUserlistLine } from '../rules/userlist-section.js';
import type { UserlistConfig } from '../rules/userlist.js';
import type { Config, GlobalConfig, ProxyConfig, ProxyKind, RedisConfig, SourceLocation } from './types.js';
import { validateConfig } from './validate-config.js';

/** A parsed line; defaults lines are kept so they can be replayed into each proxy that inherits them. */
interface ParsedLine<T> {
  entry: Keyword<T>;
  keyword: string;
  args: readonly string[];
  negated: boolean;
  where: SourceLocation;
}

type RecordedLine = ParsedLine<ProxyConfig>;

interface DefaultsSection {
  name?: string;
  lines: RecordedLine[];
}

type Current =
  | { kind: 'none' }
  | { kind: 'skip' }
  | { kind: 'global' }
  | { kind: 'defaults'; section: DefaultsSection; scratch: ProxyConfig }
  | { kind: 'proxy'; proxy: ProxyConfig }
  | { kind: 'redis'; redis: RedisConfig }
  | { kind: 'userlist'; userlist: UserlistConfig };

const PROXY_KINDS: readonly string[] = ['frontend', 'backend', 'listen'];

// HAProxy sections limpet does not implement; their whole body is skipped after one error.
const UNSUPPORTED_SECTIONS = new Set([
  'peers', 'resolvers', 'mailers', 'program', 'http-errors', 'ring', 'cache',
  'log-forward', 'crt-store', 'traces', 'acme',
]);

const VALID_NAME = /^[A-Za-z0-9_.:-]+$/;

export interface ParseResult {
  config?: Config;
  errors: ConfigError[];
}

/**
 * Parses one or more configuration texts in order, like several `-f` options to HAProxy:
 * each text starts outside any section, and the last `defaults` carries over.
 */
export class ConfigParser {
  readonly #env: Env;
  readonly #errors: ConfigError[] = [];
  readonly #global: GlobalConfig = defaultGlobal();
  readonly #proxies: ProxyConfig[] = [];
  readonly #redis: RedisConfig[] = [];
  readonly #userlists = new Map<string, UserlistConfig>();
  readonly #namedDefaults = new Map<string, DefaultsSection>();
  // Proxies with a rejected bind line: if they end up with no bind at all, an extra
  // "no bind" error would only repeat that one.
  readonly #failedBind = new Set<ProxyConfig>();
  #defaults: DefaultsSection = { lines: [] };
  #current: Current = { kind: 'none' };

  constructor(env: Env = process.env) {
    this.#env = env;
  }

  addError(error: ConfigError): void {
    this.#errors.push(error);
  }

  parseText(text: string, file: string): void {
    this.#current = { kind: 'none' };
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const where = { file, line: i + 1 };
      try {
        const words = splitLine(lines[i]!, where, this.#env);
        if (words.length > 0) this.#parseLine(words, where);
      } catch (err) {
        // Keep going: one run reports every error of every file.
        if (err instanceof ConfigError) this.#errors.push(err);
        /* c8 ignore next */
        else throw err;
      }
    }
  }

  /** Run the validation pass; the config is returned only when there is no error at all. */
  finish(): ParseResult {
    const config: Config = { global: this.#global, proxies: this.#proxies, redis: this.#redis, userlists: this.#userlists };
    const errors = [...this.#errors, ...validateConfig(config, { failedBind: this.#failedBind })];
    return errors.length > 0 ? { errors } : { config, errors };
  }

  #parseLine(words: string[], where: SourceLocation): void {
    const head = words[0]!;
    if (head === 'global') return this.#openGlobal(words, where);
    if (head === 'defaults') return this.#openDefaults(words, where);
    if (PROXY_KINDS.includes(head)) return this.#openProxy(head as ProxyKind, words, where);
    if (head === 'redis') return this.#openRedis(words, where);
    if (head === 'userlist') return this.#openUserlist(words, where);
    if (UNSUPPORTED_SECTIONS.has(head)) {
      this.#current = { kind: 'skip' };
      throw new ConfigError(ConfigErrorCode.UNSUPPORTED, where, head, `'${head}' sections are not supported by limpet`);
    }
    const current = this.#current;
    switch (current.kind) {
      case 'none':
        throw new ConfigError(ConfigErrorCode.UNKNOWN_KEYWORD, where, head, `unknown keyword '${head}' out of section`);
      case 'skip':
        return;
      case 'global':
        dispatch(GLOBAL_KEYWORDS, 'global', this.#global, words, where);
        return;
      case 'redis':
        dispatch(REDIS_KEYWORDS, 'redis', current.redis, words, where);
        return;
      case 'userlist':
        parseUserlistLine(current.userlist, words, where);
        return;
      case 'defaults': {
        const recorded = dispatch(PROXY_KEYWORDS, 'defaults', current.scratch, words, where);
        current.section.lines.push(recorded);
        return;
      }
      case 'proxy':
        try {
          dispatch(PROXY_KEYWORDS, current.proxy.kind, current.proxy, words, where);
        } catch (err) {
          if (head === 'bind') this.#failedBind.add(current.proxy);
          throw err;
        }
    }
  }

  #openGlobal(words: string[], where: SourceLocation): void {
    this.#current = { kind: 'global' };
    if (words.length > 1) throw new ConfigError(ConfigErrorCode.SYNTAX, where, 'global', `'global' takes no argument (got '${words[1]}')`);
  }

  #openDefaults(words: string[], where: SourceLocation): void {
    // A new defaults section replaces the previous one entirely, as in HAProxy.
    const section: DefaultsSection = { lines: [] };
    this.#defaults = section;
    this.#current = { kind: 'defaults', section, scratch: newProxy('listen', '', where) };
    let rest = words.slice(1);
    if (rest[0] !== undefined && rest[0] !== 'from') {
      section.name = checkName('defaults', rest[0], where);
      this.#namedDefaults.set(section.name, section);
      rest = rest.slice(1);
    }
    const from = this.#from('defaults', rest, where);
    if (from) section.lines.push(...from.lines);
  }

  #openProxy(kind: ProxyKind, words: string[], where: SourceLocation): void {
    const name = words[1];
    // Until the header is valid, lines still get parsed (to report their errors) into a
    // proxy that is never added to the configuration.
    const proxy = newProxy(kind, name ?? '', where);
    this.#current = { kind: 'proxy', proxy };
    if (name === undefined) throw new ConfigError(ConfigErrorCode.MISSING_ARGUMENT, where, kind, `'${kind}' : missing name`);
    checkName(kind, name, where);
    const defaults = this.#from(kind, words.slice(2), where) ?? this.#defaults;
    this.#proxies.push(proxy);
    for (const line of defaults.lines) {
      if (!line.entry.sections.includes(kind)) continue;
      // The line parsed once already in the defaults section, so it cannot fail here.
      line.entry.parse(proxy, keywordContext(line.where, line.keyword, line.args, line.negated, kind));
    }
  }

  #openRedis(words: string[], where: SourceLocation): void {
    const name = words[1];
    const redis = newRedis(name ?? '', where);
    this.#current = { kind: 'redis', redis };
    if (name === undefined) throw new ConfigError(ConfigErrorCode.MISSING_ARGUMENT, where, 'redis', "'redis' : missing name");
    checkName('redis', name, where);
    if (words.length > 2) throw new ConfigError(ConfigErrorCode.SYNTAX, where, 'redis', `'redis ${name}' : unexpected '${words.slice(2).join(' ')}'`);
    this.#redis.push(redis);
  }

  #openUserlist(words: string[], where: SourceLocation): void {
    const name = words[1];
    const userlist = newUserlist(name ?? '', where);
    this.#current = { kind: 'userlist', userlist };
    if (name === undefined) throw new ConfigError(ConfigErrorCode.MISSING_ARGUMENT, where, 'userlist', "'userlist' : missing name");
    checkName('userlist', name, where);
    if (words.length > 2) throw new ConfigError(ConfigErrorCode.SYNTAX, where, 'userlist', `'userlist ${name}' : unexpected '${words.slice(2).join(' ')}'`);
    if (this.#userlists.has(name)) throw new ConfigError(ConfigErrorCode.BAD_VALUE, where, 'userlist', `'userlist' : userlist '${name}' is already declared`);
    this.#userlists.set(name, userlist);
  }

  /** Resolve an optional `from NAME` clause to a named defaults section. */
  #from(keyword: string, rest: string[], where: SourceLocation): DefaultsSection | undefined {
    if (rest.length === 0) return undefined;
    if (rest[0] !== 'from' || rest.length !== 2) {
      throw new ConfigError(ConfigErrorCode.SYNTAX, where, keyword, `'${keyword}' : unexpected '${rest.join(' ')}' (expected 'from <defaults name>')`);
    }
    const name = rest[1]!;
    const section = this.#namedDefaults.get(name);
    if (!section) throw new ConfigError(ConfigErrorCode.UNKNOWN_DEFAULTS, where, keyword, `'${keyword}' : unable to find defaults section '${name}'`);
    return section;
  }
}

function checkName(keyword: string, name: string, where: SourceLocation): string {
  if (!VALID_NAME.test(name)) {
    throw new ConfigError(ConfigErrorCode.BAD_VALUE, where, keyword, `'${keyword}' : invalid name '${name}' (allowed: letters, digits, '-', '_', '.', ':')`);
  }
  return name;
}

/** Find the keyword in the table (two-word keywords like `timeout connect` first), then parse. */
function dispatch<T>(table: KeywordTable<T>, section: SectionKind, target: T, words: string[], where: SourceLocation): ParsedLine<T> {
  const negated = words[0] === 'no' && words.length > 1;
  const w = negated ? words.slice(1) : words;
  const two = w.length >= 2 ? `${w[0]} ${w[1]}` : undefined;
  let keyword: string;
  let args: string[];
  let entry: Keyword<T> | undefined;
  if (two !== undefined && table.has(two)) {
    keyword = two;
    entry = table.get(two);
    args = w.slice(2);
  } else {
    keyword = w[0]!;
    entry = table.get(keyword);
    args = w.slice(1);
  }
  if (!entry) {
    // `option foo` and `timeout foo` are reported as the two-word keyword they were meant to be.
    const shown = (w[0] === 'option' || w[0] === 'timeout') && two !== undefined ? two : w[0]!;
    throw new ConfigError(ConfigErrorCode.UNKNOWN_KEYWORD, where, shown, `unknown keyword '${shown}' in '${section}' section`);
  }
  if (!entry.sections.includes(section)) {
    throw new ConfigError(ConfigErrorCode.KEYWORD_NOT_ALLOWED, where, keyword, `'${keyword}' is not allowed in '${section}' section`);
  }
  if (negated && !entry.negatable) {
    throw new ConfigError(ConfigErrorCode.SYNTAX, where, keyword, `'no ${keyword}' is not supported ('${keyword}' cannot be negated)`);
  }
  entry.parse(target, keywordContext(where, keyword, args, negated, section));
  return { entry, keyword, args, negated, where };
}
