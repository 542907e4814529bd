import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../db/open.js';
import { lockStoryTx, shotsOf } from '../db/stories.js';
import { generations, type GenerationRow, type StoryRow } from '../db/schema.js';
import { EventType } from '../contract/tables.js';
import { appendEventOnlyTx, canceledNowChanges } from '../events/timeline.js';
import { cancelMessage, chargeMayApply, costOnCancel } from '../generations/charges.js';
import { activeStatuses, isTerminal } from '../generations/lifecycle.js';
import { shotName, storyStateChanged, storyStateFromShots, type StoryStateFromShots } from './story-state.js';
import { StoryEventType, updateStoryTx, type StoryEventInput } from './story-timeline.js';

/*
 * How a change of one shot moves its story, inside the transaction of that change (see appendEventTx): a shot that
 * succeeded releases the next one, or makes the story due for stitching; a shot that failed or was canceled stops
 * the shots after it; and the story is brought in line with its shots. Changes made here to the other shots
 * append their events without coming back here, and the story is folded once, after them.
 */

/** Shots after the first wait this far in the future (both runAfter and deadline), so that no worker claims them. */
export const HELD_FOR_MS = 10 * 365 * 24 * 3600 * 1000;

/** The columns that hold a shot until the one before it has succeeded. */
export const heldShot = (now: Date) => ({
  runAfter: new Date(now.getTime() + HELD_FOR_MS),
  deadlineAt: new Date(now.getTime() + HELD_FOR_MS),
});

/** True for a held shot: its runAfter is further away than any retry could put it. */
const isHeldSql = (storyId: string) =>
  and(eq(generations.storyId, storyId), eq(generations.status, 'QUEUED'), gt(generations.runAfter, sql`now() + interval '1 year'`))!;

/**
 * Hands the next shot to the workers: due now, with as long to finish as the first shot was given (the server's
 * deadline when the story was admitted). Its first frame is this shot's last frame (continueFromId), which the
 * worker uploads before submitting.
 */
async function releaseNextTx(tx: Tx, story: StoryRow, shot: GenerationRow): Promise<void> {
  const first = sql`(select ${generations.deadlineAt} - ${generations.createdAt} from ${generations}
    where ${generations.storyId} = ${story.id} and ${generations.storyShot} = 0)`;
  const [next] = await tx
    .update(generations)
    .set({ runAfter: sql`now()`, deadlineAt: sql`now() + ${first}`, version: sql`${generations.version} + 1`, updatedAt: sql`now()` })
    .where(and(isHeldSql(story.id), eq(generations.storyShot, (shot.storyShot ?? 0) + 1)))
    .returning();
  if (!next) return;
  await appendEventOnlyTx(tx, next, {
    type: EventType.ShotReleased,
    message: `${shotName(shot, story.shotCount)} succeeded; this shot goes to the workers and starts from its last frame.`,
  });
}

/** Cancels every other unfinished shot of the story: held ones cost nothing, a running one may still be charged. */
async function stopRestTx(tx: Tx, story: StoryRow, shot: GenerationRow): Promise<void> {
  const why = `${shotName(shot, story.shotCount)} ${shot.status === 'FAILED' ? 'failed' : 'was canceled'}, so the story stops`;
  const canceled = await tx
    .update(generations)
    .set({ ...costOnCancel, ...canceledNowChanges })
    .where(and(eq(generations.storyId, story.id), inArray(generations.status, [...activeStatuses])))
    .returning();
  for (const row of canceled) {
    const mayApply = chargeMayApply(row);
    await appendEventOnlyTx(tx, row, { type: EventType.Canceled, message: `${why}. ${cancelMessage(mayApply)}`, data: { chargeMayApply: mayApply } });
  }
}

/** What the story's timeline says about a change its shots made. */
function storyEventFor(story: StoryRow, next: StoryStateFromShots, shot: GenerationRow): StoryEventInput {
  const name = shotName(shot, story.shotCount);
  if (next.status === 'FAILED') return { type: StoryEventType.Failed, message: next.errorMessage ?? `${name} failed.` };
  if (next.status === 'CANCELED') {
    return { type: StoryEventType.Canceled, message: `${name} was canceled, and the shots after it with it; nothing more is spent.` };
  }
  if (next.status === 'STORING') return { type: StoryEventType.Stitching, message: 'Every shot succeeded; they are being stitched into one video.' };
  return { type: StoryEventType.ShotsChanged, message: `${name} is ${shot.status}.` };
}

/** Folds a change of `shot` (already written in `tx`) into its story; see the top of this file. */
export async function onShotChangedTx(tx: Tx, shot: GenerationRow): Promise<void> {
  if (!shot.storyId) return;
  const story = await lockStoryTx(tx, shot.storyId);
  // Once stitching has begun (or the story ended) its shots no longer move it: retention expiring a shot's
  // video, say, leaves the story's own video alone.
  if (!story || isTerminal(story.status) || story.status === 'STORING') return;
  if (shot.status === 'SUCCEEDED') await releaseNextTx(tx, story, shot);
  if (shot.status === 'FAILED' || shot.status === 'CANCELED') await stopRestTx(tx, story, shot);
  const next = storyStateFromShots(story, await shotsOf(tx, story.id));
  if (!storyStateChanged(story, next)) return;
  // Due for stitching at once, by whichever worker claims it.
  const stitchDue = next.status === 'STORING' ? { runAfter: sql`now()`, leaseOwner: null, leaseExpiresAt: null } : {};
  await updateStoryTx(tx, story.id, { set: { ...next, ...stitchDue }, event: storyEventFor(story, next, shot) });
}
