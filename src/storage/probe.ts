import { EncodedPacketSink, Input, MP4, StreamSource } from 'mediabunny';
import type { VideoStorage } from './video-storage.js';

/** The stored file is not a playable MP4. `reason` is in our words, fit for users; a parser's own is the cause. */
export class InvalidVideoError extends Error {
  override name = 'InvalidVideoError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the result is not a playable MP4 video: ${reason}`, options);
  }
}

/** Reading the stored file failed: a storage problem, not a verdict on the video. */
class StorageReadError extends Error {
  override name = 'StorageReadError';
}

/** What the check found in the file itself; the served type and these facts never come from upstream. */
export interface VerifiedVideo {
  contentType: 'video/mp4';
  /** Length of the video track. */
  durationSeconds: number;
  /** Display size: the coded size turned by the track's rotation, as a player shows it. */
  width: number;
  height: number;
  /** Whether the file has an audio track. */
  hasAudio: boolean;
}

/** Memory the parser may use for cached file ranges; it reads boxes and one frame, never the whole file. */
const MAX_CACHE_BYTES = 4 * 1024 * 1024;

async function readRange(storage: VideoStorage, key: string, start: number, end: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  try {
    // `end` is exclusive for the parser and inclusive for the storage.
    const range: AsyncIterable<Buffer> = storage.read(key, { start, end: end - 1 });
    for await (const chunk of range) chunks.push(chunk);
  } catch (error) {
    throw new StorageReadError(`could not read ${key}`, { cause: error });
  }
  return Buffer.concat(chunks);
}

/**
 * Checks that the stored `key` is an MP4 video: ISO base media with an `ftyp` of an MP4 brand, a `moov` with a
 * video track, a duration above zero, and the track's last frame present in the file (a cut-off download
 * fails here). Reads by ranges through `storage`, so a 200 MB file costs a few MB of memory. Throws
 * {@link InvalidVideoError} when the file is not such a video.
 */
export async function verifyStoredVideo(storage: VideoStorage, key: string): Promise<VerifiedVideo> {
  const size = await storage.size(key);
  if (!size) throw new InvalidVideoError('the file is empty');
  const input = new Input({
    formats: [MP4],
    source: new StreamSource({
      getSize: () => size,
      read: (start, end) => readRange(storage, key, start, end),
      maxCacheSize: MAX_CACHE_BYTES,
      prefetchProfile: 'fileSystem',
    }),
  });
  try {
    if (!(await input.canRead())) throw new InvalidVideoError('it is not an MP4 (ISO base media) file');
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new InvalidVideoError('it has no video track');
    const durationSeconds = (await input.getDurationFromMetadata([video])) ?? (await input.computeDuration([video]));
    if (!(durationSeconds > 0)) throw new InvalidVideoError('its video track has no duration');
    const lastFrame = await new EncodedPacketSink(video).getPacket(Number.POSITIVE_INFINITY);
    if (!lastFrame || lastFrame.byteLength === 0) throw new InvalidVideoError('its video data is incomplete');
    const width = video.displayWidth;
    const height = video.displayHeight;
    if (!(width > 0 && height > 0)) throw new InvalidVideoError('its video track has no frame size');
    const hasAudio = (await input.getPrimaryAudioTrack()) !== null;
    return { contentType: 'video/mp4', durationSeconds, width, height, hasAudio };
  } catch (error) {
    if (error instanceof InvalidVideoError || error instanceof StorageReadError) throw error;
    // The parser's own complaints (a malformed box, a bad sample table) are verdicts on the file.
    throw new InvalidVideoError('it could not be parsed as MP4', { cause: error });
  } finally {
    input.dispose();
  }
}
