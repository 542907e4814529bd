import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Stored videos, one file per key in a local directory. */
export interface VideoStorage {
  /**
   * Streams `body` into the file for `key` (never buffering it whole) and returns its size. Writes to a
   * temporary file first, so a reader never sees half a video. Rejects when the body exceeds `maxBytes`.
   */
  save(key: string, body: Readable, options?: { maxBytes?: number }): Promise<{ sizeBytes: number }>;
  /** Size of the stored file, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** A read stream over bytes `start`..`end` inclusive. */
  read(key: string, range?: { start: number; end: number }): Readable;
  remove(key: string): Promise<void>;
  /** Deletes the temporary files earlier saves of `key` left behind (a process killed mid-download). */
  removePartials(key: string): Promise<void>;
  /** Deletes every temporary file last written before `olderThan`; returns how many. */
  sweepPartials(olderThan: Date): Promise<number>;
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** `<key>.<uuid>.part`, as {@link VideoStorage.save} names its temporary files. */
const PARTIAL = /^(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.part$/;

export class VideoTooLargeError extends Error {
  override name = 'VideoTooLargeError';
}

export async function createLocalStorage(directory: string): Promise<VideoStorage> {
  await fsp.mkdir(directory, { recursive: true });
  const fileFor = (key: string) => {
    // Keys come from our own ids, but a path must never escape the directory.
    if (!SAFE_KEY.test(key)) throw new Error(`invalid storage key "${key}"`);
    return path.join(directory, key);
  };
  return {
    async save(key, body, options = {}) {
      const target = fileFor(key);
      const temporary = `${target}.${randomUUID()}.part`;
      const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
      let sizeBytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sizeBytes += chunk.length;
          if (sizeBytes > maxBytes) callback(new VideoTooLargeError(`video is larger than ${maxBytes} bytes`));
          else callback(null, chunk);
        },
      });
      try {
        await pipeline(body, counter, fs.createWriteStream(temporary));
        await fsp.rename(temporary, target);
      } catch (error) {
        await fsp.rm(temporary, { force: true });
        throw error;
      }
      return { sizeBytes };
    },
    async size(key) {
      try {
        const stats = await fsp.stat(fileFor(key));
        return stats.isFile() ? stats.size : null;
      } catch {
        return null;
      }
    },
    read(key, range) {
      return fs.createReadStream(fileFor(key), range ? { start: range.start, end: range.end } : {});
    },
    async remove(key) {
      await fsp.rm(fileFor(key), { force: true });
    },
    async removePartials(key) {
      fileFor(key);
      const names = await fsp.readdir(directory);
      const own = names.filter((name) => PARTIAL.exec(name)?.[1] === key);
      await Promise.all(own.map((name) => fsp.rm(path.join(directory, name), { force: true })));
    },
    async sweepPartials(olderThan) {
      let removed = 0;
      for (const name of await fsp.readdir(directory)) {
        if (!PARTIAL.test(name)) continue;
        const file = path.join(directory, name);
        const stats = await fsp.stat(file).catch(() => null);
        if (!stats?.isFile() || stats.mtime >= olderThan) continue;
        await fsp.rm(file, { force: true });
        removed += 1;
      }
      return removed;
    },
  };
}
