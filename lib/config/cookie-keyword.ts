// `cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly]
// [secure] [domain D]* [maxidle T] [maxlife T] [attr V]*`
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import type { CookieConfig } from './types.js';

const FLAGS = ['indirect', 'nocache', 'postonly', 'preserve', 'httponly', 'secure'] as const;

export function parseCookie(ctx: KeywordContext): CookieConfig {
  const name = ctx.arg(0, 'cookie name');
  let mode: CookieConfig['mode'] | undefined;
  const cookie: CookieConfig = {
    name,
    mode: 'rewrite',
    indirect: false,
    nocache: false,
    postonly: false,
    preserve: false,
    httponly: false,
    secure: false,
    domains: [],
    attrs: [],
    where: ctx.where,
  };
  for (let i = 1; i < ctx.args.length; i++) {
    const word = ctx.args[i]!;
    if (word === 'rewrite' || word === 'insert' || word === 'prefix') {
      if (mode !== undefined && mode !== word) ctx.fail("'rewrite', 'insert' and 'prefix' are mutually exclusive");
      mode = word;
    } else if ((FLAGS as readonly string[]).includes(word)) {
      cookie[word as (typeof FLAGS)[number]] = true;
    } else if (word === 'domain') {
      cookie.domains.push(ctx.arg(++i, "value for 'domain'"));
    } else if (word === 'maxidle' || word === 'maxlife') {
      // HAProxy reads these in seconds when no unit is given.
      cookie[word] = ctx.time(ctx.arg(++i, `value for '${word}'`), `'${word}'`, 's');
    } else if (word === 'attr') {
      const attr = ctx.arg(++i, "value for 'attr'");
      // The value goes verbatim into Set-Cookie; a ';' or control character would forge attributes.
      if (/[;\x00-\x1f\x7f]/.test(attr)) ctx.fail(`'attr' value '${attr}' must not contain ';' or control characters`);
      cookie.attrs.push(attr);
    } else if (word === 'dynamic') {
      cookie.dynamic = true;
    } else {
      ctx.fail(`unknown option '${word}'`, ConfigErrorCode.UNKNOWN_OPTION);
    }
  }
  if (mode !== undefined) cookie.mode = mode;
  if (mode === 'rewrite' && cookie.indirect) ctx.fail("'rewrite' and 'indirect' are mutually exclusive");
  if (cookie.preserve && mode !== 'insert' && !cookie.indirect) ctx.fail("'preserve' requires at least 'insert' or 'indirect'");
  return cookie;
}
