import { eq, sql } from 'drizzle-orm';
import { getGeneration } from '../db/generations.js';
import { generations, type GenerationRow } from '../db/schema.js';
import { timeoutFailure } from '../generations/charges.js';
import { hasUsableLastFrame } from '../generations/continue-from.js';
import { GenerationErrorCode, InputError } from '../generations/errors.js';
import { frameToDataUrl, MAX_UPLOAD_BYTES } from '../generations/frames.js';
import { byteCounter } from '../storage/video-storage.js';
import { EventType } from '../contract/tables.js';
import { Stopped, type GenerationRun } from './generation-run.js';
import { decide } from './retry-policy.js';

/**
 * The upload phase of a continuation (continueFrom, or a story's next shot): before the submit, the last frame
 * of the generation it continues goes to Segmind's asset storage, and that URL becomes this generation's
 * `image`. The source keeps the URL (`lastFrameAssetUrl`), so every later continuation of it reuses the one
 * upload.
 *
 * Crash-safe by order: the URL is committed on the source, then on this row; the submit reads `image` from the
 * row as committed. A worker killed mid-upload leaves nothing, and the next one uploads again (uploads are not
 * billed); killed after the source's commit, the next one reuses the URL. Two continuations of one source
 * uploading at the same moment may both upload, and then both use the URL committed first.
 */

/** Whether a generation still needs its first frame from the generation it continues. */
export const needsContinueFrame = (row: GenerationRow): boolean =>
  row.continueFromId !== null && row.image === null && row.segmindRequestId === null;

/** The source's frame is gone: nothing was sent to Segmind, so nothing is charged. */
const unavailable = (sourceId: string, why: string) => ({
  code: GenerationErrorCode.CONTINUE_FROM_UNAVAILABLE,
  retryable: false,
  message: `The last frame of generation "${sourceId}", which this one continues, ${why}. Nothing is charged; ask again with the first frame as image or imageFile.`,
});

/**
 * Gives the generation its first frame; true when it is ready to submit, false when it failed (deadline,
 * source frame gone, upload retries exhausted). Throws {@link Stopped} when the row is no longer ours.
 */
export async function uploadContinueFrame(run: GenerationRun): Promise<boolean> {
  const sourceId = run.row.continueFromId!;
  const source = await getGeneration(run.deps.db, sourceId);
  if (!source || !hasUsableLastFrame(source)) {
    await run.fail(unavailable(sourceId, source ? 'is no longer stored (its video expired or its stills are missing)' : 'no longer exists'));
    return false;
  }
  let url = source.lastFrameAssetUrl;
  const reused = url !== null;
  if (url === null) {
    const dataUrl = await readLastFrame(run, source);
    if (dataUrl === null) return false;
    const uploaded = await uploadWithRetries(run, dataUrl);
    if (uploaded === null) return false;
    url = await keepOnSource(run, sourceId, uploaded);
  }
  await run.update(
    { image: url },
    {
      type: EventType.ContinueFrameUploaded,
      message: reused
        ? `The first frame is the last frame of generation ${sourceId}, already at ${run.upstream}'s asset storage.`
        : `The last frame of generation ${sourceId} is stored at ${run.upstream}'s asset storage as the first frame.`,
      data: { continueFromId: sourceId, reused },
    },
  );
  return true;
}

/** The source's last frame as a data URL, read from storage within the frame cap; null when the generation failed. */
async function readLastFrame(run: GenerationRun, source: GenerationRow): Promise<string | null> {
  const key = source.lastFrameKey!;
  const { storage } = run.deps;
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      const size = await storage.size(key);
      if (size === null) {
        await run.fail(unavailable(source.id, 'is no longer in storage'));
        return null;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of storage.read(key).pipe(byteCounter(MAX_UPLOAD_BYTES)) as AsyncIterable<Buffer>) chunks.push(chunk);
      return await frameToDataUrl('continueFrom', new File([Buffer.concat(chunks)], 'last-frame'));
    } catch (error) {
      if (error instanceof InputError) {
        // Our own extraction wrote it, so this is not the client's fault: the frame is unusable.
        run.log.error('the stored last frame is not an image Segmind accepts', { err: error, key });
        await run.fail(unavailable(source.id, `is not usable (${error.message})`));
        return null;
      }
      const decision = decide(error, 'download', tryNumber, run.deps.backoff);
      run.log.warn('reading the last frame to continue from failed', { err: error, tries: tryNumber, decision: decision.action });
      if (decision.action === 'fail') {
        await run.fail({ ...decision, code: GenerationErrorCode.STORAGE_FAILED, message: 'The last frame to continue from could not be read from storage; nothing is charged.' });
        return null;
      }
      if (!(await waitOrTimeOut(run, decision.delayMs))) return null;
    }
  }
}

/** One upload, retried by the policy's 'upload' rules; the hosted URL, or null when the generation failed. */
async function uploadWithRetries(run: GenerationRun, dataUrl: string): Promise<string | null> {
  for (let tryNumber = 1; ; tryNumber++) {
    if (run.pastDeadline()) {
      await run.fail(timeoutFailure(run.row, run.upstream));
      return null;
    }
    try {
      const [url] = await run.deps.segmind.upload([dataUrl]);
      if (url) return url;
      throw new Error('the upload answered no URL');
    } catch (error) {
      if (run.signal.aborted) throw new Stopped();
      const decision = decide(error, 'upload', tryNumber, run.deps.backoff);
      run.log.warn('uploading the frame to continue from failed', { err: error, tries: tryNumber, decision: decision.action });
      if (decision.action === 'fail') {
        // An upload is not a job: whatever the answer, nothing was billed.
        await run.fail({
          code: decision.code,
          retryable: decision.retryable,
          message: `The first frame (the last frame of the generation this one continues) could not be uploaded to ${run.upstream}: ${decision.message} Nothing is charged.`,
        });
        return null;
      }
      if (!(await waitOrTimeOut(run, decision.delayMs))) return null;
    }
  }
}

/** Waits before another try; false (after failing it with TIMEOUT) when the deadline comes first. */
async function waitOrTimeOut(run: GenerationRun, delayMs: number): Promise<boolean> {
  if (run.msUntilDeadline() <= delayMs) {
    await run.fail(timeoutFailure(run.row, run.upstream));
    return false;
  }
  await run.pause(delayMs);
  return true;
}

/** Records the URL on the source unless another continuation did first; returns the URL every continuation uses. */
async function keepOnSource(run: GenerationRun, sourceId: string, url: string): Promise<string> {
  const [kept] = await run.withDatabaseRetry(() =>
    run.deps.db
      .update(generations)
      .set({ lastFrameAssetUrl: sql`coalesce(${generations.lastFrameAssetUrl}, ${url})` })
      .where(eq(generations.id, sourceId))
      .returning({ url: generations.lastFrameAssetUrl }),
  );
  return kept?.url ?? url;
}
