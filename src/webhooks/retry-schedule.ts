/*
 * When a failed delivery is tried again: the waits of WEBHOOK_RETRY_DELAYS_MS in turn (5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h by default: about 28 hours), each shortened at random by up to the jitter fraction so that many
 * deliveries to one receiver that was down do not all come back in the same second. After the last wait's
 * attempt fails, there is no retry: the delivery is FAILED.
 */

export interface RetrySchedule {
  delaysMs: readonly number[];
  /** 0..1: the largest fraction a wait is shortened by. */
  jitter: number;
}

/** When to try again after `attemptsMade` attempts (counting the one that just failed); null when none is left. */
export function nextAttemptAt(schedule: RetrySchedule, attemptsMade: number, now: Date, random: () => number = Math.random): Date | null {
  const delay = schedule.delaysMs[attemptsMade - 1];
  if (delay === undefined) return null;
  return new Date(now.getTime() + delay * (1 - schedule.jitter * random()));
}
