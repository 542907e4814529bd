import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { transition } from '../events/timeline.js';
import { terminalStatuses } from '../generations/lifecycle.js';
import { generations, type GenerationRow, type GenerationStatus } from '../db/schema.js';
import { progressAt } from './job-timing.js';
import type { UpstreamName } from '../generations/charges.js';
import { EventType } from '../contract/tables.js';

/** A submit Segmind accepted, as its sender knows it. */
export interface AcceptedSubmit {
  generationId: string;
  /** The `submit_started_at` the sender wrote when it marked this submit; any other submit writes a new one. */
  markedAt: Date;
  segmindRequestId: string;
  submittedAt: Date;
  attempt: number;
  etaSeconds: number;
  workerId: string;
  leaseMs: number;
  /** Who accepted it, as the timeline names it. @default 'Segmind' */
  upstreamName?: UpstreamName;
  /** The story the generation is a shot of: locked first, as every change of a shot does (see transition). */
  storyId?: string | null;
}

export type RecordOutcome =
  /** Recorded: the generation is SUBMITTED and the sender holds its lease again, to poll it. */
  | { outcome: 'submitted'; row: GenerationRow }
  /** The generation ended meanwhile (canceled): the request id is kept on it so the charge can be traced. */
  | { outcome: 'ended'; status: GenerationStatus }
  /** Another submit was marked or recorded since: this request id is known to nobody but the log. */
  | { outcome: 'superseded'; recordedSegmindRequestId: string | null };

/**
 * Records Segmind's request id, however late it comes. It asks neither for a live lease nor for the QUEUED
 * status a lease would protect: the lease may have lapsed while the database was away. What it asks is that the
 * row still waits for this very submit — no request id, and the mark this submit wrote. Every other submit
 * first writes its own mark under the same row lock, so either this commit wins and that submit is never sent,
 * or that mark wins and this commit changes nothing.
 */
export async function recordSegmindRequestId(db: Db, submit: AcceptedSubmit): Promise<RecordOutcome> {
  const { generationId, segmindRequestId, submittedAt } = submit;
  const waitsForThisSubmit = and(isNull(generations.segmindRequestId), eq(generations.submitStartedAt, submit.markedAt))!;
  const submitted = await transition(db, generationId, {
    storyId: submit.storyId,
    from: ['QUEUED'],
    where: waitsForThisSubmit,
    set: {
      status: 'SUBMITTED',
      segmindRequestId,
      submittedAt,
      submitStartedAt: null,
      progress: progressAt('SUBMITTED'),
      etaSeconds: submit.etaSeconds,
      leaseOwner: submit.workerId,
      leaseExpiresAt: sql`now() + ${submit.leaseMs} * interval '1 millisecond'`,
    },
    event: { type: EventType.Submitted, message: `Sent to ${submit.upstreamName ?? 'Segmind'}.`, data: { attempt: submit.attempt } },
  });
  if (submitted) return { outcome: 'submitted', row: submitted };
  const [ended] = await db
    .update(generations)
    .set({ segmindRequestId, submittedAt, submitStartedAt: null })
    .where(and(eq(generations.id, generationId), waitsForThisSubmit, inArray(generations.status, [...terminalStatuses])))
    .returning({ status: generations.status });
  if (ended) return { outcome: 'ended', status: ended.status };
  const [current] = await db.select({ segmindRequestId: generations.segmindRequestId }).from(generations).where(eq(generations.id, generationId));
  return { outcome: 'superseded', recordedSegmindRequestId: current?.segmindRequestId ?? null };
}

/**
 * From the moment a worker marks a submit (`submit_started_at`) until Segmind's answer is recorded, only that
 * worker can know whether Segmind accepted — and billed — the job. It waits at most the request timeout for the
 * answer, then at most the commit patience to record it. Every worker derives the same window from the same two
 * settings, so nobody sends the job again before the first worker has certainly stopped trying to record it.
 */
export interface SubmitPatience {
  /** Longest a submit request may take (SEGMIND_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest the worker retries recording the answer through a database outage (COMMIT_PATIENCE_MS). */
  commitPatienceMs: number;
  /** Room for the one write that may still be under way when the sender's patience runs out. */
  lastWriteSlackMs: number;
}

/** How long after marking a submit its worker starts its last attempt to record Segmind's answer, at the latest. */
export const recordingGivesUpAfterMs = (patience: SubmitPatience): number =>
  patience.requestTimeoutMs + patience.commitPatienceMs;

/** How long after a submit was marked no worker may claim it for a new submit: its sender may still record it. */
export const submitWindowMs = (patience: SubmitPatience): number => recordingGivesUpAfterMs(patience) + patience.lastWriteSlackMs;
