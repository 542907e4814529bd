import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { generations, type GenerationRow, type GenerationStatus } from '../db/schema.js';

/*
 * How long a job takes and what a client is told meanwhile: the expected length from recent history, when to
 * poll Segmind next, and the progress and ETA shown between polls.
 */

/** Fraction of the bar each status starts at; PROCESSING fills the space up to STORING. */
const STATUS_PROGRESS: Record<GenerationStatus, number> = {
  QUEUED: 0,
  SUBMITTED: 0.02,
  PROCESSING: 0.05,
  STORING: 0.95,
  SUCCEEDED: 1,
  FAILED: 0,
  CANCELED: 0,
};

export const progressAt = (status: GenerationStatus) => STATUS_PROGRESS[status];

/** `eta_seconds` is a Postgres integer: a larger ETA would fail the write that carries it. */
const MAX_ETA_SECONDS = 2_147_483_647;

/**
 * Whole seconds for an ETA column from a wait in milliseconds, always within the column: the wait may come
 * from upstream numbers, and a write that fails after Segmind accepted a job must never happen.
 */
export function etaSecondsFor(ms: number): number {
  const seconds = Math.ceil(ms / 1000);
  if (Number.isNaN(seconds)) return 0;
  return Math.min(MAX_ETA_SECONDS, Math.max(0, seconds));
}

/**
 * Estimates progress and seconds left while Segmind works, from the time since submission against the
 * expected job length. Never reaches STORING's share, and never promises less than a second, because
 * jobs that overrun are still running.
 */
export function estimateProgress(elapsedMs: number, expectedMs: number): { progress: number; etaSeconds: number } {
  const fraction = Math.min(1, Math.max(0, elapsedMs / Math.max(1, expectedMs)));
  const start = STATUS_PROGRESS.PROCESSING;
  const end = STATUS_PROGRESS.STORING - 0.01;
  return {
    progress: Math.round((start + (end - start) * fraction) * 1000) / 1000,
    etaSeconds: Math.max(1, etaSecondsFor(expectedMs - elapsedMs)),
  };
}

type Combination = Pick<GenerationRow, 'durationSeconds' | 'resolution' | 'generateAudio'>;

/** Recent completions a combination needs before polling trusts where its jobs end. */
export const MIN_WINDOW_SAMPLES = 5;

/** What our own history says about a combination's job length. */
export interface JobTimes {
  /** The median of recent completions, or the fallback before there are any: for progress and ETAs. */
  expectedMs: number;
  /**
   * Where recent jobs ended, widened past the shortest and longest by the gap a sample of that size is expected
   * to leave at each end; absent with fewer than MIN_WINDOW_SAMPLES completions, when polling keeps its defaults.
   */
  window?: { startMs: number; endMs: number };
}

/** The window recent job lengths (ms) span; undefined for too few of them. */
export function endWindow(lengthsMs: readonly number[]): JobTimes['window'] {
  if (lengthsMs.length < MIN_WINDOW_SAMPLES) return undefined;
  const shortest = Math.min(...lengthsMs);
  const longest = Math.max(...lengthsMs);
  // n samples of a spread leave about spread / (n - 1) beyond each extreme; a floor of 1 % of the shortest
  // keeps a window around jobs that all took the same time.
  const margin = Math.max((longest - shortest) / (lengthsMs.length - 1), shortest * 0.01);
  return { startMs: Math.max(0, Math.round(shortest - margin)), endMs: Math.round(longest + margin) };
}

/**
 * How long Segmind is expected to take for a (duration, resolution, audio) combination, from our own recent
 * completions of it, or `fallbackMs` before there are any. Polling, progress and ETAs all use it.
 */
export function createJobDurationEstimator(
  db: Db,
  fallbackMs: number,
  /** How many recent completions are taken, and how long one worker reuses an estimate. */
  { sampleSize, cacheMs }: { sampleSize: number; cacheMs: number },
) {
  const cache = new Map<string, { times: JobTimes; at: number }>();
  return async function jobTimes(job: Combination): Promise<JobTimes> {
    const key = `${job.durationSeconds}|${job.resolution}|${job.generateAudio}`;
    const cached = cache.get(key);
    if (cached && Date.now() - cached.at < cacheMs) return cached.times;
    const rows = await db
      .select({ seconds: generations.upstreamSeconds })
      .from(generations)
      .where(
        and(
          eq(generations.durationSeconds, job.durationSeconds),
          eq(generations.resolution, job.resolution),
          eq(generations.generateAudio, job.generateAudio),
          isNotNull(generations.upstreamSeconds),
        ),
      )
      .orderBy(desc(generations.completedAt))
      .limit(sampleSize);
    const lengthsMs = rows.map((r) => Math.round(r.seconds! * 1000));
    const times: JobTimes = { expectedMs: median(lengthsMs) ?? fallbackMs, window: endWindow(lengthsMs) };
    cache.set(key, { times, at: Date.now() });
    return times;
  };
}

/** What the worker asks: the estimate for one generation (its prompt matters only to the simulator). */
export type JobDurationEstimator = (job: Combination & Pick<GenerationRow, 'prompt'>) => Promise<JobTimes>;

/**
 * When to ask Segmind again. Status requests are free but not unlimited, and Segmind's job length is
 * predictable, so we poll rarely while a job is young and densely around the moment it is expected to finish.
 */
export interface PollScheduleOptions {
  minMs: number;
  maxMs: number;
  /** Expected time from submission to completion. */
  expectedMs: number;
  /** Where recent jobs ended (JobTimes.window): polling waits straight to it and polls densely through it. */
  window?: { startMs: number; endMs: number };
}

/** Status requests spread over the end window: its width over this, within the poll bounds. */
export const POLLS_PER_WINDOW = 12;

/**
 * The wait before the next status request, given how long the job has been running.
 *
 * With no learned window: before the expected end, half the time left (so each poll halves the distance),
 * never below min or above max; after it, the minimum for a while, then slowly backing off.
 *
 * With a learned window: one wait straight to its start (a job that ends earlier than every recent one is
 * noticed there, so its lag is at most the window's start), then a poll every width / POLLS_PER_WINDOW through
 * it, where jobs end; past it, that step for a while, then slowly backing off, as without one. Not when
 * minMs equals maxMs: that asks for a fixed interval.
 */
export function nextPollDelay(elapsedMs: number, options: PollScheduleOptions): number {
  const { minMs, maxMs, expectedMs, window } = options;
  const clamp = (ms: number) => Math.round(Math.min(maxMs, Math.max(minMs, ms)));
  // Equal bounds ask for a fixed interval (the SDK's loop, say): no window changes it.
  if (window && minMs < maxMs) {
    if (elapsedMs < window.startMs) return Math.round(Math.max(minMs, window.startMs - elapsedMs));
    const step = clamp((window.endMs - window.startMs) / POLLS_PER_WINDOW);
    const overrun = elapsedMs - window.endMs;
    if (overrun < window.endMs / 5) return step;
    return Math.max(step, clamp(overrun / 4));
  }
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
