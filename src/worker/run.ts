import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { transition, type EventInput, type GenerationChanges } from '../db/generations.js';
import { apiKeys, generationEvents, generations, type GenerationRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';
import type { SegmindClient } from '../segmind/api.js';
import { SegmindError } from '../segmind/errors.js';
import { veoPriceCents } from '../contract/veo.js';
import type { ResultAnswer, VeoInput } from '../segmind/types.js';
import { VideoTooLargeError, type VideoStorage } from '../storage/local.js';
import { storeResult, UnsafeDownloadError, type DownloadPolicy } from '../storage/safe-download.js';
import { InvalidVideoError, type VerifiedVideo } from '../storage/probe.js';
import type { GenerationErrorCode } from '../generations/error-codes.js';
import { decide, type BackoffOptions, type Decision } from './retry-policy.js';
import type { JobDurationEstimator } from './history.js';
import { nextPollDelay } from './poll-schedule.js';
import { estimateProgress, etaSecondsFor, progressAt } from './eta.js';
import { recordSegmindRequestId } from './record-segmind-request-id.js';
import { recordingGivesUpAfterMs, type SubmitPatience } from './submit-window.js';
import { capitalized, type UpstreamName } from './upstream-name.js';
import { checkReportedCost, upstreamSecondsOrOwn } from './upstream-values.js';

/** Everything a worker needs to drive one generation. */
export interface RunnerDeps {
  db: Db;
  segmind: SegmindClient;
  storage: VideoStorage;
  workerId: string;
  /** Lease length; renewed every third of it. */
  leaseMs: number;
  /** How long a submit's answer may take and how long recording it may be retried: shared by every worker. */
  submitPatience: SubmitPatience;
  /** Lines about this generation: the worker gives one carrying its id and key prefix. */
  log: Logger;
  pollMinMs: number;
  pollMaxMs: number;
  /** How long Segmind is expected to take for a generation, for polling, progress and ETA. */
  expectedJobMs: JobDurationEstimator;
  backoff: BackoffOptions;
  /** Largest video we agree to store. */
  maxVideoBytes: number;
  /** Fetch for downloading results. @default globalThis.fetch */
  download?: typeof fetch;
  /** Where result videos may come from. */
  downloadPolicy: DownloadPolicy;
  metrics?: Pick<Metrics, 'statusDuration' | 'rateLimitWaits'>;
  /** Who runs the jobs, as timeline messages name it. @default 'Segmind' */
  upstreamName?: UpstreamName;
}

/** Thrown when the generation is no longer ours to drive (canceled, lease lost, shutting down). */
class Stopped extends Error {}

type TransitionSet = GenerationChanges;
type FailDecision = Extract<Decision, { action: 'fail' }>;

/**
 * Progress ticks are written when the bar moves by this much, and at most every 2 s (or a twentieth of the
 * job for short jobs, never closer than 200 ms), so a busy worker does not flood Postgres and subscribers with
 * NOTIFY traffic. Between status requests they are written on this schedule from the estimate.
 */
const MIN_PROGRESS_STEP = 0.01;
const progressIntervalMs = (expectedMs: number) => Math.min(2000, Math.max(200, expectedMs / 20));

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

/** Safety blocks end with "Support codes: NNNN" (Google) or mention safety; they are not charged. */
const isContentBlock = (message: string) => /support codes?:|safety|blocked/i.test(message);

/** Jobs Segmind never accepted, and safety blocks, are not charged: their cost becomes a final zero. */
function failedSet(row: GenerationRow, decision: FailDecision): TransitionSet {
  const notCharged = decision.code === 'CONTENT_BLOCKED' || (!row.segmindRequestId && !decision.mayBeCharged);
  return {
    ...(notCharged && { costUsd: '0', costFinal: true }),
    status: 'FAILED',
    errorCode: decision.code,
    errorMessage: decision.message,
    errorRetryable: decision.retryable,
    completedAt: new Date(),
    etaSeconds: null,
    leaseOwner: null,
    leaseExpiresAt: null,
  };
}

/** A generation whose runs stopped twice while sending it to Segmind is not sent a third time. */
const repeatedCrash = (upstream: UpstreamName): FailDecision => ({
  action: 'fail',
  code: 'INTERNAL',
  retryable: true,
  mayBeCharged: true,
  message: `Our worker stopped twice while sending this job to ${upstream}, so it is not sent again. ${capitalized(upstream)} may bill the earlier submissions; ask for a new generation.`,
});

/** Result answers without a usable video that a COMPLETED job gets before it is given up. */
const MAX_UNUSABLE_RESULTS = 5;


/** Segmind said the job completed, and then never named a video we can fetch. */
const UNUSABLE_RESULT: FailDecision = {
  action: 'fail',
  code: 'UPSTREAM_UNREADABLE',
  retryable: true,
  mayBeCharged: true,
  message: `Segmind reported the job as completed but its result named no video that can be fetched, after ${MAX_UNUSABLE_RESULTS} tries. Its charge may apply; ask for a new generation.`,
};

function timeoutDecision(row: GenerationRow, upstream: UpstreamName): FailDecision {
  const base = { action: 'fail', code: 'TIMEOUT' satisfies GenerationErrorCode, retryable: true } as const;
  if (row.segmindRequestId) {
    return {
      ...base,
      mayBeCharged: true,
      message: `The generation did not finish before its deadline. ${capitalized(upstream)} had accepted it, so its charge may still apply.`,
    };
  }
  // A submit went out and its answer was never recorded (its worker stopped): Segmind may hold, and bill, the job.
  if (row.submitStartedAt) {
    return {
      ...base,
      mayBeCharged: true,
      message: `The generation did not finish before its deadline. It had been sent to ${upstream} without a recorded answer, so a charge may apply.`,
    };
  }
  return { ...base, message: `The generation could not be sent to ${upstream} before its deadline; nothing is charged.` };
}

/**
 * Drives one claimed generation as far as it can go: submit (unless Segmind already has it), poll until
 * Segmind finishes, copy the video into storage, succeed. Every step is a guarded transition, so a
 * generation canceled or taken over meanwhile simply stops here. Returns when the generation is final,
 * rescheduled, or `signal` asks to stop at the next safe point.
 */
export async function runGeneration(claimed: GenerationRow, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  const run = new GenerationRun(claimed, deps, signal);
  try {
    await run.drive();
  } catch (error) {
    if (error instanceof Stopped) {
      run.log.debug('stopped driving generation', { status: run.row.status });
      return;
    }
    throw error;
  }
}

/** The shown prefix of the key that owns a generation, for log lines (never the key). */
export async function keyPrefixOf(db: Db, apiKeyId: string | null): Promise<string | null> {
  if (!apiKeyId) return null;
  const [key] = await db.select({ prefix: apiKeys.prefix }).from(apiKeys).where(eq(apiKeys.id, apiKeyId));
  return key?.prefix ?? null;
}

class GenerationRun {
  readonly log: Logger;
  /** Who runs the job, as the timeline names it. */
  private readonly upstream: UpstreamName;
  /** When this run last wrote a progress tick, on this process's clock. */
  private lastTickAt = 0;

  constructor(
    public row: GenerationRow,
    private readonly deps: RunnerDeps,
    private readonly signal: AbortSignal,
  ) {
    this.log = deps.log;
    this.upstream = deps.upstreamName ?? 'Segmind';
  }

  async drive(): Promise<void> {
    if (this.pastDeadline()) return void (await this.fail(timeoutDecision(this.row, this.upstream)));
    if (!this.row.segmindRequestId && !(await this.submit())) return;
    const output =
      this.row.status === 'STORING' && this.row.outputUrl
        ? { url: this.row.outputUrl, contentType: this.row.videoContentType ?? 'video/mp4' }
        : await this.pollUntilDone();
    if (output) await this.store(output.url);
  }

  /** A guarded transition while we hold the lease; Stopped when the row is no longer ours. */
  private async update(set: TransitionSet, event?: EventInput): Promise<GenerationRow> {
    const next = await transition(this.deps.db, this.row.id, { leaseOwner: this.deps.workerId, set, event });
    if (!next) throw new Stopped();
    return this.adopt(next);
  }

  /** Takes a newer version of the row, timing the status it leaves. */
  private adopt(next: GenerationRow): GenerationRow {
    if (next.status !== this.row.status) {
      const seconds = (next.updatedAt.getTime() - this.row.updatedAt.getTime()) / 1000;
      this.deps.metrics?.statusDuration.observe({ status: this.row.status }, Math.max(0, seconds));
    }
    this.row = next;
    return next;
  }

  private fail(decision: FailDecision): Promise<GenerationRow> {
    return this.update(failedSet(this.row, decision), { type: 'failed', message: decision.message, data: { code: decision.code } });
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.signal });
    } catch {
      throw new Stopped();
    }
  }

  private pastDeadline(): boolean {
    return Date.now() > this.row.deadlineAt.getTime();
  }

  /** Submits to Segmind and records the request id. False when the generation was rescheduled, failed or canceled. */
  private async submit(): Promise<boolean> {
    const { db, workerId, segmind } = this.deps;
    const row = this.row;
    if (row.submitStartedAt) {
      // Once is a mishap; a second crash in the same place is a fault that repeats, and each round may be billed.
      if (await this.resubmittedAfterCrashBefore()) {
        await this.withDatabaseRetry(() => this.fail(repeatedCrash(this.upstream)));
        return false;
      }
      // The last worker died between sending the job and recording Segmind's answer: the one window where we
      // cannot know whether Segmind accepted. We send it again so the user gets a video, and say so.
      await this.update(
        {},
        {
          type: 'resubmitting_after_crash',
          message: `A worker stopped after sending this job to ${this.upstream} and before recording its answer. It is sent again; ${this.upstream} may bill both submissions.`,
          data: { previousSubmitStartedAt: row.submitStartedAt.toISOString() },
        },
      );
    }
    const expectedSeconds = etaSecondsFor(await this.deps.expectedJobMs(row));
    // Counted from before the mark, so this worker stops trying to record the answer before any other worker
    // may send the job again (they count from the mark, on the database's clock).
    const recordBy = Date.now() + recordingGivesUpAfterMs(this.deps.submitPatience);
    const [marked] = await db
      .update(generations)
      // Whole milliseconds, so the mark read back is exactly the one stored: recording the answer checks it.
      .set({ submitStartedAt: sql`date_trunc('milliseconds', now())`, attempts: sql`${generations.attempts} + 1` })
      .where(and(eq(generations.id, row.id), eq(generations.leaseOwner, workerId), isNull(generations.segmindRequestId)))
      .returning();
    if (!marked || marked.status !== 'QUEUED') return false;
    this.adopt(marked);

    // ---- Dangerous region: from the request going out until its id is committed, Segmind may hold a billed
    // job that only this process knows about. Nothing in here may be interrupted by a stop request.
    let segmindRequestId: string;
    try {
      ({ segmindRequestId } = await segmind.submit(toVeoInput(marked)));
    } catch (error) {
      await this.submitFailed(error, marked);
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
      leaseMs: this.deps.leaseMs,
      upstreamName: this.upstream,
    };
    // However long the database is away (up to the patience), the answer is recorded by us, lease or not.
    const recorded = await this.withDatabaseRetry(() => recordSegmindRequestId(db, accepted), recordBy).catch((error: unknown) => {
      this.log.error('gave up recording the request id of a job Segmind accepted; it may be billed twice', { segmindRequestId });
      throw error;
    });
    if (recorded.outcome === 'submitted') {
      this.adopt(recorded.row);
      return true;
    }
    if (recorded.outcome === 'ended') {
      this.log.warn('generation was canceled while Segmind accepted it; its request id is kept', { segmindRequestId, status: recorded.status });
    } else {
      this.log.error('another submit of this generation was made while Segmind accepted this one; it may be billed twice', {
        segmindRequestId,
        recordedSegmindRequestId: recorded.recordedSegmindRequestId,
      });
    }
    return false;
    // ---- End of the dangerous region.
  }

  private async resubmittedAfterCrashBefore(): Promise<boolean> {
    const [earlier] = await this.deps.db
      .select({ id: generationEvents.id })
      .from(generationEvents)
      .where(and(eq(generationEvents.generationId, this.row.id), eq(generationEvents.type, 'resubmitting_after_crash')))
      .limit(1);
    return earlier !== undefined;
  }

  private async submitFailed(error: unknown, marked: GenerationRow): Promise<void> {
    const rateLimited = error instanceof SegmindError && error.kind === 'rate_limited';
    const tryNumber = rateLimited ? marked.rateLimitWaits + 1 : marked.attempts;
    const decision = decide(error, 'submit', tryNumber, this.deps.backoff);
    this.log.warn('submit failed', { err: error, attempt: marked.attempts, decision: decision.action });
    if (decision.action === 'fail') {
      // Segmind may hold this job: until the failure is written the row looks like a crash mid-submit, which
      // the next worker would send again. So this write, like the request id's, outlasts database hiccups.
      if (decision.mayBeCharged) return void (await this.withDatabaseRetry(() => this.fail(decision)));
      return void (await this.fail(decision));
    }
    const nextAttemptAt = new Date(Date.now() + decision.delayMs);
    const expectedMs = await this.deps.expectedJobMs(marked);
    const reschedule = { runAfter: nextAttemptAt, submitStartedAt: null, leaseOwner: null, leaseExpiresAt: null };
    if (rateLimited) {
      this.deps.metrics?.rateLimitWaits.inc();
      // Waiting on Segmind's rate limit is not a failed attempt; it has its own cap.
      await this.update(
        {
          ...reschedule,
          attempts: sql`${generations.attempts} - 1`,
          rateLimitWaits: sql`${generations.rateLimitWaits} + 1`,
          etaSeconds: etaSecondsFor(decision.delayMs + expectedMs),
        },
        {
          type: 'rate_limited',
          message: `${capitalized(this.upstream)} is rate limiting submissions; waiting until ${nextAttemptAt.toISOString()} to send it.`,
          data: { reason: decision.reason, nextAttemptAt: nextAttemptAt.toISOString(), waits: marked.rateLimitWaits + 1 },
        },
      );
      return;
    }
    await this.update(
      { ...reschedule, etaSeconds: etaSecondsFor(decision.delayMs + expectedMs) },
      {
        type: 'retry_scheduled',
        message: `Submission attempt ${marked.attempts} failed (${decision.reason}); next attempt at ${nextAttemptAt.toISOString()}.`,
        data: { attempt: marked.attempts, reason: decision.reason, nextAttemptAt: nextAttemptAt.toISOString() },
      },
    );
  }

  /**
   * Retries a write through a database outage; used where losing the write would lose money. The last attempt
   * starts at `giveUpAt`, never later: other workers count on that (see submit-window.ts).
   */
  private async withDatabaseRetry<T>(
    write: () => Promise<T>,
    giveUpAt = Date.now() + this.deps.submitPatience.commitPatienceMs,
  ): Promise<T> {
    for (let tryNumber = 1; ; tryNumber++) {
      try {
        return await write();
      } catch (error) {
        if (error instanceof Stopped) throw error;
        const left = giveUpAt - Date.now();
        if (left <= 0) {
          this.log.error('gave up a database write that must not be lost', { err: error, tries: tryNumber });
          throw error;
        }
        this.log.warn('database write failed; retrying', { err: error, tries: tryNumber });
        await sleep(Math.min(5000, 250 * tryNumber, left));
      }
    }
  }

  /** Polls Segmind until the job completes; null when it ended otherwise (failed, expired, timed out). */
  private async pollUntilDone(): Promise<{ url: string; contentType: string } | null> {
    const { segmind, pollMinMs, pollMaxMs } = this.deps;
    const segmindRequestId = this.row.segmindRequestId!;
    const expectedMs = await this.deps.expectedJobMs(this.row);
    const submittedAt = this.row.submittedAt?.getTime() ?? Date.now();
    let pollFailures = 0;
    let unusableResults = 0;
    for (;;) {
      const elapsed = Date.now() - submittedAt;
      await this.waitTicking(nextPollDelay(elapsed, { minMs: pollMinMs, maxMs: pollMaxMs, expectedMs }), submittedAt, expectedMs);
      if (this.pastDeadline()) {
        await this.fail(timeoutDecision(this.row, this.upstream));
        return null;
      }
      try {
        const answer = await segmind.status(segmindRequestId);
        pollFailures = 0;
        if (answer.status === 'FAILED') {
          // Our words first; Segmind's (already cleaned and cut by the client) follow as a quoted excerpt.
          const message = answer.error
            ? `${capitalized(this.upstream)} reported that the generation failed: "${answer.error}"`
            : `${capitalized(this.upstream)} reported that the generation failed.`;
          const code: GenerationErrorCode = isContentBlock(message) ? 'CONTENT_BLOCKED' : 'GENERATION_FAILED';
          await this.fail({ action: 'fail', code, message, retryable: code === 'GENERATION_FAILED' });
          return null;
        }
        if (answer.status === 'COMPLETED') {
          const result = await segmind.result(segmindRequestId).catch((error: unknown) => {
            // Answered, but with no usable video: counted apart from poll failures (which a good status resets),
            // so a result that never names one ends the generation instead of holding a worker to its deadline.
            if (error instanceof SegmindError && error.answeredWith2xx) unusableResults++;
            throw error;
          });
          const cost = await this.believedCost(result);
          await this.update(
            {
              status: 'STORING',
              outputUrl: result.outputUrl,
              progress: progressAt('STORING'),
              etaSeconds: 1,
              upstreamSeconds: upstreamSecondsOrOwn(result.totalSeconds, (Date.now() - submittedAt) / 1000),
              ...(cost !== undefined && { costUsd: cost.toFixed(4), costFinal: true }),
            },
            { type: 'storing', message: `${capitalized(this.upstream)} finished; copying the video into storage.` },
          );
          return { url: result.outputUrl, contentType: result.contentType };
        }
        if (answer.status === 'PROCESSING') await this.reportProgress(Date.now() - submittedAt, expectedMs, 'PROCESSING');
      } catch (error) {
        if (error instanceof Stopped) throw error;
        if (unusableResults >= MAX_UNUSABLE_RESULTS) {
          this.log.error('Segmind completed the job but its result names no usable video', { err: error, tries: unusableResults });
          await this.fail(UNUSABLE_RESULT);
          return null;
        }
        const decision = decide(error, 'poll', ++pollFailures, this.deps.backoff);
        this.log.warn('status poll failed', { err: error, tries: pollFailures, decision: decision.action });
        if (decision.action === 'fail') {
          await this.fail(decision);
          return null;
        }
        await this.pause(Math.min(pollMaxMs, decision.delayMs));
      }
    }
  }

  /**
   * The charge Segmind reported, when it can be this job's: a figure outside 0 to 10 × the list price is
   * logged, told on the timeline and ignored, so the estimate stays and no budget moves by it.
   */
  private async believedCost(result: ResultAnswer): Promise<number | undefined> {
    if (result.cost === undefined) return undefined;
    const listPriceUsd = veoPriceCents(this.row) / 100;
    const check = checkReportedCost(result.cost, listPriceUsd);
    if (check.believed) return check.usd;
    this.log.warn('ignored the charge Segmind reported', { reportedUsd: result.cost, listPriceUsd, reason: check.reason });
    await this.update(
      {},
      {
        type: 'cost_ignored',
        message: `${capitalized(this.upstream)} reported a charge of $${result.cost}, ${check.reason}; the estimate of $${Number(this.row.costUsd).toFixed(2)} is kept.`,
        data: { reportedUsd: result.cost, listPriceUsd },
      },
    );
    return undefined;
  }

  /**
   * Waits `ms` for the next status request, writing progress ticks from the estimate meanwhile: status requests
   * are rare while a job is young (the first comes at half its expected length), and every subscriber should
   * see the bar move between them.
   */
  private async waitTicking(ms: number, submittedAt: number, expectedMs: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await this.pause(Math.min(progressIntervalMs(expectedMs), left));
      if (until - Date.now() > 0) await this.reportProgress(Date.now() - submittedAt, expectedMs);
    }
  }

  /**
   * A progress tick from the estimate, written only when the bar moves visibly, and not too often. `upstream`
   * is the status the upstream just answered: only an answer moves SUBMITTED to PROCESSING, while ticks between
   * answers keep the status. Progress never falls and the ETA never rises: the estimate may change under us
   * (a job that finished meanwhile changes the expected length).
   */
  private async reportProgress(elapsedMs: number, expectedMs: number, upstream?: 'PROCESSING'): Promise<void> {
    const estimate = estimateProgress(elapsedMs, expectedMs);
    const forward = {
      progress: Math.max(estimate.progress, this.row.progress),
      etaSeconds: Math.min(estimate.etaSeconds, this.row.etaSeconds ?? estimate.etaSeconds),
    };
    if (upstream === 'PROCESSING' && this.row.status === 'SUBMITTED') {
      const message = `${capitalized(this.upstream)} is generating the video.`;
      await this.update({ status: 'PROCESSING', ...forward }, { type: 'processing', message });
      this.lastTickAt = Date.now();
      return;
    }
    const moved = forward.progress - this.row.progress >= MIN_PROGRESS_STEP;
    if (!moved || Date.now() - this.lastTickAt < progressIntervalMs(expectedMs)) return;
    await this.update(forward);
    this.lastTickAt = Date.now();
  }

  /**
   * Streams the video into storage and verifies it, retrying: Segmind keeps the file for days, long after the
   * job record. The generation's deadline and a cancel stop it mid-download, and the download's own timeouts
   * keep a silent server from holding this worker's slot.
   */
  private async store(url: string): Promise<void> {
    const { storage } = this.deps;
    const key = `${this.row.id}.mp4`;
    // A worker killed mid-download left its temporary file behind; this download replaces it.
    await storage.removePartials(key);
    let stored: { sizeBytes: number; video: VerifiedVideo } | undefined;
    for (let tryNumber = 1; stored === undefined; tryNumber++) {
      if (this.pastDeadline()) return void (await this.fail(timeoutDecision(this.row, this.upstream)));
      try {
        stored = await storeResult({
          url,
          key,
          storage,
          policy: this.deps.downloadPolicy,
          fetch: this.deps.download ?? fetch,
          maxBytes: this.deps.maxVideoBytes,
          signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.msUntilDeadline())]),
        });
      } catch (error) {
        if (this.signal.aborted) throw new Stopped();
        if (this.pastDeadline()) return void (await this.fail(timeoutDecision(this.row, this.upstream)));
        if (error instanceof InvalidVideoError) {
          await storage.remove(key);
          this.log.error('the result is not a playable MP4 video', { err: error });
          await this.fail({
            action: 'fail',
            code: 'INVALID_RESULT',
            retryable: true,
            message: `${capitalized(this.upstream)}'s result is not a playable MP4 video (${error.reason}), so it was not kept. ${capitalized(this.upstream)} may still bill the job; ask for a new generation.`,
          });
          return;
        }
        if (error instanceof UnsafeDownloadError || error instanceof VideoTooLargeError) {
          this.log.error('refused the result download', { err: error });
          await this.fail({ action: 'fail', code: 'STORAGE_FAILED', retryable: false, message: 'The finished video could not be copied into storage.' });
          return;
        }
        const decision = decide(error, 'download', tryNumber, this.deps.backoff);
        this.log.warn('video download failed', { err: error, tries: tryNumber, decision: decision.action });
        if (decision.action === 'fail') {
          await this.fail({ ...decision, message: 'The finished video could not be copied into storage.' });
          return;
        }
        await this.pause(Math.min(decision.delayMs, this.msUntilDeadline()));
      }
    }
    // The file is stored: a database hiccup now must not turn it into a failed download.
    const { sizeBytes, video } = stored;
    await this.withDatabaseRetry(() =>
      this.update(
        {
          status: 'SUCCEEDED',
          videoKey: key,
          videoSizeBytes: sizeBytes,
          videoContentType: video.contentType,
          progress: 1,
          etaSeconds: 0,
          completedAt: new Date(),
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        { type: 'succeeded', message: 'The video is ready.' },
      ),
    );
  }

  private msUntilDeadline(): number {
    return Math.max(0, this.row.deadlineAt.getTime() - Date.now());
  }
}
