import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { transition, type EventInput } from '../db/generations.js';
import { generations, type GenerationRow, type NewGenerationRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { SegmindClient } from '../segmind/client.js';
import type { VeoInput } from '../segmind/types.js';
import type { VideoStorage } from '../storage/local-storage.js';
import type { GenerationErrorCode } from './error-codes.js';
import { decide, type BackoffOptions, type Decision } from './failure-policy.js';
import { estimateProgress, progressAt } from './progress.js';

/** Everything a worker needs to drive one generation. */
export interface RunnerDeps {
  db: Db;
  segmind: SegmindClient;
  storage: VideoStorage;
  workerId: string;
  log: Logger;
  pollMinMs: number;
  pollMaxMs: number;
  /** How long Segmind is expected to take, for progress and ETA. */
  expectedJobMs: number;
  backoff: BackoffOptions;
  /** Largest video we agree to store. */
  maxVideoBytes: number;
  /** Fetch for downloading results. @default globalThis.fetch */
  download?: typeof fetch;
}

/** Thrown when the generation is no longer ours to drive (canceled, lease lost, shutting down). */
class Stopped extends Error {}

const MIN_PROGRESS_STEP = 0.01;

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

/**
 * Drives one claimed generation as far as it can go: submit (unless Segmind already has it), poll until
 * Segmind finishes, copy the video into storage, succeed. Every step is a guarded transition, so a
 * generation canceled or taken over meanwhile simply stops here. Returns when the generation is final,
 * rescheduled, or `signal` asks to stop at the next safe point.
 */
export async function runGeneration(claimed: GenerationRow, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  const { db, workerId } = deps;
  const log = deps.log.child({ generationId: claimed.id });
  let row = claimed;

  const update = async (set: TransitionSet, event?: EventInput) => {
    const next = await transition(db, row.id, { leaseOwner: workerId, set, event });
    if (!next) throw new Stopped();
    row = next;
    return next;
  };
  const fail = (decision: Extract<Decision, { action: 'fail' }>) =>
    update(failedSet(row, decision), {
      type: 'failed',
      message: decision.message,
      data: { code: decision.code },
    });
  const pause = async (ms: number) => {
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      throw new Stopped();
    }
  };

  try {
    if (!row.requestId) {
      const submitted = await submit(row, deps, log, update, fail);
      if (!submitted) return;
      row = submitted;
    }
    let output: { url: string; cost?: number; contentType?: string | null } | null =
      row.status === 'STORING' && row.outputUrl ? { url: row.outputUrl, contentType: row.videoContentType } : null;
    let pollFailures = 0;
    let delay = deps.pollMinMs;
    while (output === null) {
      await pause(delay);
      delay = deps.pollMinMs;
      try {
        const answer = await deps.segmind.status(row.requestId!);
        if (answer.status === 'FAILED') {
          const message = answer.error || 'Segmind reported that the generation failed.';
          const code: GenerationErrorCode = isContentBlock(message) ? 'CONTENT_BLOCKED' : 'GENERATION_FAILED';
          await fail({ action: 'fail', code, message, retryable: code === 'GENERATION_FAILED' });
          return;
        }
        if (answer.status === 'COMPLETED') {
          const result = await deps.segmind.result(row.requestId!);
          output = { url: result.outputUrl, cost: result.cost, contentType: result.contentType };
          break;
        }
        pollFailures = 0;
        if (answer.status === 'PROCESSING') await reportProgress(row, deps, update);
      } catch (error) {
        if (error instanceof Stopped) throw error;
        const decision = decide(error, 'poll', ++pollFailures, deps.backoff);
        log.warn('status poll failed', { err: error, tries: pollFailures, decision: decision.action });
        if (decision.action === 'fail') {
          await fail(decision);
          return;
        }
        delay = Math.min(deps.pollMaxMs, Math.max(deps.pollMinMs, decision.delayMs));
      }
    }
    if (row.status !== 'STORING') {
      await update(
        {
          status: 'STORING',
          outputUrl: output.url,
          progress: progressAt('STORING'),
          etaSeconds: 1,
          ...(output.cost !== undefined && { costUsd: output.cost.toFixed(4), costFinal: true }),
        },
        { type: 'storing', message: 'Segmind finished; copying the video into storage.' },
      );
    }
    await store(row, output.url, output.contentType ?? 'video/mp4', deps, signal, log, update, fail, pause);
  } catch (error) {
    if (error instanceof Stopped) {
      log.debug('stopped driving generation', { status: row.status });
      return;
    }
    throw error;
  }
}

type TransitionSet = Partial<Omit<NewGenerationRow, 'id' | 'version'>>;
type Update = (set: TransitionSet, event?: EventInput) => Promise<GenerationRow>;
type Fail = (decision: Extract<Decision, { action: 'fail' }>) => Promise<GenerationRow>;

/** Jobs Segmind never accepted, and safety blocks, are not charged: their cost becomes a final zero. */
function failedSet(row: GenerationRow, decision: Extract<Decision, { action: 'fail' }>): TransitionSet {
  const notCharged = decision.code === 'CONTENT_BLOCKED' || (!row.requestId && !decision.mayBeCharged);
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

/** Submits to Segmind and records the request id. Returns null when the generation was rescheduled, failed or canceled. */
async function submit(row: GenerationRow, deps: RunnerDeps, log: Logger, update: Update, fail: Fail): Promise<GenerationRow | null> {
  const { db } = deps;
  if (row.submitStartedAt) {
    // The last worker died between sending the job and recording Segmind's answer: the one window where
    // we cannot know whether Segmind accepted. We submit again so the user gets a video, and say so.
    await update(
      {},
      {
        type: 'resubmitting_after_crash',
        message:
          'A worker stopped after sending this job to Segmind and before recording its answer. It is sent again; Segmind may bill both submissions.',
        data: { previousSubmitStartedAt: row.submitStartedAt.toISOString() },
      },
    );
  }
  const [marked] = await db
    .update(generations)
    .set({ submitStartedAt: new Date(), attempts: sql`${generations.attempts} + 1` })
    .where(and(eq(generations.id, row.id), eq(generations.leaseOwner, deps.workerId), isNull(generations.requestId)))
    .returning();
  if (!marked || marked.status !== 'QUEUED') return null;

  // Dangerous region: from the request going out until the commit below, Segmind may hold a billed job
  // that only this process knows about. Nothing in here may be interrupted.
  let requestId: string;
  try {
    ({ requestId } = await deps.segmind.submit(toVeoInput(marked)));
  } catch (error) {
    const decision = decide(error, 'submit', marked.attempts, deps.backoff);
    log.warn('submit failed', { err: error, attempt: marked.attempts, decision: decision.action });
    if (decision.action === 'fail') {
      await fail(decision);
      return null;
    }
    const nextAttemptAt = new Date(Date.now() + decision.delayMs);
    await update(
      { runAfter: nextAttemptAt, submitStartedAt: null, leaseOwner: null, leaseExpiresAt: null },
      {
        type: 'retry_scheduled',
        message: `Submission attempt ${marked.attempts} failed (${decision.reason}); next attempt at ${nextAttemptAt.toISOString()}.`,
        data: { attempt: marked.attempts, reason: decision.reason, nextAttemptAt: nextAttemptAt.toISOString() },
      },
    );
    return null;
  }
  const submittedAt = new Date();
  const committed = await transition(db, row.id, {
    from: ['QUEUED'],
    set: { status: 'SUBMITTED', requestId, submittedAt, submitStartedAt: null, progress: progressAt('SUBMITTED') },
    event: { type: 'submitted', message: 'Sent to Segmind.', data: { attempt: marked.attempts } },
  });
  if (committed) return committed;
  // Canceled while Segmind was accepting: keep the request id anyway, so the charge can be traced.
  await db
    .update(generations)
    .set({ requestId, submittedAt, submitStartedAt: null })
    .where(and(eq(generations.id, row.id), isNull(generations.requestId)));
  log.warn('generation was canceled while Segmind accepted it', { requestId });
  return null;
  // End of the dangerous region.
}

/** A progress tick while PROCESSING, written only when the bar moves visibly. */
async function reportProgress(row: GenerationRow, deps: RunnerDeps, update: Update): Promise<void> {
  const elapsed = Date.now() - (row.submittedAt?.getTime() ?? Date.now());
  const estimate = estimateProgress(elapsed, deps.expectedJobMs);
  if (row.status === 'SUBMITTED') {
    await update({ status: 'PROCESSING', ...estimate }, { type: 'processing', message: 'Segmind is generating the video.' });
  } else if (estimate.progress - row.progress >= MIN_PROGRESS_STEP || estimate.etaSeconds < (row.etaSeconds ?? 0) - 1) {
    await update(estimate);
  }
}

async function store(
  row: GenerationRow,
  url: string,
  contentType: string,
  deps: RunnerDeps,
  signal: AbortSignal,
  log: Logger,
  update: Update,
  fail: Fail,
  pause: (ms: number) => Promise<void>,
): Promise<void> {
  const key = `${row.id}.mp4`;
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      const response = await (deps.download ?? fetch)(url, { signal });
      if (!response.ok || !response.body) throw new Error(`download answered HTTP ${response.status}`);
      const { sizeBytes } = await deps.storage.save(key, Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), {
        maxBytes: deps.maxVideoBytes,
      });
      await update(
        {
          status: 'SUCCEEDED',
          videoKey: key,
          videoSizeBytes: sizeBytes,
          videoContentType: contentType,
          progress: 1,
          etaSeconds: 0,
          completedAt: new Date(),
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        { type: 'succeeded', message: 'The video is ready.' },
      );
      return;
    } catch (error) {
      if (error instanceof Stopped || signal.aborted) throw new Stopped();
      const decision = decide(error, 'download', tryNumber, deps.backoff);
      log.warn('video download failed', { err: error, tries: tryNumber, decision: decision.action });
      if (decision.action === 'fail') {
        await fail({ ...decision, message: 'The finished video could not be copied into storage.' });
        return;
      }
      await pause(decision.delayMs);
    }
  }
}
