import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `check` until it returns something other than undefined or false, and returns that. Throws naming
 * `what` when `timeoutMs` passes first, with the last error `check` threw, if any. (`false` is "not yet" too, so
 * a plain condition such as `() => count() === 1` waits as it reads, instead of returning at once.)
 * The default bound is for something that never happens, not a speed check, so it is generous: on two shared cores
 * running three test files, a first-time simulator clip or a cold PGlite can take several seconds.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause =
        lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Milliseconds since `start` (a `Date.now()` value). */
export const since = (start: number) => Date.now() - start;
