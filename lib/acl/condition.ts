// `if|unless COND`: COND is terms separated by `||` (or `or`); a term is ACLs ANDed by
// juxtaposition, each optionally negated by `!`, named or anonymous `{ FETCH ... }`.
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import type { SourceLocation } from '../config/types.js';
import { compileAcl, predefinedAcl, type Acl, type AclTable } from './acl.js';
import type { Phase, SampleContext } from './sample.js';

export interface Condition {
  test(ctx: SampleContext): boolean;
}

interface Item {
  acls: Acl[];
  negate: boolean;
}

/**
 * Compiles `words` (the condition after `if`/`unless`). `phase` is where the rule runs:
 * request rules cannot use response-only fetches.
 */
export function compileCondition(
  unless: boolean,
  words: readonly string[],
  acls: AclTable,
  phase: Phase,
  where: SourceLocation,
  keyword: string,
): Condition {
  const fail = (detail: string, code: ConfigErrorCode = ConfigErrorCode.BAD_VALUE): never => {
    throw new ConfigError(code, where, keyword, `'${keyword}' : ${detail}`);
  };
  if (words.length === 0) fail(`missing condition after '${unless ? 'unless' : 'if'}'`, ConfigErrorCode.MISSING_ARGUMENT);
  const terms: Item[][] = [[]];
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '||' || w === 'or') {
      if (terms[terms.length - 1]!.length === 0) fail(`'${w}' without a condition before it`, ConfigErrorCode.SYNTAX);
      terms.push([]);
      continue;
    }
    let negate = false;
    while (w.startsWith('!')) {
      negate = !negate;
      w = w.slice(1);
      if (w === '') {
        w = words[++i] ?? fail("'!' without an ACL after it", ConfigErrorCode.SYNTAX);
      }
    }
    let list: Acl[];
    if (w === '{') {
      const end = words.indexOf('}', i + 1);
      if (end < 0) fail("missing '}' closing an anonymous ACL", ConfigErrorCode.SYNTAX);
      list = [compileAcl(words.slice(i + 1, end), where, keyword)];
      i = end;
    } else {
      const named = acls.get(w) ?? (predefinedAcl(w) ? [predefinedAcl(w)!] : undefined);
      if (!named) fail(`no such ACL : '${w}'`, ConfigErrorCode.UNKNOWN_KEYWORD);
      list = named!;
    }
    if (phase === 'request' && list.some((a) => a.phase === 'response')) {
      fail(`${w === '{' ? 'an anonymous ACL' : `ACL '${w}'`} uses a response fetch and cannot be used in a request rule`);
    }
    terms[terms.length - 1]!.push({ acls: list, negate });
  }
  if (terms[terms.length - 1]!.length === 0) fail('condition ends with an operator', ConfigErrorCode.SYNTAX);
  return {
    test(ctx) {
      let result = false;
      for (const term of terms) {
        let all = true;
        for (const item of term) {
          let v = false;
          for (const a of item.acls) {
            if (a.test(ctx)) {
              v = true;
              break;
            }
          }
          if (v === item.negate) {
            all = false;
            break;
          }
        }
        if (all) {
          result = true;
          break;
        }
      }
      return result !== unless;
    },
  };
}

/** Splits `... if COND` / `... unless COND` off the end of a rule's words. */
export function splitCondition(words: readonly string[]): { body: string[]; cond?: { unless: boolean; words: string[] } } {
  const i = words.findIndex((w) => w === 'if' || w === 'unless');
  if (i < 0) return { body: [...words] };
  return { body: words.slice(0, i), cond: { unless: words[i] === 'unless', words: words.slice(i + 1) } };
}
