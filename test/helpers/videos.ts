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

/** The bytes the simulator serves as the result of its job `requestId`: the clip rendered for that job. */
export async function fetchSimulatedVideo(simulatorUrl: string, requestId: string): Promise<Buffer> {
  const response = await fetch(`${simulatorUrl}/files/${requestId}.mp4`);
  if (!response.ok) throw new Error(`the simulator answered ${response.status} for the video of ${requestId}`);
  return Buffer.from(await response.arrayBuffer());
}
