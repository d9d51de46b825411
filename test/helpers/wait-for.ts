// Polling until a condition holds, bounded: every wait in the tests ends, and says what it
// waited for when it gives up.
export interface WaitForOptions {
  /** how often to look (ms) */
  every?: number;
  /** more to say when it gives up (a process's output, say) */
  context?: () => string;
}

/**
 * Resolves once `cond()` is true; rejects after `ms`. A condition that throws counts as not yet
 * (a server still starting refuses connections), and its last error is in the message.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000, opts: WaitForOptions = {}): Promise<void> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, opts.every ?? 25));
  }
  const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
  throw new Error(`timed out after ${ms}ms waiting for ${what}${why}${opts.context ? `\n${opts.context()}` : ''}`);
}
