import { describe, expect, it } from 'vitest';
import { median, nextPollDelay, type PollScheduleOptions } from '../../src/worker/poll-schedule.js';

/** When the worker asks Segmind again: rarely while a job is young, at the minimum around its expected end. */

const schedule: PollScheduleOptions = { minMs: 1000, maxMs: 20_000, expectedMs: 60_000 };
const delayAt = (elapsedMs: number, options = schedule) => nextPollDelay(elapsedMs, options);

describe('nextPollDelay before the expected end', () => {
  it('waits half the time left, so each poll halves the distance to the expected end', () => {
    expect(delayAt(30_000)).toBe(15_000);
    expect(delayAt(50_000)).toBe(5000);
    expect(delayAt(56_000)).toBe(2000);
  });

  it('never waits longer than maxMs, however young the job', () => {
    expect(delayAt(0)).toBe(schedule.maxMs);
    expect(delayAt(0, { ...schedule, expectedMs: 3_600_000 })).toBe(schedule.maxMs);
  });

  it('never waits less than minMs, even just before the expected end', () => {
    expect(delayAt(59_999)).toBe(schedule.minMs);
    expect(delayAt(58_500)).toBe(schedule.minMs);
  });

  it('rounds to whole milliseconds', () => {
    expect(delayAt(30_001)).toBe(15_000);
    expect(delayAt(30_003)).toBe(14_999);
  });

  it('shrinks or stays equal as the job gets older', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let elapsed = 0; elapsed < schedule.expectedMs; elapsed += 500) {
      const delay = delayAt(elapsed);
      expect(delay).toBeLessThanOrEqual(previous);
      previous = delay;
    }
  });
});

describe('nextPollDelay after the expected end', () => {
  it('polls at the minimum until the job has overrun by a fifth of its expected length', () => {
    for (const overrun of [0, 1, 6000, 11_999]) expect(delayAt(schedule.expectedMs + overrun)).toBe(schedule.minMs);
  });

  it('then backs off slowly, a quarter of the overrun, up to maxMs', () => {
    expect(delayAt(schedule.expectedMs + 12_000)).toBe(3000);
    expect(delayAt(schedule.expectedMs + 40_000)).toBe(10_000);
    expect(delayAt(schedule.expectedMs + 80_000)).toBe(schedule.maxMs);
    expect(delayAt(schedule.expectedMs + 10_000_000)).toBe(schedule.maxMs);
  });

  it('grows or stays equal as the overrun grows', () => {
    let previous = 0;
    for (let overrun = 0; overrun < 200_000; overrun += 1000) {
      const delay = delayAt(schedule.expectedMs + overrun);
      expect(delay).toBeGreaterThanOrEqual(previous);
      previous = delay;
    }
  });
});

describe('nextPollDelay bounds', () => {
  it('stays within [minMs, maxMs] for any elapsed time and expected length', () => {
    for (const expectedMs of [0, 1, 999, 45_000, 600_000]) {
      for (const elapsed of [0, 1, 500, 30_000, 90_000, 1_000_000]) {
        const delay = delayAt(elapsed, { ...schedule, expectedMs });
        expect(delay).toBeGreaterThanOrEqual(schedule.minMs);
        expect(delay).toBeLessThanOrEqual(schedule.maxMs);
      }
    }
  });

  it('spends far fewer requests than polling at the minimum on a job that ends when expected', () => {
    let polls = 0;
    for (let elapsed = 0; elapsed < schedule.expectedMs; elapsed += delayAt(elapsed)) polls += 1;
    expect(polls).toBeLessThan(schedule.expectedMs / schedule.minMs / 4);
  });
});

describe('median', () => {
  it('is undefined for no values', () => {
    expect(median([])).toBeUndefined();
  });

  it('is the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(median([7])).toBe(7);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('sorts numerically, not as text, and leaves its input alone', () => {
    const values = [100, 20, 3];
    expect(median(values)).toBe(20);
    expect(values).toEqual([100, 20, 3]);
  });
});
