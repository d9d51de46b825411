import { connect } from 'node:net';

export interface WaitForPortOptions {
  host?: string;
  /** Delay between attempts, ms. */
  interval?: number;
  /** Give up after this many ms. */
  timeout?: number;
  /** Checked between attempts: return an Error to stop waiting (e.g. the child exited). */
  abort?: () => Error | undefined;
}

const tryConnect = (port: number, host: string, timeout: number): Promise<boolean> =>
  new Promise(resolve => {
    const socket = connect({ port, host });
    const timer = setTimeout(() => finish(false), timeout);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/**
 * Resolves once a TCP connection to host:port succeeds, polling every `interval` ms for at
 * most `timeout` ms; rejects on timeout or when `abort()` returns an error.
 */
export const waitForPort = async (port: number, opts: WaitForPortOptions = {}): Promise<void> => {
  const host = opts.host ?? '127.0.0.1';
  const interval = opts.interval ?? 20;
  const timeout = opts.timeout ?? 10_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    if (await tryConnect(port, host, Math.min(1000, Math.max(50, deadline - Date.now())))) return;
    const aborted2 = opts.abort?.();
    if (aborted2) throw aborted2;
    if (Date.now() + interval > deadline) {
      throw new Error(`waitForPort: nothing accepted connections on ${host}:${port} within ${timeout} ms`);
    }
    await sleep(interval);
  }
};
