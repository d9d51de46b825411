// Entry points: configuration files (like HAProxy's repeated `-f`) or text.
import { readFileSync } from 'node:fs';
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { ConfigParser, type ParseResult } from './config-parser.js';
import type { Env } from './lexer.js';

/** A configuration file's name (for messages) and its text, as read once. */
export interface ConfigSource {
  file: string;
  text: string;
}

/** Read and parse `files` in order. `config` is undefined whenever `errors` is not empty. */
export function loadConfig(files: string[], env: Env = process.env): ParseResult & { sources: ConfigSource[] } {
  const parser = new ConfigParser(env);
  const sources: ConfigSource[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      /* c8 ignore next */
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      parser.addError(new ConfigError(ConfigErrorCode.UNREADABLE_FILE, { file, line: 0 }, '-f', `cannot read configuration file '${file}' (${reason})`));
      continue;
    }
    sources.push({ file, text });
    parser.parseText(text, file);
  }
  return { ...parser.finish(), sources };
}

/**
 * Parse texts already read: a worker runs what its primary read and checked, not what the
 * files say by the time the worker starts (a file edited badly since must not stop it).
 */
export function parseConfigSources(sources: readonly ConfigSource[], env: Env = process.env): ParseResult {
  const parser = new ConfigParser(env);
  for (const s of sources) parser.parseText(s.text, s.file);
  return parser.finish();
}

/** Parse one configuration text; `file` is the name used in error messages. */
export function parseConfigText(text: string, file: string, env: Env = process.env): ParseResult {
  const parser = new ConfigParser(env);
  parser.parseText(text, file);
  return parser.finish();
}
