/**
 * The one polling helper of the tests: waits for a state instead of sleeping and hoping.
 *
 * `condition` is polled every `every` ms. It is met when it returns `true`, or when it returns
 * nothing (undefined) without throwing, so it can be a block of `expect(...)` calls. It is not met when
 * it returns `false` or throws; the last thrown error is quoted in the timeout message, so a failed
 * wait shows both what was awaited and what was last seen.
 */
export async function until(
  what: string,
  condition: () => boolean | void | Promise<boolean | void>,
  ms = 5000,
  every = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if ((await condition()) !== false) return;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last === undefined ? '' : `; last check: ${last instanceof Error ? last.message : String(last)}`;
      const err = new Error(`timed out after ${ms} ms waiting for ${what}${seen}`);
      if (last !== undefined) err.cause = last;
      throw err;
    }
    await sleep(every);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
