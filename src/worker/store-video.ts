import { timeoutFailure, capitalized } from '../generations/charges.js';
import { VideoTooLargeError } from '../storage/video-storage.js';
import { InvalidVideoError, type VerifiedVideo } from '../storage/probe.js';
import { storeResult, UnsafeDownloadError } from '../storage/safe-download.js';
import { Stopped, type GenerationRun } from './generation-run.js';
import { decide } from './retry-policy.js';
import { EventType } from '../contract/tables.js';
import { GenerationErrorCode } from '../generations/errors.js';
import { describeStoredVideo, type StoredVideoFacts } from '../media/describe.js';
import { videoDifference } from '../media/asked-video.js';
import { ffmpegPath } from '../media/ffmpeg.js';
import { DEFAULTS } from '../config/defaults.js';

const COPY_FAILED = 'The finished video could not be copied into storage.';

/**
 * Streams the video into storage and verifies it, retrying: Segmind keeps the file for days, long after the
 * job record. The generation's deadline and a cancel stop it mid-download, and the download's own timeouts
 * keep a silent server from holding this worker's slot. The stored file is then probed and its poster and last
 * frame extracted (a failure there is recorded, not fatal); the generation succeeds with all of it at once.
 */
export async function storeVideo(run: GenerationRun, url: string): Promise<void> {
  const { storage } = run.deps;
  const key = `${run.row.id}.mp4`;
  // A worker killed mid-download left its temporary file (or pending multipart upload) behind; this download
  // replaces it. Best effort: storage that is down now fails the download below, under the retry policy, and
  // retention sweeps what is left.
  await storage.removePartials(key).catch((error: unknown) => run.log.warn('could not remove partial saves', { err: error }));
  let stored: { sizeBytes: number; video: VerifiedVideo } | undefined;
  for (let tryNumber = 1; stored === undefined; tryNumber++) {
    if (run.pastDeadline()) return void (await run.fail(timeoutFailure(run.row, run.upstream)));
    try {
      stored = await storeResult({
        url,
        key,
        storage,
        policy: run.deps.downloadPolicy,
        fetch: run.deps.download ?? fetch,
        maxBytes: run.deps.maxVideoBytes,
        signal: AbortSignal.any([run.signal, AbortSignal.timeout(run.msUntilDeadline())]),
      });
    } catch (error) {
      if (run.signal.aborted) throw new Stopped();
      if (run.pastDeadline()) return void (await run.fail(timeoutFailure(run.row, run.upstream)));
      if (error instanceof InvalidVideoError) {
        await storage.remove(key);
        run.log.error('the result is not a playable MP4 video', { err: error });
        const upstream = capitalized(run.upstream);
        await run.fail({
          code: GenerationErrorCode.INVALID_RESULT,
          retryable: true,
          message: `${upstream}'s result is not a playable MP4 video (${error.reason}), so it was not kept. ${upstream} may still bill the job; ask for a new generation.`,
        });
        return;
      }
      if (error instanceof UnsafeDownloadError || error instanceof VideoTooLargeError) {
        run.log.error('refused the result download', { err: error });
        await run.fail({ code: GenerationErrorCode.STORAGE_FAILED, retryable: false, message: COPY_FAILED });
        return;
      }
      const decision = decide(error, 'download', tryNumber, run.deps.backoff);
      run.log.warn('video download failed', { err: error, tries: tryNumber, decision: decision.action });
      if (decision.action === 'fail') {
        await run.fail({ ...decision, message: COPY_FAILED });
        return;
      }
      await run.pause(Math.min(decision.delayMs, run.msUntilDeadline()));
    }
  }
  const { sizeBytes, video } = stored;
  // Probed facts and stills before SUCCEEDED, so a client never sees a finished video without them.
  let facts: StoredVideoFacts;
  try {
    facts = await describeStoredVideo(storage, key, {
      verified: video,
      ffmpeg: run.deps.ffmpeg ?? { path: ffmpegPath(undefined), timeoutMs: DEFAULTS.media.ffmpegTimeoutMs.default },
      maxVideoBytes: run.deps.maxVideoBytes,
      log: run.log,
      signal: run.signal,
    });
  } catch (error) {
    if (run.signal.aborted) throw new Stopped();
    throw error;
  }
  // The file is stored: a database hiccup now must not turn it into a failed download.
  const difference = videoDifference(run.row, video);
  if (difference) {
    run.log.warn('the video is not what was asked', difference.data);
    await run.withDatabaseRetry(() => run.update({}, { type: EventType.VideoDiffers, message: difference.message, data: difference.data }));
  }
  if (facts.stillsError) {
    const message = facts.stillsError;
    await run.withDatabaseRetry(() => run.update({}, { type: EventType.StillsFailed, message }));
  }
  await run.withDatabaseRetry(() =>
    run.update(
      {
        status: 'SUCCEEDED',
        videoKey: key,
        videoSizeBytes: sizeBytes,
        videoContentType: video.contentType,
        videoDurationSeconds: video.durationSeconds,
        videoWidth: video.width,
        videoHeight: video.height,
        videoHasAudio: video.hasAudio,
        posterKey: facts.posterKey,
        lastFrameKey: facts.lastFrameKey,
        stillsError: facts.stillsError,
        progress: 1,
        etaSeconds: 0,
        completedAt: new Date(),
        leaseOwner: null,
        leaseExpiresAt: null,
      },
      { type: EventType.Succeeded, message: 'The video is ready.' },
    ),
  );
}
