/**
 * The simulator's result videos: a clip rendered with ffmpeg for each job, of the asked length and size, with an
 * audio track when audio was asked for, in a colour and with a number chosen by the job's sequence number, so
 * shots stitched together are told apart frame by frame. A bar along the bottom grows with time, so the first
 * and last frames of one clip differ too. Clips are cached on disk (in the system's temporary directory), keyed
 * by everything they are made of, so each combination is encoded once per machine.
 */

import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
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
/** Numbers drawn wrap here, so the cache holds a bounded set of clips. */
const MAX_SHOWN_NUMBER = 999;
/** Bump when the way clips are drawn changes, so stale cached files are not served. */
const CLIP_VERSION = 1;

export interface ClipRenderer {
  /** The clip's bytes, rendered on first use; rejects when ffmpeg cannot make it (the caller falls back). */
  clip(spec: ClipSpec): Promise<Buffer>;
}

export interface ClipRendererOptions {
  ffmpeg: FfmpegOptions;
  /** @default `<os.tmpdir()>/reelql-simulator-clips` */
  cacheDir?: string;
  /** Told when a clip had to be made without its drawn number (an ffmpeg without fonts). */
  warn?: (message: string) => void;
}

function filterGraph(spec: ClipSpec, number: number, withText: boolean): string {
  const bar = `drawbox=x=0:y=ih*0.9:w=iw*t/${spec.durationSeconds}:h=ih*0.1:color=white@0.85:t=fill`;
  const text = `drawtext=text='${number}':fontsize=h/3:fontcolor=white:borderw=4:x=(w-tw)/2:y=(h-th)/2`;
  return withText ? `${bar},${text}` : bar;
}

export function createClipRenderer(options: ClipRendererOptions): ClipRenderer {
  const cacheDir = options.cacheDir ?? path.join(os.tmpdir(), 'reelql-simulator-clips');
  // Concurrent requests for one clip share one encode.
  const rendering = new Map<string, Promise<Buffer>>();

  async function render(spec: ClipSpec, number: number, file: string): Promise<Buffer> {
    const cached = await readFile(file).catch(() => undefined);
    if (cached?.length) return cached;
    await mkdir(cacheDir, { recursive: true });
    const { width, height } = askedSize(spec);
    const colour = COLOURS[(number - 1) % COLOURS.length]!;
    const d = String(spec.durationSeconds);
    const encode = async (withText: boolean) => {
      // Written aside and renamed, so another simulator never reads a half-written clip.
      const temporary = `${file}.${randomUUID()}.tmp`;
      try {
        await runFfmpeg(options.ffmpeg, [
          '-f', 'lavfi', '-i', `color=c=${colour}:s=${width}x${height}:r=24:d=${d}`,
          ...(spec.withAudio ? ['-f', 'lavfi', '-i', `sine=frequency=${220 + 55 * (number % 8)}:sample_rate=48000:duration=${d}`] : []),
          '-vf', filterGraph(spec, number, withText),
          '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
          ...(spec.withAudio ? ['-c:a', 'aac', '-b:a', '64k'] : ['-an']),
          '-t', d, '-movflags', '+faststart', '-f', 'mp4', '-y', temporary,
        ]);
        await rename(temporary, file);
      } finally {
        await rm(temporary, { force: true });
      }
    };
    try {
      await encode(true);
    } catch (error) {
      // drawtext needs a font; without one the clip is still distinct by its colour.
      options.warn?.(`could not draw the job number on the simulator's clip, made it without: ${String(error)}`);
      await encode(false);
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
  };
}
