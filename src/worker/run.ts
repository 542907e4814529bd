import { eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { apiKeys, type GenerationRow } from '../db/schema.js';
import { timeoutFailure } from '../generations/charges.js';
import { GenerationRun, Stopped, type RunnerDeps } from './generation-run.js';
import { pollUntilDone } from './poll.js';
import { storeVideo } from './store-video.js';
import { submitJob } from './submit.js';
import { needsContinueFrame, uploadContinueFrame } from './continue-frame.js';

export type { RunnerDeps };

/**
 * Drives one claimed generation as far as it can go: submit (unless Segmind already has it), poll until
 * Segmind finishes, copy the video into storage, succeed. Every step is a guarded transition, so a
 * generation canceled or taken over meanwhile simply stops here. Returns when the generation is final,
 * rescheduled, or `signal` asks to stop at the next safe point.
 */
export async function runGeneration(claimed: GenerationRow, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  const run = new GenerationRun(claimed, deps, signal);
  try {
    await drive(run);
  } catch (error) {
    if (error instanceof Stopped) {
      run.log.debug('stopped driving generation', { status: run.row.status });
      return;
    }
    throw error;
  }
}

/**
 * The state machine: a generation past its deadline fails; a continuation without its first frame gets it
 * uploaded (committed before any submit); one Segmind does not have yet is submitted; one already STORING (its
 * worker stopped mid-download) goes straight back to storing; the rest are polled.
 */
async function drive(run: GenerationRun): Promise<void> {
  if (run.pastDeadline()) return void (await run.fail(timeoutFailure(run.row, run.upstream)));
  if (needsContinueFrame(run.row) && !(await uploadContinueFrame(run))) return;
  if (!run.row.segmindRequestId && !(await submitJob(run))) return;
  const output =
    run.row.status === 'STORING' && run.row.outputUrl
      ? { url: run.row.outputUrl, contentType: run.row.videoContentType ?? 'video/mp4' }
      : await pollUntilDone(run);
  if (output) await storeVideo(run, output.url);
}

/** The shown prefix of the key that owns a generation, for log lines (never the key). */
export async function keyPrefixOf(db: Db, apiKeyId: string | null): Promise<string | null> {
  if (!apiKeyId) return null;
  const [key] = await db.select({ prefix: apiKeys.prefix }).from(apiKeys).where(eq(apiKeys.id, apiKeyId));
  return key?.prefix ?? null;
}
