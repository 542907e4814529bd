/**
 * How long stitching a story takes: three 8 s 1080p shots (24 fps, H.264 High at 8 Mb/s, AAC stereo, as Veo's
 * clips are, with a keyframe every 2 s) joined by copying, five times, then once re-encoded (the third shot at 720p
 * forces it).
 * `npx tsx bench/stitch.ts`; prints the figures and the load average.
 *
 * It also times what probing and the stills add between Segmind's completion and SUCCEEDED for one such shot: the
 * probe of the stored file, then the poster and the last frame (describeStoredVideo, as the worker runs it).
 *
 * On the 2 shared cores at load 80–240 (2026-12-02): copy median 116 ms (93–345 ms over two runs) for 24 s of film
 * (9.5 MB); re-encode 21.8–25.6 s. On 2 cores at load 3.6–4.9 (2026-12-03): copy median 134 ms (9.6 MB);
 * re-encode 14.7–14.9 s; probe and stills of one 8.2 MB shot median 789 ms (774–854 ms), and 1,613 ms when the
 * shot has a single keyframe (x264's default group of 250 frames), since the last frame then needs the whole clip
 * decoded.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ffmpegPath, runFfmpeg } from '../src/media/ffmpeg.js';
import { describeStoredVideo } from '../src/media/describe.js';
import { stitchClips } from '../src/media/stitch.js';
import { createLogger } from '../src/logger.js';
import { createLocalStorage } from '../src/storage/local.js';

const ffmpeg = { path: ffmpegPath(process.env.FFMPEG_PATH), timeoutMs: 600_000 };
const COPY_RUNS = 5;
const DESCRIBE_RUNS = 5;

/** A moving test pattern (so the file has a realistic size) with a tone. */
async function shot(file: string, pattern: string, size: string): Promise<string> {
  await runFfmpeg(ffmpeg, [
    ...['-f', 'lavfi', '-i', `${pattern}=s=${size}:r=24:d=8`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=8'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-b:v', '8M', '-g', '48', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2'],
    ...['-shortest', '-y', file],
  ]);
  return file;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-stitch-'));
try {
  const shots = await Promise.all(
    ['testsrc2', 'testsrc', 'smptehdbars'].map((pattern, i) => shot(path.join(dir, `shot${i}.mp4`), pattern, '1920x1080')),
  );
  const copies: number[] = [];
  let filmBytes = 0;
  for (let run = 0; run < COPY_RUNS; run++) {
    const out = path.join(dir, `film${run}.mp4`);
    const result = await stitchClips(shots, out, { ffmpegPath: ffmpeg.path, timeoutMs: ffmpeg.timeoutMs });
    if (result.reencoded) throw new Error('the same-parameter shots were re-encoded');
    copies.push(result.ms);
    filmBytes = (await stat(out)).size;
  }
  const storage = await createLocalStorage(path.join(dir, 'videos'));
  const describes: number[] = [];
  for (let run = 0; run < DESCRIBE_RUNS; run++) {
    const key = `shot-${run}.mp4`;
    await storage.save(key, createReadStream(shots[0]!));
    const started = performance.now();
    const facts = await describeStoredVideo(storage, key, { ffmpeg, maxVideoBytes: 512 * 1024 * 1024, log: createLogger('silent', process.stdout) });
    describes.push(Math.round(performance.now() - started));
    if (facts.stillsError) throw new Error(facts.stillsError);
  }
  describes.sort((a, b) => a - b);
  const shotBytes = (await stat(shots[0]!)).size;
  const small = await shot(path.join(dir, 'shot720.mp4'), 'testsrc2', '1280x720');
  const reencode = await stitchClips([shots[0]!, shots[1]!, small], path.join(dir, 'reencoded.mp4'), {
    ffmpegPath: ffmpeg.path,
    timeoutMs: ffmpeg.timeoutMs,
  });
  copies.sort((a, b) => a - b);
  console.log(`three 8 s 1080p shots, copied: median ${copies[Math.floor(COPY_RUNS / 2)]} ms (${copies.join(', ')} ms), film ${(filmBytes / 1e6).toFixed(1)} MB`);
  console.log(`re-encoded (third shot 720p): ${reencode.ms} ms`);
  console.log(
    `probe, poster and last frame of one 8 s 1080p shot (${(shotBytes / 1e6).toFixed(1)} MB): median ` +
      `${describes[Math.floor(DESCRIBE_RUNS / 2)]} ms (${describes.join(', ')} ms)`,
  );
  console.log(`load average: ${os.loadavg().map((n) => n.toFixed(1)).join(' / ')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
