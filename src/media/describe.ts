import type { Logger } from '../logger.js';
import { verifyStoredVideo, type VerifiedVideo } from '../storage/probe.js';
import type { VideoStorage } from '../storage/video-storage.js';
import type { FfmpegOptions } from './ffmpeg.js';
import { extractStills, StillsError } from './stills.js';

/** What is known of a stored video once it is probed and its stills are made: the media columns of its row. */
export interface StoredVideoFacts {
  video: VerifiedVideo;
  /** Null when extraction failed; `stillsError` then says why. */
  posterKey: string | null;
  lastFrameKey: string | null;
  stillsError: string | null;
}

export interface DescribeOptions {
  ffmpeg: FfmpegOptions;
  maxVideoBytes: number;
  log: Logger;
  /** The probe's result when the caller has just verified the file; probed here otherwise. */
  verified?: VerifiedVideo;
  signal?: AbortSignal;
}

/**
 * Probes the stored video `key` (unless `verified` is given) and extracts its poster and last frame, once. A
 * video that is not a playable MP4 throws InvalidVideoError; stills that cannot be made do not throw: the facts
 * come back with null still keys and `stillsError` in words for a client, since the video itself is fine.
 * Aborting `signal` rejects with its reason.
 */
export async function describeStoredVideo(storage: VideoStorage, key: string, options: DescribeOptions): Promise<StoredVideoFacts> {
  const video = options.verified ?? (await verifyStoredVideo(storage, key));
  try {
    const stills = await extractStills(storage, key, {
      ffmpeg: options.ffmpeg,
      durationSeconds: video.durationSeconds,
      maxVideoBytes: options.maxVideoBytes,
      signal: options.signal,
    });
    return { video, ...stills, stillsError: null };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    // Whatever went wrong (even a full temporary disk), the video is stored and verified: it still succeeds.
    const reason = error instanceof StillsError ? error.reason : 'an unexpected error stopped the extraction';
    options.log.warn('could not extract the poster and last frame', { err: error, key });
    return {
      video,
      posterKey: null,
      lastFrameKey: null,
      stillsError: `The poster and last frame could not be made: ${reason}. The video itself is complete and playable.`,
    };
  }
}
