import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { generations, type GenerationRow } from '../db/schema.js';
import { median } from './poll-schedule.js';

/** Completions the estimate looks back over. */
const SAMPLE_SIZE = 20;
/** How long one worker reuses an estimate before asking the database again. */
const CACHE_MS = 30_000;

type Combination = Pick<GenerationRow, 'durationSeconds' | 'resolution' | 'generateAudio'>;

/**
 * How long Segmind is expected to take for a (duration, resolution, audio) combination: the median of our
 * own recent completions of it, or `fallbackMs` before there are any. Polling, progress and ETAs all use it.
 */
export function createJobDurationEstimator(db: Db, fallbackMs: number) {
  const cache = new Map<string, { ms: number; at: number }>();
  return async function expectedJobMs(job: Combination): Promise<number> {
    const key = `${job.durationSeconds}|${job.resolution}|${job.generateAudio}`;
    const cached = cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.ms;
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
      .limit(SAMPLE_SIZE);
    const seconds = median(rows.map((r) => r.seconds!));
    const ms = seconds === undefined ? fallbackMs : Math.round(seconds * 1000);
    cache.set(key, { ms, at: Date.now() });
    return ms;
  };
}

/** What the worker asks: the estimate for one generation (its prompt matters only to the simulator). */
export type JobDurationEstimator = (job: Combination & Pick<GenerationRow, 'prompt'>) => Promise<number>;
