import { and, eq, isNull, sql } from 'drizzle-orm';
import { generationEvents, generations, type GenerationRow } from '../db/schema.js';
import { fixedQuery } from '../db/prepared.js';
import { repeatedCrashFailure, capitalized } from '../generations/charges.js';
import { SegmindError } from '../segmind/errors.js';
import type { VeoInput } from '../segmind/types.js';
import { etaSecondsFor } from './job-timing.js';
import type { GenerationRun } from './generation-run.js';
import { recordSegmindRequestId, recordingGivesUpAfterMs } from './record-segmind-request-id.js';
import { decide } from './retry-policy.js';
import { EventType } from '../contract/tables.js';

/** What Segmind is sent for a generation. */
export function toVeoInput(row: GenerationRow): VeoInput {
  return {
    prompt: row.prompt,
    ...(row.negativePrompt && { negative_prompt: row.negativePrompt }),
    ...(row.image && { image: row.image }),
    ...(row.lastFrame && { last_frame: row.lastFrame }),
    aspect_ratio: row.aspectRatio as VeoInput['aspect_ratio'],
    duration: row.durationSeconds as VeoInput['duration'],
    resolution: row.resolution as VeoInput['resolution'],
    generate_audio: row.generateAudio,
    seed: row.seed,
  };
}

/** The mark a submit leaves before its request goes out (on the pickup path, so prepared once per connection). */
const markSubmitStarted = fixedQuery<GenerationRow[]>('mark_submit_started', (db) =>
  db
    .update(generations)
    // Whole milliseconds, so the mark read back is exactly the one stored: recording the answer checks it.
    .set({ submitStartedAt: sql`date_trunc('milliseconds', now())`, attempts: sql`${generations.attempts} + 1` })
    .where(and(eq(generations.id, sql.placeholder('id')), eq(generations.leaseOwner, sql.placeholder('workerId')), isNull(generations.segmindRequestId)))
    .returning(),
);

/** Submits to Segmind and records the request id. False when the generation was rescheduled, failed or canceled. */
export async function submitJob(run: GenerationRun): Promise<boolean> {
  const { db, workerId, segmind } = run.deps;
  const row = run.row;
  if (row.submitStartedAt) {
    // Once is a mishap; a second crash in the same place is a fault that repeats, and each round may be billed.
    if (await resubmittedAfterCrashBefore(run)) {
      await run.withDatabaseRetry(() => run.fail(repeatedCrashFailure(run.upstream)));
      return false;
    }
    // The last worker died between sending the job and recording Segmind's answer: the one window where we
    // cannot know whether Segmind accepted. We send it again so the user gets a video, and say so.
    await run.update(
      {},
      {
        type: EventType.ResubmittingAfterCrash,
        message: `A worker stopped after sending this job to ${run.upstream} and before recording its answer. It is sent again; ${run.upstream} may bill both submissions.`,
        data: { previousSubmitStartedAt: row.submitStartedAt.toISOString() },
      },
    );
  }
  const expectedSeconds = etaSecondsFor((await run.deps.jobTimes(row)).expectedMs);
  // Counted from before the mark, so this worker stops trying to record the answer before any other worker
  // may send the job again (they count from the mark, on the database's clock).
  const recordBy = Date.now() + recordingGivesUpAfterMs(run.deps.submitPatience);
  const [marked] = await markSubmitStarted(db, { id: row.id, workerId });
  if (!marked || marked.status !== 'QUEUED') return false;
  run.adopt(marked);

  // ---- Dangerous region: from the request going out until its id is committed, Segmind may hold a billed
  // job that only this process knows about. Nothing in here may be interrupted by a stop request.
  let segmindRequestId: string;
  try {
    ({ segmindRequestId } = await segmind.submit(toVeoInput(marked)));
  } catch (error) {
    await submitFailed(run, error, marked);
    return false;
  }
  const accepted = {
    generationId: row.id,
    markedAt: marked.submitStartedAt!,
    segmindRequestId,
    submittedAt: new Date(),
    attempt: marked.attempts,
    etaSeconds: expectedSeconds,
    workerId,
    leaseMs: run.deps.leaseMs,
    upstreamName: run.upstream,
    storyId: row.storyId,
  };
  // However long the database is away (up to the patience), the answer is recorded by us, lease or not.
  const recorded = await run.withDatabaseRetry(() => recordSegmindRequestId(db, accepted), recordBy).catch((error: unknown) => {
    run.log.error('gave up recording the request id of a job Segmind accepted; it may be billed twice', { segmindRequestId });
    throw error;
  });
  if (recorded.outcome === 'submitted') {
    run.adopt(recorded.row);
    return true;
  }
  if (recorded.outcome === 'ended') {
    run.log.warn('generation was canceled while Segmind accepted it; its request id is kept', { segmindRequestId, status: recorded.status });
  } else {
    run.log.error('another submit of this generation was made while Segmind accepted this one; it may be billed twice', {
      segmindRequestId,
      recordedSegmindRequestId: recorded.recordedSegmindRequestId,
    });
  }
  return false;
  // ---- End of the dangerous region.
}

async function resubmittedAfterCrashBefore(run: GenerationRun): Promise<boolean> {
  const [earlier] = await run.deps.db
    .select({ id: generationEvents.id })
    .from(generationEvents)
    .where(and(eq(generationEvents.generationId, run.row.id), eq(generationEvents.type, EventType.ResubmittingAfterCrash)))
    .limit(1);
  return earlier !== undefined;
}

/** A submit that threw: fail the generation, or give the row back to be sent again later. */
async function submitFailed(run: GenerationRun, error: unknown, marked: GenerationRow): Promise<void> {
  const rateLimited = error instanceof SegmindError && error.kind === 'rate_limited';
  const tryNumber = rateLimited ? marked.rateLimitWaits + 1 : marked.attempts;
  const decision = decide(error, 'submit', tryNumber, run.deps.backoff);
  run.log.warn('submit failed', { err: error, attempt: marked.attempts, decision: decision.action });
  if (decision.action === 'fail') {
    // Segmind may hold this job: until the failure is written the row looks like a crash mid-submit, which
    // the next worker would send again. So this write, like the request id's, outlasts database hiccups.
    if (decision.mayBeCharged) return void (await run.withDatabaseRetry(() => run.fail(decision)));
    return void (await run.fail(decision));
  }
  const nextAttemptAt = new Date(Date.now() + decision.delayMs);
  const { expectedMs } = await run.deps.jobTimes(marked);
  const reschedule = { runAfter: nextAttemptAt, submitStartedAt: null, leaseOwner: null, leaseExpiresAt: null };
  if (rateLimited) {
    run.deps.metrics?.rateLimitWaits.inc();
    // Waiting on Segmind's rate limit is not a failed attempt; it has its own cap.
    await run.update(
      {
        ...reschedule,
        attempts: sql`${generations.attempts} - 1`,
        rateLimitWaits: sql`${generations.rateLimitWaits} + 1`,
        etaSeconds: etaSecondsFor(decision.delayMs + expectedMs),
      },
      {
        type: EventType.RateLimited,
        message: `${capitalized(run.upstream)} is rate limiting submissions; waiting until ${nextAttemptAt.toISOString()} to send it.`,
        data: { reason: decision.reason, nextAttemptAt: nextAttemptAt.toISOString(), waits: marked.rateLimitWaits + 1 },
      },
    );
    return;
  }
  await run.update(
    { ...reschedule, etaSeconds: etaSecondsFor(decision.delayMs + expectedMs) },
    {
      type: EventType.RetryScheduled,
      message: `Submission attempt ${marked.attempts} failed (${decision.reason}); next attempt at ${nextAttemptAt.toISOString()}.`,
      data: { attempt: marked.attempts, reason: decision.reason, nextAttemptAt: nextAttemptAt.toISOString() },
    },
  );
}
