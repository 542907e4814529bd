import { and, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { transition } from '../events/timeline.js';
import { terminalStatuses } from '../generations/lifecycle.js';
import { generationEvents, generations } from '../db/schema.js';
import { DEFAULTS } from '../config/defaults.js';
import type { Logger } from '../logger.js';
import type { VideoStorage } from '../storage/video-storage.js';
import { EventType } from '../contract/tables.js';
import { removeStills } from '../media/stills.js';

export interface RetentionOptions {
  db: Db;
  storage: VideoStorage;
  log: Logger;
  /** 0 keeps videos forever. */
  videoRetentionDays: number;
  /** 0 keeps timelines forever. */
  eventRetentionDays: number;
  /**
   * Partial saves (temporary files, pending multipart uploads) older than this are deleted: a live download writes
   * as bytes arrive and gives up after its idle timeout or the generation's deadline, so such a save is a dead one's.
   */
  partialFileMaxAgeMs: number;
  /** Videos expired per run; the rest wait for the next one. @default DEFAULTS.retention.batchSize */
  batchSize?: number;
}

const daysAgo = (days: number) => sql`now() - ${days} * interval '1 day'`;

/**
 * Deletes stored videos (files or objects, with their poster and last frame) of generations that completed more than the retention period ago
 * (keeping the row, marked with `video_expired_at`), the timeline rows of long-finished generations, and the
 * partial saves of downloads that died with their process. Returns how much it removed. Safe to run from several workers at
 * once: each video is marked through a guarded transition.
 */
export async function applyRetention(options: RetentionOptions): Promise<{ videos: number; events: number; partialFiles: number }> {
  const { db, storage, log } = options;
  let videos = 0;
  let events = 0;
  // A storage that cannot list its partial saves (a bucket without ListMultipartUploads) still expires videos.
  const partialFiles = await storage.sweepPartials(new Date(Date.now() - options.partialFileMaxAgeMs)).catch((error: unknown) => {
    log.warn('could not sweep partial saves', { err: error });
    return 0;
  });
  if (options.videoRetentionDays > 0) {
    const expired = await db
      .select({ id: generations.id, videoKey: generations.videoKey, posterKey: generations.posterKey, lastFrameKey: generations.lastFrameKey })
      .from(generations)
      .where(
        and(
          eq(generations.status, 'SUCCEEDED'),
          isNotNull(generations.videoKey),
          isNull(generations.videoExpiredAt),
          lt(generations.completedAt, daysAgo(options.videoRetentionDays)),
        ),
      )
      .limit(options.batchSize ?? DEFAULTS.retention.batchSize.default);
    for (const { id, videoKey, ...stills } of expired) {
      const marked = await transition(db, id, {
        from: ['SUCCEEDED'],
        set: { videoExpiredAt: new Date() },
        event: { type: EventType.VideoExpired, message: `The stored video was deleted after ${options.videoRetentionDays} days.` },
      });
      if (!marked || !videoKey) continue;
      await storage.remove(videoKey);
      await removeStills(storage, stills);
      videos += 1;
    }
  }
  if (options.eventRetentionDays > 0) {
    const deleted = await db
      .delete(generationEvents)
      .where(
        inArray(
          generationEvents.generationId,
          db
            .select({ id: generations.id })
            .from(generations)
            .where(
              and(
                inArray(generations.status, [...terminalStatuses]),
                lt(generations.completedAt, daysAgo(options.eventRetentionDays)),
              ),
            ),
        ),
      )
      .returning({ id: generationEvents.id });
    events = deleted.length;
  }
  if (videos || events || partialFiles) log.info('retention applied', { videos, events, partialFiles });
  return { videos, events, partialFiles };
}

export interface RetentionSchedule {
  /** Applies retention now and then every `intervalMs`. */
  start(): void;
  stop(): void;
}

/** Runs {@link applyRetention} on a timer; a failed run is logged and the next one tries again. */
export function createRetentionSchedule(options: RetentionOptions & { intervalMs: number }): RetentionSchedule {
  let timer: NodeJS.Timeout | undefined;
  const run = () => applyRetention(options).catch((error: unknown) => options.log.error('retention failed', { err: error }));
  return {
    start() {
      void run();
      timer = setInterval(() => void run(), options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
