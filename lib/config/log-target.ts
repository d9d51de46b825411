// The `log` keyword, shared by global and proxy sections:
// log TARGET [len N] [format F] FACILITY [LEVEL [MINLEVEL]]
import { ConfigErrorCode } from './config-error.js';
import type { KeywordContext } from './keyword-context.js';
import type { LogTarget } from './types.js';

const FACILITIES = new Set([
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2',
  'ftp', 'ntp', 'audit', 'alert', 'cron2', 'local0', 'local1', 'local2', 'local3', 'local4',
  'local5', 'local6', 'local7',
]);
const LEVELS = new Set(['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug']);
const FORMATS = new Set(['local', 'rfc3164', 'rfc5424', 'priority', 'short', 'timed', 'iso', 'raw']);

export function parseLogTarget(ctx: KeywordContext): LogTarget {
  const target = ctx.arg(0, "log target (address, 'stdout', 'stderr' or 'global')");
  if (target === 'global') {
    if (ctx.section === 'global') ctx.fail("'log global' is only valid in proxy sections");
    ctx.noArgsFrom(1);
    return { target, where: ctx.where };
  }
  // A unix socket path (`/dev/log`) is accepted, as in most HAProxy configurations: Node has no
  // AF_UNIX datagram sockets, so its lines go through logger(1) (lib/observe/unix-log-sink.ts).
  if (/^[a-z0-9]+@/.test(target) && !/^(udp[46]?|ipv[46]|unix)@/.test(target)) {
    ctx.fail(`log target '${target}' is not supported by limpet; use 'host:port' (UDP syslog), a unix socket path, 'stdout' or 'stderr'`, ConfigErrorCode.UNSUPPORTED);
  }
  const log: LogTarget = { target, where: ctx.where };
  let i = 1;
  for (;;) {
    const word = ctx.args[i];
    if (word === 'len') {
      log.len = ctx.int(ctx.arg(i + 1, "value for 'len'"), "'len'", 80, 65535);
      i += 2;
    } else if (word === 'format') {
      const format = ctx.arg(i + 1, "value for 'format'");
      if (!FORMATS.has(format)) ctx.fail(`unknown log format '${format}'`);
      log.format = format;
      i += 2;
    } else break;
  }
  const facility = ctx.arg(i, 'log facility');
  if (!FACILITIES.has(facility)) ctx.fail(`unknown log facility '${facility}'`, ConfigErrorCode.BAD_VALUE);
  log.facility = facility;
  const level = ctx.args[i + 1];
  if (level !== undefined) {
    if (!LEVELS.has(level)) ctx.fail(`unknown log level '${level}'`);
    log.level = level;
    const minlevel = ctx.args[i + 2];
    if (minlevel !== undefined) {
      if (!LEVELS.has(minlevel)) ctx.fail(`unknown log level '${minlevel}'`);
      log.minlevel = minlevel;
    }
  }
  ctx.noArgsFrom(i + 3);
  return log;
}
