import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FilePathSource, Input, MP4 } from 'mediabunny';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, runFfmpeg } from '../src/media/ffmpeg.js';
import { stitchClips, StitchError } from '../src/media/stitch.js';

const ffmpeg = ffmpegPath(undefined);

interface Clip {
  color: string;
  size?: string;
  seconds?: number;
  audio?: boolean;
}

/** What the stitched file holds, read from the file itself. */
async function probe(file: string) {
  const input = new Input({ formats: [MP4], source: new FilePathSource(file) });
  try {
    const video = (await input.getPrimaryVideoTrack())!;
    const audio = await input.getPrimaryAudioTrack();
    return {
      durationSeconds: await input.computeDuration(),
      videoSeconds: await video.computeDuration(),
      width: video.codedWidth,
      height: video.codedHeight,
      audioSeconds: audio ? await audio.computeDuration() : null,
    };
  } finally {
    input.dispose();
  }
}

describe('stitchClips', () => {
  let dir: string;
  const made: Record<string, string> = {};

  /** A clip made by ffmpeg: a color with a sine tone, H.264 and AAC, like a generated shot. */
  async function clip(name: string, { color, size = '320x180', seconds = 2, audio = true }: Clip): Promise<string> {
    const file = path.join(dir, `${name}.mp4`);
    await runFfmpeg({ path: ffmpeg, timeoutMs: 60_000 }, [
      ...['-f', 'lavfi', '-i', `color=c=${color}:s=${size}:r=24:d=${seconds}`],
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`] : []),
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...(audio ? ['-c:a', 'aac', '-ac', '2'] : []),
      ...['-shortest', '-y', file],
    ]);
    made[name] = file;
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'reelql-stitch-test-'));
    await Promise.all([
      clip('red', { color: 'red' }),
      clip('green', { color: 'green' }),
      clip('blue', { color: 'blue', seconds: 4 }),
      clip('wide', { color: 'white', size: '640x360' }),
      clip('silent', { color: 'black', audio: false }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('joins clips that share codec parameters by copying, and the durations add up with the audio kept', async () => {
    const out = path.join(dir, 'copied.mp4');
    const result = await stitchClips([made.red!, made.green!, made.blue!], out, { ffmpegPath: ffmpeg, timeoutMs: 60_000 });
    expect(result.reencoded).toBe(false);
    const film = await probe(out);
    // The picture runs without gaps at the joins; only the last clip's audio may end a frame (21 ms) later.
    expect(film.videoSeconds).toBeCloseTo(8, 1);
    expect(film.durationSeconds - 8).toBeLessThan(0.05);
    expect(film).toMatchObject({ width: 320, height: 180 });
    expect(film.audioSeconds).toBeGreaterThan(7.8);
  });

  it('re-encodes clips of different sizes to the first clip’s size, keeping every second and the audio', async () => {
    const out = path.join(dir, 'reencoded.mp4');
    const result = await stitchClips([made.red!, made.wide!], out, { ffmpegPath: ffmpeg, timeoutMs: 60_000 });
    expect(result.reencoded).toBe(true);
    const film = await probe(out);
    expect(film.durationSeconds).toBeCloseTo(4, 1);
    expect(film).toMatchObject({ width: 320, height: 180 });
    expect(film.audioSeconds).toBeGreaterThan(3.8);
  });

  it('gives a clip without audio silence of its own length when the others have sound', async () => {
    const out = path.join(dir, 'mixed-audio.mp4');
    const result = await stitchClips([made.silent!, made.red!], out, { ffmpegPath: ffmpeg, timeoutMs: 60_000 });
    expect(result.reencoded).toBe(true);
    const film = await probe(out);
    expect(film.durationSeconds).toBeCloseTo(4, 1);
    // The tone of the second clip starts after two seconds of silence, not at once.
    expect(film.audioSeconds).toBeCloseTo(4, 1);
  });

  it('refuses an input that is not an MP4 video, naming which, and leaves no output', async () => {
    const out = path.join(dir, 'never.mp4');
    const notVideo = path.join(dir, 'notes.mp4');
    await import('node:fs/promises').then((fs) => fs.writeFile(notVideo, 'not a video'));
    const attempt = stitchClips([made.red!, notVideo], out, { ffmpegPath: ffmpeg, timeoutMs: 60_000 });
    await expect(attempt).rejects.toThrow(StitchError);
    await expect(attempt).rejects.toThrow(/clip 2 is not a usable MP4 video/);
    expect(existsSync(out)).toBe(false);
  });

  it('kills ffmpeg when the time is up or the caller aborts, and leaves no partial file', async () => {
    const out = path.join(dir, 'killed.mp4');
    // A re-encode takes far longer than a millisecond.
    const late = stitchClips([made.red!, made.wide!, made.blue!], out, { ffmpegPath: ffmpeg, timeoutMs: 1 });
    await expect(late).rejects.toThrow(/did not finish within 1 ms/);
    const controller = new AbortController();
    const aborted = stitchClips([made.red!, made.wide!, made.blue!], out, { ffmpegPath: ffmpeg, timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(aborted).rejects.toThrow(StitchError);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });
});
