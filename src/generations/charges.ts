import { and, isNull, sql, type SQL } from 'drizzle-orm';
import { veoPriceCents } from '../contract/tables.js';
import type { GenerationChanges } from '../events/timeline.js';
import { generations, type GenerationRow } from '../db/schema.js';
import { GenerationErrorCode } from './errors.js';

/**
 * What a generation costs and what is charged when. Segmind bills every submit it accepts, cannot cancel a job
 * and has no idempotency; a job it never accepted, and a safety block, cost nothing. A generation's `costUsd`
 * starts as the list price (so budgets count it at once) and becomes final when the charge is known: zero
 * when nothing was sent, Segmind's figure when it reports one.
 */

/** The list price of a request in USD (the price table is src/contract/veo.ts). */
export const priceUsd = (request: { durationSeconds: number; generateAudio: boolean }): number => veoPriceCents(request) / 100;

/** Formats a USD amount (a number or a numeric string) as the two-decimal string clients see. */
export function formatUsd(amount: number | string): string {
  return Number(amount).toFixed(2);
}

/** The cost of a generation known to be free: nothing reached Segmind, or Segmind does not bill it. */
export const NOTHING_CHARGED = { costUsd: '0', costFinal: true } as const satisfies GenerationChanges;

/**
 * Once a submit may have gone out (it was marked, or Segmind's job id is recorded), so may a charge. A worker
 * marks a submit under the row's lock, so a decision read from the row as a change commits is never late.
 */
export const chargeMayApply = (row: Pick<GenerationRow, 'segmindRequestId' | 'submitStartedAt'>): boolean =>
  row.segmindRequestId !== null || row.submitStartedAt !== null;

/** {@link chargeMayApply} as SQL: true for a row no submit went out for. */
export const neverSentSql: SQL = and(isNull(generations.segmindRequestId), isNull(generations.submitStartedAt))!;

/**
 * The cost a cancel leaves, decided by the row as the cancel commits (a worker may mark a submit until then):
 * a final zero when nothing was sent, else the estimate, still awaiting Segmind's figure.
 */
export const costOnCancel: GenerationChanges = {
  costUsd: sql`case when ${neverSentSql} then 0 else ${generations.costUsd} end`,
  costFinal: neverSentSql,
};

/** The timeline words of a cancel, by whether a charge may still apply. */
export const cancelMessage = (mayApply: boolean): string =>
  mayApply
    ? 'Canceled. Segmind had already been sent the job and cannot stop it, so its charge may still apply.'
    : 'Canceled before it was sent to Segmind; nothing is charged.';

/** Why a generation failed, in the words it is stored with. */
export interface Failure {
  code: GenerationErrorCode;
  message: string;
  retryable: boolean;
  /** Segmind may have accepted the job though its id was never recorded, so the estimate stays. */
  mayBeCharged?: boolean;
}

/** Jobs Segmind never accepted, and safety blocks, are not charged: their cost becomes a final zero. */
export function costOnFailure(row: Pick<GenerationRow, 'segmindRequestId'>, failure: Failure): GenerationChanges {
  const notCharged = failure.code === GenerationErrorCode.CONTENT_BLOCKED || (!row.segmindRequestId && !failure.mayBeCharged);
  return notCharged ? NOTHING_CHARGED : {};
}

/** Safety blocks end with "Support codes: NNNN" (Google) or mention safety; they are not charged. */
const isContentBlock = (message: string) => /support codes?:|safety|blocked/i.test(message);

/** Segmind reported the job failed, with its own words when it gave any (already cleaned and cut by the client). */
export function upstreamFailure(upstream: UpstreamName, upstreamError: string | undefined): Failure {
  // Our words first; Segmind's follow as a quoted excerpt.
  const message = upstreamError
    ? `${capitalized(upstream)} reported that the generation failed: "${upstreamError}"`
    : `${capitalized(upstream)} reported that the generation failed.`;
  const code = isContentBlock(message) ? GenerationErrorCode.CONTENT_BLOCKED : GenerationErrorCode.GENERATION_FAILED;
  return { code, message, retryable: code === GenerationErrorCode.GENERATION_FAILED };
}

/** A generation's deadline as the failure's words name it: the client's own (deadlineSeconds) or the server's. */
type DeadlineFacts = Pick<GenerationRow, 'segmindRequestId' | 'submitStartedAt'> &
  Partial<Pick<GenerationRow, 'deadlineSeconds' | 'deadlineAt' | 'createdAt'>>;

/** Whose deadline ended it: the client's when it asked for one no later than the server's (deadlineAt says which). */
function deadlineWords(row: DeadlineFacts): string {
  const asked = row.deadlineSeconds;
  const clients = asked != null && row.createdAt && row.deadlineAt && row.deadlineAt.getTime() >= row.createdAt.getTime() + asked * 1000;
  return clients ? `the deadline you set (deadlineSeconds: ${asked}) passed` : 'its deadline passed';
}

/** The deadline passed; whether it may be charged depends on how far the job got. */
export function timeoutFailure(row: DeadlineFacts, upstream: UpstreamName): Failure {
  const base = { code: GenerationErrorCode.TIMEOUT, retryable: true } as const;
  const passed = deadlineWords(row);
  const The = passed.charAt(0).toUpperCase() + passed.slice(1);
  if (row.segmindRequestId) {
    return {
      ...base,
      mayBeCharged: true,
      message: `The generation did not finish: ${passed}. ${capitalized(upstream)} had accepted it, so its charge may still apply.`,
    };
  }
  // A submit went out and its answer was never recorded (its worker stopped): Segmind may hold, and bill, the job.
  if (row.submitStartedAt) {
    return {
      ...base,
      mayBeCharged: true,
      message: `The generation did not finish: ${passed}. It had been sent to ${upstream} without a recorded answer, so a charge may apply.`,
    };
  }
  return { ...base, message: `${The} before the generation could be sent to ${upstream}; nothing is charged.` };
}

/** A generation whose runs stopped twice while sending it to Segmind is not sent a third time. */
export const repeatedCrashFailure = (upstream: UpstreamName): Failure => ({
  code: GenerationErrorCode.INTERNAL,
  retryable: true,
  mayBeCharged: true,
  message: `Our worker stopped twice while sending this job to ${upstream}, so it is not sent again. ${capitalized(upstream)} may bill the earlier submissions; ask for a new generation.`,
});

/** Segmind said the job completed, and then, `tries` times, never named a video we can fetch. */
export const unusableResultFailure = (tries: number): Failure => ({
  code: GenerationErrorCode.UPSTREAM_UNREADABLE,
  retryable: true,
  mayBeCharged: true,
  message: `Segmind reported the job as completed but its result named no video that can be fetched, after ${tries} tries. Its charge may apply; ask for a new generation.`,
});

/**
 * Checks on the numbers Segmind reports about a finished job. Upstream values are believed only within
 * bounds that follow from what we know ourselves (the list price, our own clock); outside them they are
 * an upstream fault and our own figure stands.
 */

/** A reported charge above this multiple of the list price is not believed. */
export const MAX_COST_FACTOR = 10;

/** Slack for the network and clocks when comparing Segmind's job time with ours. */
const UPSTREAM_SECONDS_SLACK = 60;

export type CostCheck = { believed: true; usd: number } | { believed: false; reason: string };

/**
 * Whether the charge Segmind reported can be the cost of a job with this list price: 0 (e.g. a job it did
 * not bill) up to {@link MAX_COST_FACTOR} × the list price. A negative or huge figure would move a daily
 * budget or overflow the cost column.
 */
export function checkReportedCost(reportedUsd: number, listPriceUsd: number): CostCheck {
  const maxUsd = listPriceUsd * MAX_COST_FACTOR;
  if (Number.isFinite(reportedUsd) && reportedUsd >= 0 && reportedUsd <= maxUsd) return { believed: true, usd: reportedUsd };
  return { believed: false, reason: `outside $0 to $${maxUsd.toFixed(2)} (${MAX_COST_FACTOR} × the list price)` };
}

/**
 * Seconds Segmind took for a job: its own figure when it is positive and not longer than we have known of the
 * job (plus slack), our measurement otherwise. The value feeds polling and ETAs of later jobs.
 */
export function upstreamSecondsOrOwn(reportedSeconds: number | undefined, ownSeconds: number): number {
  const plausible =
    reportedSeconds !== undefined &&
    Number.isFinite(reportedSeconds) &&
    reportedSeconds > 0 &&
    reportedSeconds <= ownSeconds + UPSTREAM_SECONDS_SLACK;
  return plausible ? reportedSeconds : ownSeconds;
}

/**
 * Who runs the jobs, as timeline messages name it: in simulator mode nothing goes to Segmind, and the
 * timeline must not say it does.
 */
export type UpstreamName = 'Segmind' | 'the Segmind simulator';

/** Which backend runs a generation. */
export type Provider = 'SEGMIND' | 'SIMULATOR';

export const upstreamNameOf = (provider: Provider): UpstreamName =>
  provider === 'SIMULATOR' ? 'the Segmind simulator' : 'Segmind';

/** The name at the start of a sentence. */
export const capitalized = (name: UpstreamName): string => name.charAt(0).toUpperCase() + name.slice(1);
