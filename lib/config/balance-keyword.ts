// `balance ALGO [args]`: validates the arguments of each algorithm HAProxy knows and records
// them as written, so lib/balance/ interprets them with HAProxy's meaning.
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import type { BalanceConfig } from './types.js';

function uriArgs(ctx: KeywordContext): string[] {
  const args = ctx.args.slice(1);
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === 'whole' || word === 'path-only') continue;
    if (word === 'len' || word === 'depth') {
      ctx.int(ctx.arg(i + 2, `value for '${word}'`), `'${word}'`, 1);
      i++;
      continue;
    }
    ctx.fail(`unknown 'uri' option '${word}' (expected whole, len, depth or path-only)`, ConfigErrorCode.UNKNOWN_OPTION);
  }
  return args;
}

export function parseBalance(ctx: KeywordContext): BalanceConfig {
  const word = ctx.arg(0, 'algorithm');
  // `name(arg)` forms: hdr(NAME), random(N), rdp-cookie(NAME)
  const m = /^([a-z_-]+)\((.*)\)$/.exec(word);
  const algorithm = m ? m[1]! : word;
  const inner = m ? m[2]! : undefined;
  let args: string[];
  const noParen = () => {
    if (inner !== undefined) ctx.fail(`'${algorithm}' does not take an argument in parentheses`);
  };
  switch (algorithm) {
    case 'roundrobin':
    case 'static-rr':
    case 'leastconn':
    case 'first':
    case 'source':
      noParen();
      ctx.noArgsFrom(1);
      args = [];
      break;
    case 'random':
      ctx.noArgsFrom(1);
      if (inner === undefined) args = [];
      else {
        ctx.int(inner, "'random' draws", 1);
        args = [inner];
      }
      break;
    case 'rdp-cookie':
      ctx.noArgsFrom(1);
      if (inner === '') ctx.fail("'rdp-cookie()' needs a cookie name");
      args = inner === undefined ? [] : [inner];
      break;
    case 'hdr': {
      if (!inner) ctx.fail("'hdr' needs a header name, as in 'hdr(host)'", ConfigErrorCode.MISSING_ARGUMENT);
      const rest = ctx.args.slice(1);
      if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'use_domain_only')) {
        ctx.fail(`unknown 'hdr' option '${rest[0]}' (expected use_domain_only)`, ConfigErrorCode.UNKNOWN_OPTION);
      }
      args = [inner, ...rest];
      break;
    }
    case 'uri':
      noParen();
      args = uriArgs(ctx);
      break;
    case 'url_param': {
      noParen();
      const name = ctx.arg(1, "URL parameter name for 'url_param'");
      const rest = ctx.args.slice(2);
      if (rest.length > 0) {
        if (rest[0] !== 'check_post') ctx.fail(`unknown 'url_param' option '${rest[0]}' (expected check_post)`, ConfigErrorCode.UNKNOWN_OPTION);
        // `check_post [MAX]`: older HAProxy versions took a byte limit.
        if (rest.length > 1) ctx.int(rest[1]!, "'check_post' limit");
        ctx.noArgsFrom(4);
      }
      args = [name, ...rest];
      break;
    }
    case 'hash':
      noParen();
      ctx.arg(1, "sample expression for 'hash'");
      args = ctx.args.slice(1);
      break;
    default:
      return ctx.fail(`unknown balancing algorithm '${word}'`, ConfigErrorCode.BAD_VALUE);
  }
  return { algorithm, args, where: ctx.where };
}
