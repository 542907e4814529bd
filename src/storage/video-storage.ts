import { Transform, type Readable } from 'node:stream';

/** Which driver keeps the videos: a local directory (the embedded default) or an S3-compatible bucket. */
export type StorageDriverName = 'local' | 's3';

/**
 * Stored videos, one object per key. Two drivers implement it: local.ts (a directory) and s3.ts (a bucket);
 * the worker, the probe, retention and the video route see only this.
 */
export interface VideoStorage {
  readonly driver: StorageDriverName;
  /**
   * Streams `body` into the object for `key` (never buffering it whole) and returns its size. Nothing is visible
   * under `key` until the whole body is stored. Rejects when the body exceeds `maxBytes`, or when `signal` aborts
   * (then no partial object or pending upload is left behind).
   */
  save(key: string, body: Readable, options?: { maxBytes?: number; signal?: AbortSignal }): Promise<{ sizeBytes: number }>;
  /** Size of the stored object, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** A read stream over bytes `start`..`end` inclusive. */
  read(key: string, range?: { start: number; end: number }): Readable;
  remove(key: string): Promise<void>;
  /** Deletes what earlier saves of `key` left behind (a process killed mid-download). */
  removePartials(key: string): Promise<void>;
  /** Deletes every partial save last written before `olderThan`; returns how many. */
  sweepPartials(olderThan: Date): Promise<number>;
  /** A URL the object can be fetched from directly, valid for `expiresInSeconds`; only drivers that have one. */
  presignedUrl?(key: string, expiresInSeconds: number): Promise<string>;
  /**
   * Start-up check that the storage is there and writable; returns a line describing it for the log. Throws
   * {@link StorageCheckError} saying what to fix.
   */
  check(): Promise<string>;
}

/** The type a stored object is served with, from its key: videos and their JPEG stills share the storage. */
export const contentTypeOfKey = (key: string): 'image/jpeg' | 'video/mp4' => (key.endsWith('.jpg') ? 'image/jpeg' : 'video/mp4');

export class VideoTooLargeError extends Error {
  override name = 'VideoTooLargeError';
}

/** The storage is not usable at start-up; the message names the setting to fix. */
export class StorageCheckError extends Error {
  override name = 'StorageCheckError';
}

/** Passes bytes through, counting them, and errors with {@link VideoTooLargeError} past `maxBytes`. */
export function byteCounter(maxBytes: number): Transform & { readonly bytes: number } {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) callback(new VideoTooLargeError(`video is larger than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  return Object.defineProperty(counter, 'bytes', { get: () => bytes }) as Transform & { readonly bytes: number };
}
