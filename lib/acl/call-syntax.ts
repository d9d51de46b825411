// HAProxy's `name(arg1,arg2)` syntax shared by fetches and converters: arguments are split at
// commas, with backslash escapes and single or double quotes to keep commas and parentheses.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';

export interface Call {
  name: string;
  args: string[];
  /** true when written with parentheses, even empty ones */
  parens: boolean;
}

/** Splits `fetch(a,b),conv1,conv2(x)` into calls, keeping commas inside parentheses. */
export function splitCalls(text: string, where: SourceLocation, keyword: string): Call[] {
  const calls: Call[] = [];
  let i = 0;
  const fail = (detail: string): never => {
    throw new ConfigError(ConfigErrorCode.SYNTAX, where, keyword, `'${keyword}' : ${detail} in '${text}'`);
  };
  while (i <= text.length) {
    let j = i;
    while (j < text.length && text[j] !== '(' && text[j] !== ',') j++;
    const name = text.slice(i, j).trim();
    if (name === '') fail('missing fetch or converter name');
    const call: Call = { name, args: [], parens: false };
    i = j;
    if (text[i] === '(') {
      call.parens = true;
      i++;
      let arg = '';
      let closed = false;
      while (i < text.length) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          arg += text[i + 1];
          i += 2;
        } else if (c === '"' || c === "'") {
          const end = text.indexOf(c, i + 1);
          if (end < 0) fail('unterminated quote');
          arg += text.slice(i + 1, end);
          i = end + 1;
        } else if (c === ',') {
          call.args.push(arg);
          arg = '';
          i++;
        } else if (c === ')') {
          call.args.push(arg);
          closed = true;
          i++;
          break;
        } else {
          arg += c;
          i++;
        }
      }
      if (!closed) fail("missing ')'");
      if (call.args.length === 1 && call.args[0] === '') call.args = [];
    }
    calls.push(call);
    if (i >= text.length) break;
    if (text[i] !== ',') fail(`unexpected '${text[i]}'`);
    i++;
  }
  return calls;
}
