import type { ChildProcess } from 'node:child_process';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when `child` has exited (immediately if it already has). */
export const exitOf = (child: ChildProcess): Promise<ExitStatus> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));

const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/**
 * Sends `signal` to the child by its PID, waits up to `grace` ms for it to exit, then
 * SIGKILLs it (again by PID) and waits for the exit.
 */
export const stopChild = async (
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  grace = 5000,
): Promise<ExitStatus> => {
  const exited = exitOf(child);
  if (!isRunning(child) || child.pid === undefined) return exited;
  try {
    process.kill(child.pid, signal);
  } catch {
    return exited; // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>(resolve => {
    timer = setTimeout(() => resolve('timeout'), grace);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  try {
    if (isRunning(child)) process.kill(child.pid, 'SIGKILL');
  } catch {
    // gone in the meantime
  }
  return exited;
};
