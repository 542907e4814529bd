import {
  priceUsd,
  unusableResultFailure,
  upstreamFailure,
  timeoutFailure,
  capitalized,
  checkReportedCost,
  upstreamSecondsOrOwn,
} from '../generations/charges.js';
import { SegmindError } from '../segmind/errors.js';
import type { ResultAnswer } from '../segmind/types.js';
import { estimateProgress, progressAt, nextPollDelay } from './job-timing.js';
import { Stopped, type GenerationRun } from './generation-run.js';
import { decide } from './retry-policy.js';
import { EventType } from '../contract/tables.js';

/**
 * Progress ticks are written when the bar moves by this much, and at most every progress interval
 * (config.worker.progressIntervalMs), so a busy worker does not flood Postgres and subscribers with
 * NOTIFY traffic. Between status requests they are written on this schedule from the estimate.
 */
const MIN_PROGRESS_STEP = 0.01;

/** Result answers without a usable video that a COMPLETED job gets before it is given up. */
const MAX_UNUSABLE_RESULTS = 5;

/** How often progress moves between polls: a share of the expected job, within the configured bounds. */
function progressIntervalMs(run: GenerationRun, expectedMs: number): number {
  const { minMs, maxMs, perJob } = run.deps.progressInterval;
  return Math.min(maxMs, Math.max(minMs, expectedMs / perJob));
}

/** Polls Segmind until the job completes; null when it ended otherwise (failed, expired, timed out). */
export async function pollUntilDone(run: GenerationRun): Promise<{ url: string; contentType: string } | null> {
  const { segmind, pollMinMs, pollMaxMs } = run.deps;
  const segmindRequestId = run.row.segmindRequestId!;
  const { expectedMs, window } = await run.deps.jobTimes(run.row);
  const submittedAt = run.row.submittedAt?.getTime() ?? Date.now();
  let pollFailures = 0;
  let unusableResults = 0;
  for (;;) {
    const elapsed = Date.now() - submittedAt;
    await waitTicking(run, nextPollDelay(elapsed, { minMs: pollMinMs, maxMs: pollMaxMs, expectedMs, window }), submittedAt, expectedMs);
    if (run.pastDeadline()) {
      await run.fail(timeoutFailure(run.row, run.upstream));
      return null;
    }
    try {
      const answer = await segmind.status(segmindRequestId);
      pollFailures = 0;
      if (answer.status === 'FAILED') {
        await run.fail(upstreamFailure(run.upstream, answer.error));
        return null;
      }
      if (answer.status === 'COMPLETED') {
        const result = await segmind.result(segmindRequestId).catch((error: unknown) => {
          // Answered, but with no usable video: counted apart from poll failures (which a good status resets),
          // so a result that never names one ends the generation instead of holding a worker to its deadline.
          if (error instanceof SegmindError && error.answeredWith2xx) unusableResults++;
          throw error;
        });
        const cost = await believedCost(run, result);
        await run.update(
          {
            status: 'STORING',
            outputUrl: result.outputUrl,
            progress: progressAt('STORING'),
            etaSeconds: 1,
            upstreamSeconds: upstreamSecondsOrOwn(result.totalSeconds, (Date.now() - submittedAt) / 1000),
            ...(cost !== undefined && { costUsd: cost.toFixed(4), costFinal: true }),
          },
          { type: EventType.Storing, message: `${capitalized(run.upstream)} finished; copying the video into storage.` },
        );
        return { url: result.outputUrl, contentType: result.contentType };
      }
      if (answer.status === 'PROCESSING') await reportProgress(run, Date.now() - submittedAt, expectedMs, 'PROCESSING');
    } catch (error) {
      if (error instanceof Stopped) throw error;
      if (unusableResults >= MAX_UNUSABLE_RESULTS) {
        run.log.error('Segmind completed the job but its result names no usable video', { err: error, tries: unusableResults });
        await run.fail(unusableResultFailure(MAX_UNUSABLE_RESULTS));
        return null;
      }
      const decision = decide(error, 'poll', ++pollFailures, run.deps.backoff);
      run.log.warn('status poll failed', { err: error, tries: pollFailures, decision: decision.action });
      if (decision.action === 'fail') {
        await run.fail(decision);
        return null;
      }
      await run.pause(Math.min(pollMaxMs, decision.delayMs));
    }
  }
}

/**
 * The charge Segmind reported, when it can be this job's: a figure outside 0 to 10 × the list price is
 * logged, told on the timeline and ignored, so the estimate stays and no budget moves by it.
 */
async function believedCost(run: GenerationRun, result: ResultAnswer): Promise<number | undefined> {
  if (result.cost === undefined) return undefined;
  const listPriceUsd = priceUsd(run.row);
  const check = checkReportedCost(result.cost, listPriceUsd);
  if (check.believed) return check.usd;
  run.log.warn('ignored the charge Segmind reported', { reportedUsd: result.cost, listPriceUsd, reason: check.reason });
  await run.update(
    {},
    {
      type: EventType.CostIgnored,
      message: `${capitalized(run.upstream)} reported a charge of $${result.cost}, ${check.reason}; the estimate of $${Number(run.row.costUsd).toFixed(2)} is kept.`,
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
async function waitTicking(run: GenerationRun, ms: number, submittedAt: number, expectedMs: number): Promise<void> {
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    await run.pause(Math.min(progressIntervalMs(run, expectedMs), left));
    if (until - Date.now() > 0) await reportProgress(run, Date.now() - submittedAt, expectedMs);
  }
}

/**
 * A progress tick from the estimate, written only when the bar moves visibly, and not too often. `upstream`
 * is the status the upstream just answered: only an answer moves SUBMITTED to PROCESSING, while ticks between
 * answers keep the status. Progress never falls and the ETA never rises: the estimate may change under us
 * (a job that finished meanwhile changes the expected length).
 */
async function reportProgress(run: GenerationRun, elapsedMs: number, expectedMs: number, upstream?: 'PROCESSING'): Promise<void> {
  const estimate = estimateProgress(elapsedMs, expectedMs);
  const forward = {
    progress: Math.max(estimate.progress, run.row.progress),
    etaSeconds: Math.min(estimate.etaSeconds, run.row.etaSeconds ?? estimate.etaSeconds),
  };
  if (upstream === 'PROCESSING' && run.row.status === 'SUBMITTED') {
    const message = `${capitalized(run.upstream)} is generating the video.`;
    await run.update({ status: 'PROCESSING', ...forward }, { type: EventType.Processing, message });
    run.lastTickAt = Date.now();
    return;
  }
  const moved = forward.progress - run.row.progress >= MIN_PROGRESS_STEP;
  if (!moved || Date.now() - run.lastTickAt < progressIntervalMs(run, expectedMs)) return;
  await run.update(forward);
  run.lastTickAt = Date.now();
}
