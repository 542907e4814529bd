/**
 * When to ask Segmind again. Status requests are free but not unlimited, and Segmind's job length is
 * predictable, so we poll rarely while a job is young and at the minimum interval around the moment it
 * is expected to finish. That notices completion within about `minMs` of it while spending a fraction of
 * the requests of a fixed loop.
 */
export interface PollScheduleOptions {
  minMs: number;
  maxMs: number;
  /** Expected time from submission to completion. */
  expectedMs: number;
}

/**
 * The wait before the next status request, given how long the job has been running. Before the expected
 * end: half the time left (so each poll halves the distance), never below min or above max. After it: the
 * minimum for a while, then slowly backing off, since a job that overran has no better estimate.
 */
export function nextPollDelay(elapsedMs: number, options: PollScheduleOptions): number {
  const { minMs, maxMs, expectedMs } = options;
  const clamp = (ms: number) => Math.round(Math.min(maxMs, Math.max(minMs, ms)));
  const remaining = expectedMs - elapsedMs;
  if (remaining > 0) return clamp(remaining / 2);
  const overrun = -remaining;
  // Within a fifth of the expected length past it, keep polling at the minimum.
  return overrun < expectedMs / 5 ? minMs : clamp(overrun / 4);
}

/** Median of a list of numbers; undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
