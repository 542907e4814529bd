import { and, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { stories, storyEvents } from '../db/schema.js';
import { terminalStatuses } from '../generations/lifecycle.js';
import { removeStills } from '../media/stills.js';
import type { VideoStorage } from '../storage/video-storage.js';
import { StoryEventType, updateStory } from './story-timeline.js';

const daysAgo = (days: number) => sql`now() - ${days} * interval '1 day'`;

/**
 * Deletes the stitched videos (with their stills) of stories that succeeded more than `days` ago, keeping the row
 * marked with `video_expired_at`, as retention does for generations; each is marked through a guarded change, so
 * several workers can run it at once. Returns how many were deleted.
 */
export async function expireStoryVideos(db: Db, storage: VideoStorage, days: number, batchSize: number): Promise<number> {
  const expired = await db
    .select({ id: stories.id, videoKey: stories.videoKey, posterKey: stories.posterKey, lastFrameKey: stories.lastFrameKey })
    .from(stories)
    .where(and(eq(stories.status, 'SUCCEEDED'), isNotNull(stories.videoKey), isNull(stories.videoExpiredAt), lt(stories.completedAt, daysAgo(days))))
    .limit(batchSize);
  let removed = 0;
  for (const { id, videoKey, ...stills } of expired) {
    const marked = await updateStory(db, id, {
      from: ['SUCCEEDED'],
      where: isNull(stories.videoExpiredAt),
      set: { videoExpiredAt: new Date() },
      event: { type: StoryEventType.VideoExpired, message: `The stitched video was deleted after ${days} days.` },
    });
    if (!marked || !videoKey) continue;
    await storage.remove(videoKey);
    await removeStills(storage, stills);
    removed += 1;
  }
  return removed;
}

/** Deletes the timelines of stories that finished more than `days` ago; returns how many rows went. */
export async function deleteOldStoryEvents(db: Db, days: number): Promise<number> {
  const deleted = await db
    .delete(storyEvents)
    .where(
      inArray(
        storyEvents.storyId,
        db
          .select({ id: stories.id })
          .from(stories)
          .where(and(inArray(stories.status, [...terminalStatuses]), lt(stories.completedAt, daysAgo(days)))),
      ),
    )
    .returning({ id: storyEvents.id });
  return deleted.length;
}
