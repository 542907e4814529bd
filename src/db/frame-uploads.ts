import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from './open.js';
import { EventType } from '../contract/event-types.js';
import { transition } from '../events/timeline.js';
import { getGeneration } from './generations.js';
import { generations, type GenerationRow, type NewGenerationRow } from './schema.js';

/**
 * A generation with uploaded frames is admitted before its frames go to Segmind, so that the budget, the
 * active cap and the idempotency key are decided once, under the key's lock, and a refused request or a
 * repeat uploads nothing. Until its frames are stored the row is held by a lease that names the upload:
 * no worker claims it, and a repeat of the same request waits for it instead of uploading again.
 */
const UPLOAD_LEASE_PREFIX = 'upload:';

/** Extra time the lease outlives the pending deadline, so a worker that takes the row over sees it as late. */
const LEASE_MARGIN_MS = 10_000;

export const isAwaitingFrames = (row: GenerationRow) => row.leaseOwner?.startsWith(UPLOAD_LEASE_PREFIX) ?? false;

/**
 * The columns that park a new generation while its frames upload. Should this process die mid-upload, the
 * short deadline makes the first worker to take the row over fail it with TIMEOUT before any submit, and
 * a job Segmind never saw is not charged.
 */
export function awaitingFrames(id: string, now: Date, windowMs: number): Pick<NewGenerationRow, 'leaseOwner' | 'leaseExpiresAt' | 'deadlineAt'> {
  return {
    leaseOwner: `${UPLOAD_LEASE_PREFIX}${id}`,
    deadlineAt: new Date(now.getTime() + windowMs),
    leaseExpiresAt: new Date(now.getTime() + windowMs + LEASE_MARGIN_MS),
  };
}

/** Records the stored frames' URLs and hands the generation to the workers; null if it is no longer waiting. */
export function completeFrameUpload(
  db: Db,
  row: GenerationRow,
  urls: { image?: string; lastFrame?: string },
  deadlineAt: Date,
): Promise<GenerationRow | null> {
  return transition(db, row.id, {
    from: ['QUEUED'],
    leaseOwner: row.leaseOwner ?? undefined,
    set: { ...urls, deadlineAt, leaseOwner: null, leaseExpiresAt: null, runAfter: new Date() },
    event: { type: EventType.FramesUploaded, message: 'The uploaded frames are stored at Segmind.' },
  });
}

/** Removes a generation whose frames could not be uploaded, with its timeline: nothing was sent or charged. */
export async function abandonFrameUpload(db: Db, row: GenerationRow): Promise<void> {
  await db
    .delete(generations)
    .where(and(eq(generations.id, row.id), eq(generations.leaseOwner, row.leaseOwner ?? ''), isNull(generations.segmindRequestId)));
}

/**
 * Waits for another request's upload of the same frames to end: the generation once its frames are stored
 * (or it ended otherwise), null when that upload failed and the row is gone, or the row as it is at `until`.
 */
export async function waitForFrames(db: Db, row: GenerationRow, until: Date, pollMs = 100): Promise<GenerationRow | null> {
  let current: GenerationRow | null = row;
  while (current && isAwaitingFrames(current) && Date.now() < until.getTime()) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    current = await getGeneration(db, row.id);
  }
  return current;
}
