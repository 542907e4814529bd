import { generationStatuses, type GenerationStatus, type GenerationRow } from '../db/schema.js';
import type { Db, Tx } from '../db/open.js';
import { cancelQueuedOfKeyTx, transition } from '../events/timeline.js';
import { cancelMessage, chargeMayApply, costOnCancel, neverSentSql, NOTHING_CHARGED } from './charges.js';
import { NotCancelableError, NotFoundError } from './errors.js';
import { findGeneration } from './lookup.js';
import { lockActiveStoriesOfKeyTx } from '../db/stories.js';
import { EventType } from '../contract/tables.js';

/**
 * The life of a generation. The list of statuses is the column's enum (db/schema.ts), so the database and the
 * code cannot disagree about it; what the statuses mean is decided here.
 *
 *   QUEUED      admitted, waiting for a worker (or for its uploaded frames); not yet sent to Segmind
 *   SUBMITTED   Segmind accepted the job and gave it an id; from here on it is billed
 *   PROCESSING  Segmind says it is generating the video
 *   STORING     Segmind finished; the video is being copied into our storage
 *   SUCCEEDED   the video is stored
 *   FAILED      it ended without a video (see its error code)
 *   CANCELED    a client or a key revocation stopped it
 */
export { generationStatuses, type GenerationStatus };

/** The statuses a generation never leaves: nothing changes it any more, and cancel has nothing to stop. */
export const terminalStatuses: readonly GenerationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/**
 * The statuses of a generation still under way. They count against a key's active cap and every day's spend
 * (a job running past midnight is billed on both days), and only a row in one of them may change.
 */
export const activeStatuses: readonly GenerationStatus[] = generationStatuses.filter((status) => !terminalStatuses.includes(status));

export const isTerminal = (status: GenerationStatus): boolean => terminalStatuses.includes(status);

/** A canceled generation, and whether Segmind may still charge for it. */
export interface CancelOutcome {
  generation: GenerationRow;
  chargeMayApply: boolean;
}

const outcome = (generation: GenerationRow): CancelOutcome => ({ generation, chargeMayApply: chargeMayApply(generation) });

/**
 * Cancels one of a key's generations. Canceling a canceled one answers it again; a finished one throws
 * NotCancelableError, an unknown or malformed id (or another key's generation) NotFoundError. Segmind cannot cancel a job, so once a
 * submit may have gone out the charge may still apply.
 */
export async function cancelGeneration(db: Db, apiKeyId: string, id: string): Promise<CancelOutcome> {
  // A worker may move the row on between our read and our write; the guarded update tells us, so retry.
  for (;;) {
    const current = await findGeneration(db, apiKeyId, id);
    if (!current) throw new NotFoundError(id);
    if (current.status === 'CANCELED') return outcome(current);
    if (isTerminal(current.status)) throw new NotCancelableError(id, current.status);
    // Whether a charge may apply is read from the row as the cancel commits: the worker marks a submit
    // under the same row lock, so either it sees our cancel and never submits, or we see its mark.
    const canceled = await transition(db, id, {
      from: [current.status],
      storyId: current.storyId,
      set: {
        status: 'CANCELED',
        completedAt: new Date(),
        leaseOwner: null,
        leaseExpiresAt: null,
        etaSeconds: null,
        ...costOnCancel,
      },
      event: (row) => ({ type: EventType.Canceled, message: cancelMessage(chargeMayApply(row)), data: { chargeMayApply: chargeMayApply(row) } }),
    });
    if (canceled) return outcome(canceled);
  }
}

/**
 * Cancels a key's generations that have not been sent to Segmind (queued, no submit marked, no request id),
 * inside the caller's transaction; nothing is charged for them. A worker about to send one marks it under the
 * same row lock, so either it marked first (and the job goes on, as it may already be billed) or it finds the
 * row no longer leased to it and never sends it. Returns how many were canceled.
 */
export async function cancelUnsubmittedTx(tx: Tx, apiKeyId: string, message: string): Promise<number> {
  // The key's unfinished stories first, as every change of a story's shots locks its story before the shot.
  await lockActiveStoriesOfKeyTx(tx, apiKeyId);
  const canceled = await cancelQueuedOfKeyTx(tx, apiKeyId, {
    where: neverSentSql,
    set: NOTHING_CHARGED,
    event: { type: EventType.Canceled, message, data: { chargeMayApply: false } },
  });
  return canceled.length;
}
