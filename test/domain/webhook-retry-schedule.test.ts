import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import { nextAttemptAt } from '../../src/webhooks/retry-schedule.js';

const schedule = { delaysMs: DEFAULTS.webhooks.retryDelaysMs.default, jitter: DEFAULTS.webhooks.jitter.default };
const now = new Date('2026-01-01T00:00:00Z');
const waitAfter = (attempts: number, random: number) => {
  const at = nextAttemptAt(schedule, attempts, now, () => random);
  return at && at.getTime() - now.getTime();
};

describe('the webhook retry schedule', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the first seven failures, and then gives up', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => waitAfter(n, 0));
    expect(waits).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(waitAfter(8, 0)).toBeNull();
    // About a day of trying in all.
    const hours = waits.reduce<number>((sum, w) => sum + (w ?? 0), 0) / 3_600_000;
    expect(hours).toBeGreaterThan(24);
    expect(hours).toBeLessThan(30);
  });

  it('shortens each wait by up to the jitter fraction, never lengthens it', () => {
    expect(waitAfter(2, 1)).toBe(300_000 * (1 - schedule.jitter));
    expect(waitAfter(2, 0.5)).toBe(300_000 * (1 - schedule.jitter / 2));
    for (let i = 0; i < 100; i++) {
      const wait = nextAttemptAt(schedule, 3, now)!.getTime() - now.getTime();
      expect(wait).toBeLessThanOrEqual(1_800_000);
      expect(wait).toBeGreaterThanOrEqual(1_800_000 * (1 - schedule.jitter));
    }
  });
});
