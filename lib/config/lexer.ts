// Splits one configuration line into words the way HAProxy does: whitespace separates,
// `#` starts a comment, double quotes group and expand "${VAR}", single quotes group
// literally, and a backslash escapes the next character. As in HAProxy, a backslash before
// any other character is kept with it, so regular expressions such as `^/a\.b$` survive.
import { ConfigError, ConfigErrorCode } from './config-error.js';
import type { SourceLocation } from './types.js';

export type Env = Record<string, string | undefined>;

const SIMPLE_ESCAPES: Record<string, string> = {
  ' ': ' ',
  '#': '#',
  '\\': '\\',
  '"': '"',
  "'": "'",
  r: '\r',
  n: '\n',
  t: '\t',
};

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/**
 * Return the words of `line`. Throws a ConfigError (with `where`) on an unterminated quote,
 * a bad escape, or an unknown environment variable without a default.
 */
export function splitLine(line: string, where: SourceLocation, env: Env = process.env): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once any of its characters (or an empty pair of quotes) has been seen.
  let inWord = false;
  let i = 0;
  const n = line.length;
  const keyword = () => words[0] ?? word;
  const fail = (code: ConfigErrorCode, detail: string): never => {
    throw new ConfigError(code, where, keyword(), detail);
  };

  const readEscape = (): string => {
    const c = line[i + 1];
    if (c === undefined) return fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : backslash at end of line (lines cannot be continued)`);
    if (c === 'x') {
      const hex = line.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : invalid escape '\\x${hex}' (expected two hex digits)`);
      i += 4;
      return String.fromCharCode(parseInt(hex, 16));
    }
    i += 2;
    return SIMPLE_ESCAPES[c] ?? `\\${c}`;
  };

  const readVariable = (): string => {
    // i points at `$`, line[i + 1] is `{`
    const end = line.indexOf('}', i + 2);
    if (end < 0) return fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : unterminated variable reference '${line.slice(i)}'`);
    const body = line.slice(i + 2, end);
    i = end + 1;
    const dash = body.indexOf('-');
    const name = dash < 0 ? body : body.slice(0, dash);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : invalid variable name '${name}'`);
    const value = env[name];
    if (value !== undefined) return value;
    if (dash >= 0) return body.slice(dash + 1);
    return fail(ConfigErrorCode.UNKNOWN_VARIABLE, `'${keyword()}' : environment variable '${name}' is not set`);
  };

  while (i < n) {
    const c = line[i]!;
    if (isSpace(c)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i++;
    } else if (c === '#') {
      break;
    } else if (c === '\\') {
      word += readEscape();
      inWord = true;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : unterminated single quote`);
      word += line.slice(i + 1, end);
      i = end + 1;
      inWord = true;
    } else if (c === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= n) {
          i = start;
          fail(ConfigErrorCode.SYNTAX, `'${keyword()}' : unterminated double quote`);
        }
        const q = line[i]!;
        if (q === '"') {
          i++;
          break;
        }
        if (q === '\\') word += readEscape();
        else if (q === '$' && line[i + 1] === '{') word += readVariable();
        else {
          word += q;
          i++;
        }
      }
      inWord = true;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
