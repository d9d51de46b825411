// limpet's own messages (alerts, warnings, debug) on stderr, prefixed as HAProxy prefixes its
// own. Traffic logs (httplog/tcplog) are a separate concern.
export interface Logger {
  alert(msg: string): void;
  warning(msg: string): void;
  notice(msg: string): void;
  debug(msg: string): void;
  readonly debugEnabled: boolean;
}

export function createLogger(opts: { debug?: boolean; quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const stamp = () => new Date().toISOString();
  return {
    debugEnabled: !!opts.debug,
    alert: (m) => write(`[ALERT]    (${process.pid}) ${stamp()} : ${m}`),
    warning: (m) => !opts.quiet && write(`[WARNING]  (${process.pid}) ${stamp()} : ${m}`),
    notice: (m) => !opts.quiet && write(`[NOTICE]   (${process.pid}) ${stamp()} : ${m}`),
    debug: (m) => opts.debug && write(`[DEBUG]    (${process.pid}) ${stamp()} : ${m}`),
  };
}
