import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import { stories, storyEvents, type GenerationStatus, type NewStoryRow, type StoryRow } from '../db/schema.js';
import { notifyTx, storyStitchesDue, storyUpdates } from '../events/channels.js';
import { createSnapshotCodec } from '../events/snapshot-codec.js';
import { activeStatuses } from '../generations/lifecycle.js';

/*
 * A story's timeline, kept like a generation's: every change bumps its version and appends one story_events row
 * with a snapshot, in the same transaction, then notifies, so storyStatus replays every version in order.
 */

/** Story event types: wire values stored in `story_events.type`; add new ones, never change these. */
export const StoryEventType = {
  Created: 'created',
  /** Its shots changed (a status, progress, an ETA, a cost). */
  ShotsChanged: 'shots_changed',
  /** Every shot succeeded; the shots are being stitched into one video. */
  Stitching: 'stitching',
  /** A stitch attempt failed and is tried again. */
  StitchRetry: 'stitch_retry',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Canceled: 'canceled',
  VideoExpired: 'video_expired',
} as const;

export type StoryEventType = (typeof StoryEventType)[keyof typeof StoryEventType];

export interface StoryEventInput {
  type: StoryEventType;
  message: string;
}

export const storySnapshots = createSnapshotCodec(stories);

/** Appends the event of the version `row` is at and notifies, inside the caller's transaction. */
export async function appendStoryEventTx(tx: Tx, row: StoryRow, event: StoryEventInput): Promise<void> {
  await tx.insert(storyEvents).values({
    storyId: row.id,
    version: row.version,
    type: event.type,
    status: row.status,
    message: event.message,
    snapshot: storySnapshots.encode(row),
  });
  await notifyTx(tx, storyUpdates, { id: row.id, version: row.version });
  if (row.status === 'STORING') await notifyTx(tx, storyStitchesDue, { id: row.id });
}

/** Inserts a new story (version 1) with its `created` event, inside the caller's transaction. */
export async function insertStoryTx(tx: Tx, values: NewStoryRow): Promise<StoryRow> {
  const [row] = await tx.insert(stories).values(values).returning();
  if (!row) throw new Error('insert returned no row');
  await appendStoryEventTx(tx, row, { type: StoryEventType.Created, message: `Accepted: ${row.shotCount} shots, made one after the other.` });
  return row;
}

/** Column values, or SQL expressions. */
export type StoryChanges = { [K in Exclude<keyof NewStoryRow, 'id' | 'version'>]?: NewStoryRow[K] | SQL };

/**
 * Applies one change to a story inside the caller's transaction: bumps its version, appends the event and
 * notifies. Only a story in one of `from` (default: any unfinished status) changes; null when it did not.
 */
export async function updateStoryTx(
  tx: Tx,
  id: string,
  options: { set: StoryChanges; event: StoryEventInput; from?: readonly GenerationStatus[]; where?: SQL },
): Promise<StoryRow | null> {
  const [row] = await tx
    .update(stories)
    .set({ ...options.set, version: sql`${stories.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(stories.id, id), inArray(stories.status, [...(options.from ?? activeStatuses)]), options.where))
    .returning();
  if (!row) return null;
  await appendStoryEventTx(tx, row, options.event);
  return row;
}

/** {@link updateStoryTx} in a transaction of its own. */
export function updateStory(db: Db, id: string, options: Parameters<typeof updateStoryTx>[2]): Promise<StoryRow | null> {
  return db.transaction((tx) => updateStoryTx(tx, id, options));
}

/** Every version of a story after `afterVersion`, oldest first, rebuilt from their snapshots. */
export async function storyVersionsSince(db: Db, id: string, afterVersion: number): Promise<StoryRow[]> {
  const rows = await db
    .select({ snapshot: storyEvents.snapshot })
    .from(storyEvents)
    .where(and(eq(storyEvents.storyId, id), gt(storyEvents.version, afterVersion)))
    .orderBy(asc(storyEvents.version));
  return rows.map((r) => storySnapshots.decode(r.snapshot));
}
