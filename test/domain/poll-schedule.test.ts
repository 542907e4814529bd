import { describe, expect, it } from 'vitest';
import {
  endWindow,
  median,
  MIN_WINDOW_SAMPLES,
  nextPollDelay,
  POLLS_PER_WINDOW,
  type PollScheduleOptions,
} from '../../src/worker/job-timing.js';

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

describe('endWindow', () => {
  it('is absent until there are enough completions, so a combination with no history keeps the default schedule', () => {
    expect(endWindow([])).toBeUndefined();
    expect(endWindow(Array.from({ length: MIN_WINDOW_SAMPLES - 1 }, (_, i) => 90_000 + i * 1000))).toBeUndefined();
  });

  it('spans the shortest and longest completion, widened by the gap a sample of that size leaves at each end', () => {
    // Five samples spread over 16 s leave about 16 / 4 = 4 s beyond each extreme.
    expect(endWindow([92_000, 108_000, 100_000, 96_000, 104_000])).toEqual({ startMs: 88_000, endMs: 112_000 });
  });

  it('narrows towards the samples as there are more of them', () => {
    const many = Array.from({ length: 21 }, (_, i) => 90_000 + i * 1000);
    expect(endWindow(many)).toEqual({ startMs: 89_000, endMs: 111_000 });
  });

  it('keeps a window of 1 % of the job either side around jobs that all took the same time', () => {
    expect(endWindow(Array.from({ length: MIN_WINDOW_SAMPLES }, () => 100_000))).toEqual({ startMs: 99_000, endMs: 101_000 });
  });
});

describe('nextPollDelay with a learned end window', () => {
  const window = { startMs: 90_000, endMs: 114_000 };
  const learned: PollScheduleOptions = { minMs: 1000, maxMs: 10_000, expectedMs: 100_000, window };
  const step = (window.endMs - window.startMs) / POLLS_PER_WINDOW;

  it('waits straight to the window instead of polling at maxMs up to it', () => {
    expect(nextPollDelay(0, learned)).toBe(90_000);
    expect(nextPollDelay(85_000, learned)).toBe(5000);
    expect(nextPollDelay(89_900, learned)).toBe(learned.minMs);
  });

  it('polls every width / POLLS_PER_WINDOW through the window, within the poll bounds', () => {
    for (const elapsed of [90_000, 100_000, 113_999]) expect(nextPollDelay(elapsed, learned)).toBe(step);
    expect(nextPollDelay(95_000, { ...learned, window: { startMs: 90_000, endMs: 91_000 } })).toBe(learned.minMs);
    expect(nextPollDelay(95_000, { ...learned, window: { startMs: 0, endMs: 1_000_000 } })).toBe(learned.maxMs);
  });

  it('keeps that step for a fifth of the window end past it, then backs off slowly up to maxMs', () => {
    expect(nextPollDelay(window.endMs + 22_000, learned)).toBe(step);
    expect(nextPollDelay(window.endMs + 30_000, learned)).toBe(7500);
    expect(nextPollDelay(window.endMs + 1_000_000, learned)).toBe(learned.maxMs);
  });

  it('notices a job ending anywhere in the window within one step, with fewer requests than the default schedule', () => {
    const pollsUntil = (endMs: number, options: PollScheduleOptions) => {
      let polls = 0;
      let elapsed = 0;
      for (; polls < 1000; polls++) {
        elapsed += nextPollDelay(elapsed, options);
        if (elapsed >= endMs) return { polls: polls + 1, lagMs: elapsed - endMs };
      }
      throw new Error('never noticed');
    };
    const ends = Array.from({ length: 21 }, (_, i) => 91_000 + i * 1100);
    const withWindow = ends.map((end) => pollsUntil(end, learned));
    const withoutWindow = ends.map((end) => pollsUntil(end, { ...learned, window: undefined }));
    for (const { lagMs } of withWindow) expect(lagMs).toBeLessThanOrEqual(step);
    const mean = (runs: { polls: number }[]) => runs.reduce((sum, r) => sum + r.polls, 0) / runs.length;
    expect(mean(withWindow)).toBeLessThanOrEqual(8);
    expect(mean(withWindow)).toBeLessThan(mean(withoutWindow));
  });

  it('keeps a fixed interval when minMs equals maxMs, window or not', () => {
    const fixed = { ...learned, minMs: 1000, maxMs: 1000 };
    for (const elapsed of [0, 50_000, 95_000, 200_000]) expect(nextPollDelay(elapsed, fixed)).toBe(1000);
  });

  it('bounds the lag of a job that ends before every recent one by the window start', () => {
    let elapsed = 0;
    elapsed += nextPollDelay(elapsed, learned);
    expect(elapsed).toBe(window.startMs);
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
