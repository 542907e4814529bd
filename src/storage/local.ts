import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { byteCounter, StorageCheckError, type VideoStorage } from './video-storage.js';

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** `<key>.<uuid>.part`, as the local driver's `save` names its temporary files. */
const PARTIAL = /^(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.part$/;

/** The local driver: one file per key in `directory`, written to a temporary file first and renamed when whole. */
export async function createLocalStorage(directory: string): Promise<VideoStorage> {
  await fsp.mkdir(directory, { recursive: true });
  const fileFor = (key: string) => {
    // Keys come from our own ids, but a path must never escape the directory.
    if (!SAFE_KEY.test(key)) throw new Error(`invalid storage key "${key}"`);
    return path.join(directory, key);
  };
  return {
    driver: 'local',
    async save(key, body, options = {}) {
      const target = fileFor(key);
      const temporary = `${target}.${randomUUID()}.part`;
      const counter = byteCounter(options.maxBytes ?? Number.POSITIVE_INFINITY);
      try {
        await pipeline(body, counter, fs.createWriteStream(temporary), { signal: options.signal });
        await fsp.rename(temporary, target);
      } catch (error) {
        await fsp.rm(temporary, { force: true });
        throw error;
      }
      return { sizeBytes: counter.bytes };
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
    async check() {
      // Written to and removed at once: a read-only or full disk shows here rather than at the first video.
      const probe = path.join(directory, `.startup-check.${randomUUID()}`);
      try {
        await fsp.writeFile(probe, 'ok');
        await fsp.rm(probe);
      } catch (error) {
        throw new StorageCheckError(`the video directory ${directory} is not writable (${(error as Error).message}); fix its permissions or set DATA_DIR.`);
      }
      return `videos are stored in ${directory}`;
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
