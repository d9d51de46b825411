// A shared table's answer within its budget: a lookup or claim that takes longer is answered
// "unknown" (the caller then places the client itself), and the late answer is only counted.

/**
 * `done` exactly once: with the answer, or with undefined when the budget runs out first
 * (then `late` is called). The returned function says whether it was in time.
 */
export function withinBudget(done: (v: string | undefined) => void, budget: number, late: () => void): (v: string | undefined) => boolean {
  let called = false;
  const timer = setTimeout(() => {
    called = true;
    late();
    done(undefined);
  }, budget);
  return (v) => {
    if (called) return false;
    called = true;
    clearTimeout(timer);
    done(v);
    return true;
  };
}
