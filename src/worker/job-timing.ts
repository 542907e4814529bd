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

/**
 * How long Segmind is expected to take for a (duration, resolution, audio) combination: the median of our
 * own recent completions of it, or `fallbackMs` before there are any. Polling, progress and ETAs all use it.
 */
export function createJobDurationEstimator(
  db: Db,
  fallbackMs: number,
  /** How many recent completions the median takes, and how long one worker reuses an estimate. */
  { sampleSize, cacheMs }: { sampleSize: number; cacheMs: number },
) {
  const cache = new Map<string, { ms: number; at: number }>();
  return async function expectedJobMs(job: Combination): Promise<number> {
    const key = `${job.durationSeconds}|${job.resolution}|${job.generateAudio}`;
    const cached = cache.get(key);
    if (cached && Date.now() - cached.at < cacheMs) return cached.ms;
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
    const seconds = median(rows.map((r) => r.seconds!));
    const ms = seconds === undefined ? fallbackMs : Math.round(seconds * 1000);
    cache.set(key, { ms, at: Date.now() });
    return ms;
  };
}

/** What the worker asks: the estimate for one generation (its prompt matters only to the simulator). */
export type JobDurationEstimator = (job: Combination & Pick<GenerationRow, 'prompt'>) => Promise<number>;

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
