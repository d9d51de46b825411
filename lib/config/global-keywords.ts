// Keywords of the `global` section.
import type { Keyword, KeywordTable } from './keyword-context.js';
import { parseLogTarget } from './log-target.js';
import { OBSERVE_GLOBAL_KEYWORDS } from './observe-keywords.js';
import type { GlobalConfig } from './types.js';

export function defaultGlobal(): GlobalConfig {
  return { nbthread: 1, bufsize: 16384, logs: [] };
}

const G = ['global'] as const;

export const GLOBAL_KEYWORDS: KeywordTable<GlobalConfig> = new Map<string, Keyword<GlobalConfig>>([
  ['maxconn', {
    sections: G,
    parse(g, ctx) {
      g.maxconn = ctx.int(ctx.arg(0, 'integer value'), 'value', 1);
      ctx.noArgsFrom(1);
    },
  }],
  ['nbthread', {
    sections: G,
    parse(g, ctx) {
      // limpet runs N worker processes where HAProxy runs N threads (lib/cluster).
      g.nbthread = ctx.int(ctx.arg(0, 'number of threads'), 'value', 1, 64);
      ctx.noArgsFrom(1);
    },
  }],
  ['hard-stop-after', {
    sections: G,
    parse(g, ctx) {
      // The longest a soft stop (SIGUSR1, or the old configuration after a reload) may wait for
      // what is in flight before cutting it.
      g.hardStopAfter = ctx.time(ctx.arg(0, 'time value'), 'value');
      ctx.noArgsFrom(1);
    },
  }],
  ['tune.bufsize', {
    sections: G,
    parse(g, ctx) {
      const size = ctx.size(ctx.arg(0, 'size'), 'value');
      // Below this a request line plus a few headers no longer fits.
      if (size < 1024) ctx.fail(`buffer size ${size} is too small (minimum 1024)`);
      g.bufsize = size;
      ctx.noArgsFrom(1);
    },
  }],
  ['tune.http.maxhdr', {
    sections: G,
    parse(g, ctx) {
      // HAProxy accepts 1..32767 header lines per message.
      g.maxhdr = ctx.int(ctx.arg(0, 'number of headers'), 'value', 1, 32767);
      ctx.noArgsFrom(1);
    },
  }],
  ['log', {
    sections: G,
    parse(g, ctx) {
      g.logs.push(parseLogTarget(ctx));
    },
  }],
  ...OBSERVE_GLOBAL_KEYWORDS,
]);
