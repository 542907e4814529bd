import { readFile } from 'node:fs/promises';

/** The simulator's 2-second sample clip (about 50 KB), the result of every simulated job. */
export const readSampleVideo = () => readFile(new URL('../../src/segmind/simulator/assets/sample.mp4', import.meta.url));

/**
 * The sample padded to `totalBytes` with a trailing `free` box: still a valid, playable MP4 (players and the
 * probe skip free boxes), as large as a test needs.
 */
export function paddedVideo(sample: Buffer, totalBytes: number): Buffer {
  const padding = totalBytes - sample.length;
  if (padding < 8) throw new Error(`a padded video must be at least ${sample.length + 8} bytes`);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(padding, 0);
  header.write('free', 4, 'latin1');
  return Buffer.concat([sample, header, Buffer.alloc(padding - 8, 0x2e)]);
}
