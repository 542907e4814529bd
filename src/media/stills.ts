import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { byteCounter, type VideoStorage } from '../storage/video-storage.js';
import { FfmpegError, runFfmpeg, type FfmpegOptions } from './ffmpeg.js';

/** The storage keys of a video's stills: next to the video, `<id>.poster.jpg` and `<id>.last.jpg`. */
export function stillKeys(videoKey: string): { posterKey: string; lastFrameKey: string } {
  const base = videoKey.replace(/\.mp4$/, '');
  return { posterKey: `${base}.poster.jpg`, lastFrameKey: `${base}.last.jpg` };
}

/** Largest still kept: a JPEG of a 1080p frame is a few hundred KB, so anything near this is not a frame. */
export const MAX_STILL_BYTES = 8 * 1024 * 1024;

/** The stills could not be made; `reason` is in words for a client (no paths, no ffmpeg log). */
export class StillsError extends Error {
  override name = 'StillsError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

export interface ExtractStillsOptions {
  ffmpeg: FfmpegOptions;
  /** The video's length, from probing it: where the last frame is looked for. */
  durationSeconds: number;
  /** Largest video copied out of storage; the stored one is already within it. */
  maxVideoBytes: number;
  signal?: AbortSignal;
}

/**
 * Extracts the first and the last frame of the stored video `videoKey` as JPEGs and saves them next to it (see
 * {@link stillKeys}). ffmpeg needs a seekable file, so the video is copied from storage (local or a bucket alike)
 * to a temporary directory, which is always removed. Throws {@link StillsError} when that fails; then neither
 * still is left in storage.
 */
export async function extractStills(
  storage: VideoStorage,
  videoKey: string,
  options: ExtractStillsOptions,
): Promise<{ posterKey: string; lastFrameKey: string }> {
  const keys = stillKeys(videoKey);
  const directory = await mkdtemp(path.join(os.tmpdir(), 'reelql-stills-'));
  try {
    const video = path.join(directory, 'video.mp4');
    const poster = path.join(directory, 'poster.jpg');
    const last = path.join(directory, 'last.jpg');
    try {
      await pipeline(storage.read(videoKey), byteCounter(options.maxVideoBytes), createWriteStream(video), { signal: options.signal });
    } catch (error) {
      throw new StillsError('the stored video could not be read back from storage', { cause: error });
    }
    // The last frame: decode from a second before the end and keep overwriting one image, so the last decoded
    // frame is what remains, whatever the frame rate. One ffmpeg run makes both stills.
    const lastFrom = Math.max(0, options.durationSeconds - 1).toFixed(3);
    try {
      await runFfmpeg(
        options.ffmpeg,
        [
          '-i', video,
          '-ss', lastFrom, '-i', video,
          '-map', '0:v:0', '-frames:v', '1', '-q:v', '3', '-y', poster,
          '-map', '1:v:0', '-update', '1', '-q:v', '3', '-y', last,
        ],
        options.signal,
      );
    } catch (error) {
      const reason = error instanceof FfmpegError && /did not finish within/.test(error.reason)
        ? 'extracting them took too long'
        : 'the frame extractor (ffmpeg) failed on this video';
      throw new StillsError(reason, { cause: error });
    }
    for (const file of [poster, last]) {
      const size = await stat(file).then((s) => s.size, () => 0);
      if (size === 0) throw new StillsError('the frame extractor (ffmpeg) produced no image');
      if (size > MAX_STILL_BYTES) throw new StillsError(`an extracted frame was larger than ${MAX_STILL_BYTES} bytes`);
    }
    try {
      await storage.save(keys.posterKey, createReadStream(poster), { maxBytes: MAX_STILL_BYTES, signal: options.signal });
      await storage.save(keys.lastFrameKey, createReadStream(last), { maxBytes: MAX_STILL_BYTES, signal: options.signal });
    } catch (error) {
      await removeStills(storage, keys).catch(() => undefined);
      throw new StillsError('the extracted frames could not be saved to storage', { cause: error });
    }
    return keys;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Deletes a video's stills (those that exist). */
export async function removeStills(storage: VideoStorage, keys: { posterKey: string | null; lastFrameKey: string | null }): Promise<void> {
  for (const key of [keys.posterKey, keys.lastFrameKey]) if (key) await storage.remove(key);
}
