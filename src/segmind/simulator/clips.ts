/**
 * The simulator's result videos: a clip rendered with ffmpeg for each job, of the asked length and size, with an
 * audio track when audio was asked for, in a colour and with a number chosen by the job's sequence number, so
 * shots stitched together are told apart frame by frame. A white bar slides in along the bottom over the clip,
 * so its first and last frames differ too. Clips are cached on disk (in the system's temporary directory), keyed
 * by everything they are made of, so each combination is encoded once per machine.
 */

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { askedSize } from '../../media/asked-video.js';
import { runFfmpeg, type FfmpegOptions } from '../../media/ffmpeg.js';

/** What a clip shows: the parts of a job's input that the file can show, and its place in submit order. */
export interface ClipSpec {
  /** 1 for the first job since start or reset. */
  sequence: number;
  durationSeconds: number;
  aspectRatio: string;
  resolution: string;
  withAudio: boolean;
}

/** Distinct, saturated background colours; the sequence number picks one. */
const COLOURS = ['0xc0392b', '0x2980b9', '0x27ae60', '0x8e44ad', '0xd35400', '0x16a085', '0x2c3e50', '0xb7950b'];
/**
 * Numbers drawn go 1 to 8 and start again, as the colours do: a story has at most 8 shots, so its consecutive
 * shots all differ, and the cache holds at most 8 clips per size, length and audio choice, each encoded once.
 */
const MAX_SHOWN_NUMBER = COLOURS.length;
/** Bump when the way clips are drawn changes, so stale cached files are not served. */
const CLIP_VERSION = 3;

/** The simulator stopped while the clip was being rendered; nothing is wrong with ffmpeg. */
export class ClipRenderStopped extends Error {
  override name = 'ClipRenderStopped';
}

export interface ClipRenderer {
  /** The clip's bytes, rendered on first use; rejects when ffmpeg cannot make it (the caller falls back). */
  clip(spec: ClipSpec): Promise<Buffer>;
  /** Kills the encodes under way (the simulator is stopping); later calls render again. */
  stop(): void;
}

export interface ClipRendererOptions {
  ffmpeg: FfmpegOptions;
  /** @default `<os.tmpdir()>/reelql-simulator-clips` */
  cacheDir?: string;
  /** Told when a clip had to be made without its drawn number (an ffmpeg without fonts). */
  warn?: (message: string) => void;
}

/**
 * The clip's picture: the background with a white bar along the bottom that slides in from the left over the
 * clip's length (overlay evaluates its position every frame), and the number in the middle.
 */
function filterGraph(spec: ClipSpec, number: number, withText: boolean): string {
  const bar = `[0:v][1:v]overlay=x='-w+W*t/${spec.durationSeconds}':y=H-h:eval=frame:shortest=1`;
  const text = `drawtext=text='${number}':fontsize=h/3:fontcolor=white:borderw=4:x=(w-tw)/2:y=(h-th)/2`;
  return `${withText ? `${bar},${text}` : bar}[v]`;
}

/** Temporary files of an encode that died with its process are removed once this old. */
const STALE_TEMPORARY_MS = 10 * 60_000;

async function sweepStaleTemporaries(directory: string): Promise<void> {
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    const file = path.join(directory, name);
    const modified = await stat(file).then((s) => s.mtimeMs, () => Date.now());
    if (Date.now() - modified > STALE_TEMPORARY_MS) await rm(file, { force: true });
  }
}

export function createClipRenderer(options: ClipRendererOptions): ClipRenderer {
  const cacheDir = options.cacheDir ?? path.join(os.tmpdir(), 'reelql-simulator-clips');
  // Concurrent requests for one clip share one encode.
  const rendering = new Map<string, Promise<Buffer>>();
  let lifetime = new AbortController();
  void sweepStaleTemporaries(cacheDir);

  async function render(spec: ClipSpec, number: number, file: string): Promise<Buffer> {
    const cached = await readFile(file).catch(() => undefined);
    if (cached?.length) return cached;
    await mkdir(cacheDir, { recursive: true });
    const { width, height } = askedSize(spec);
    const colour = COLOURS[(number - 1) % COLOURS.length]!;
    const d = String(spec.durationSeconds);
    const signal = lifetime.signal;
    const encode = async (withText: boolean) => {
      // Written aside and renamed, so another simulator never reads a half-written clip.
      const temporary = `${file}.${randomUUID()}.tmp`;
      try {
        await runFfmpeg(
          options.ffmpeg,
          [
            '-f', 'lavfi', '-i', `color=c=${colour}:s=${width}x${height}:r=24:d=${d}`,
            '-f', 'lavfi', '-i', `color=c=white:s=${width}x${Math.round(height / 10)}:r=24:d=${d}`,
            ...(spec.withAudio ? ['-f', 'lavfi', '-i', `sine=frequency=${220 + 55 * (number % 8)}:sample_rate=48000:duration=${d}`] : []),
            '-filter_complex', filterGraph(spec, number, withText),
            '-map', '[v]', ...(spec.withAudio ? ['-map', '2:a'] : []),
            // A keyframe every 2 s, as real results have, so seeking near the end does not decode the whole clip.
            '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '48',
            ...(spec.withAudio ? ['-c:a', 'aac', '-b:a', '64k'] : ['-an']),
            '-t', d, '-movflags', '+faststart', '-f', 'mp4', '-y', temporary,
          ],
          signal,
        );
        await rename(temporary, file);
      } finally {
        await rm(temporary, { force: true });
      }
    };
    try {
      await encode(true);
    } catch (error) {
      if (signal.aborted) throw new ClipRenderStopped('the simulator stopped', { cause: error });
      // drawtext needs a font; without one the clip is still distinct by its colour.
      options.warn?.(`could not draw the job number on the simulator's clip, made it without: ${String(error)}`);
      try {
        await encode(false);
      } catch (second) {
        throw signal.aborted ? new ClipRenderStopped('the simulator stopped', { cause: second }) : second;
      }
    }
    return readFile(file);
  }

  return {
    clip(spec) {
      const number = ((spec.sequence - 1) % MAX_SHOWN_NUMBER) + 1;
      const name = `v${CLIP_VERSION}-${number}-${spec.aspectRatio.replace(':', 'x')}-${spec.resolution}-${spec.durationSeconds}s-${spec.withAudio ? 'audio' : 'mute'}.mp4`;
      const key = path.join(cacheDir, name);
      let pending = rendering.get(key);
      if (!pending) {
        pending = render(spec, number, key).finally(() => rendering.delete(key));
        rendering.set(key, pending);
      }
      return pending;
    },
    stop() {
      lifetime.abort();
      lifetime = new AbortController();
    },
  };
}
