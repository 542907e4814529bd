import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClipReadError, readClipFacts, shareCodecParameters, type ClipFacts } from './clip-facts.js';
import { FfmpegError, runFfmpeg } from './ffmpeg.js';

/**
 * Joins a story's shots into one MP4. Shots that share codec parameters (clip-facts.ts) are joined by ffmpeg's
 * concat demuxer with `-c copy`: no re-encode, so no quality loss and seconds instead of minutes. Anything else
 * (different sizes, frame rates, codecs, or some shots with audio and some without) is re-encoded through the
 * concat filter to the first shot's size and frame rate. Audio is kept: when some shots have it, the ones
 * without get silence of their own length; when none has it, the film has none. The output gets
 * `-movflags +faststart`, so a browser can start playing before it has the whole file.
 */

export interface StitchOptions {
  /** The ffmpeg binary (media/ffmpeg.ts `ffmpegPath`). */
  ffmpegPath: string;
  /** ffmpeg is killed after this long. */
  timeoutMs: number;
  /** Aborting kills ffmpeg. */
  signal?: AbortSignal;
}

export interface StitchResult {
  /** False when the clips were joined by copying their streams. */
  reencoded: boolean;
  /** How long the stitching took, probing included. */
  ms: number;
}

/** The clips could not be joined; `reason` is in words for a client (no paths, no ffmpeg log beyond its last complaint). */
export class StitchError extends Error {
  override name = 'StitchError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the clips could not be stitched: ${reason}`, options);
  }
}

/** Most clips one film joins: a story has at most 8 shots; more would only make the ffmpeg command huge. */
export const MAX_STITCH_INPUTS = 32;

/**
 * Joins the MP4 files `inputPaths`, in order, into `outputPath`. Nothing is left at `outputPath` unless the
 * whole film was written (ffmpeg writes a temporary file next to it, renamed at the end). Throws
 * {@link StitchError} when an input cannot be read, ffmpeg fails, or it is killed by the timeout or the signal.
 */
export async function stitchClips(inputPaths: readonly string[], outputPath: string, options: StitchOptions): Promise<StitchResult> {
  const started = performance.now();
  if (inputPaths.length === 0) throw new StitchError('there are no clips to join');
  if (inputPaths.length > MAX_STITCH_INPUTS) throw new StitchError(`at most ${MAX_STITCH_INPUTS} clips can be joined; got ${inputPaths.length}`);
  const clips = await Promise.all(
    inputPaths.map((input, i) =>
      readClipFacts(input).catch((error: unknown) => {
        const why = error instanceof ClipReadError ? error.message : 'it could not be read';
        throw new StitchError(`clip ${i + 1} is not a usable MP4 video (${why})`, { cause: error });
      }),
    ),
  );
  const reencoded = !shareCodecParameters(clips);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-stitch-'));
  const partial = `${outputPath}.${randomBytes(6).toString('hex')}.partial`;
  try {
    const args = reencoded ? reencodeArgs(inputPaths, clips) : await copyArgs(inputPaths, clips, workDir);
    await runFfmpeg({ path: options.ffmpegPath, timeoutMs: options.timeoutMs }, [...args, '-movflags', '+faststart', '-f', 'mp4', '-y', partial], options.signal);
    await rename(partial, outputPath);
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof FfmpegError) throw new StitchError(error.reason, { cause: error });
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return { reencoded, ms: Math.round(performance.now() - started) };
}

/**
 * The concat demuxer's list: one `file` line per clip, each path quoted the way the demuxer reads it, and its
 * video's length as its `duration`. Without it the demuxer starts each clip after the previous one's longest
 * stream, and AAC's priming makes that the audio, a frame longer: a small gap in the picture at every join.
 */
async function copyArgs(inputPaths: readonly string[], clips: readonly ClipFacts[], workDir: string): Promise<string[]> {
  const list = path.join(workDir, 'clips.txt');
  const quoted = (file: string) => `'${path.resolve(file).replaceAll("'", "'\\''")}'`;
  const lines = inputPaths.map((file, i) => `file ${quoted(file)}\nduration ${clips[i]!.durationSeconds.toFixed(6)}\n`);
  await writeFile(list, lines.join(''));
  // -safe 0: the paths are absolute and ours; -map 0: every stream, so the audio comes along.
  return ['-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy'];
}

/**
 * The concat filter over every clip, each scaled (letterboxed if its shape differs) to the first clip's size and
 * frame rate, with its audio resampled to one format and cut or padded to its video's length, so sound and
 * picture stay together across the joins.
 */
function reencodeArgs(inputPaths: readonly string[], clips: readonly ClipFacts[]): string[] {
  const first = clips[0]!;
  const { width, height } = first.video;
  const frameRate = first.video.frameRate > 0 ? first.video.frameRate : 24;
  const withAudio = clips.some((clip) => clip.audio !== null);
  const sampleRate = clips.find((clip) => clip.audio)?.audio?.sampleRate ?? 48_000;
  const layout = (clips.find((clip) => clip.audio)?.audio?.channels ?? 2) === 1 ? 'mono' : 'stereo';
  const inputs = inputPaths.flatMap((file) => ['-i', file]);
  const filters: string[] = [];
  const segments: string[] = [];
  let silentInputs = 0;
  clips.forEach((clip, i) => {
    filters.push(
      `[${i}:v:0]scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,` +
        `setsar=1,fps=${frameRate},format=yuv420p[v${i}]`,
    );
    segments.push(`[v${i}]`);
    if (!withAudio) return;
    const duration = clip.durationSeconds.toFixed(3);
    let source = `${i}:a:0`;
    if (!clip.audio) {
      // Silence as long as the clip, from an extra input after the clips.
      source = `${inputPaths.length + silentInputs++}:a:0`;
      inputs.push('-f', 'lavfi', '-t', duration, '-i', `anullsrc=r=${sampleRate}:cl=${layout}`);
    }
    filters.push(`[${source}]aresample=${sampleRate},aformat=sample_fmts=fltp:channel_layouts=${layout},apad,atrim=0:${duration}[a${i}]`);
    segments.push(`[a${i}]`);
  });
  filters.push(`${segments.join('')}concat=n=${clips.length}:v=1:a=${withAudio ? 1 : 0}${withAudio ? '[v][a]' : '[v]'}`);
  return [
    ...inputs,
    '-filter_complex',
    filters.join(';'),
    '-map',
    '[v]',
    ...(withAudio ? ['-map', '[a]', '-c:a', 'aac', '-b:a', '192k'] : []),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '18',
    '-pix_fmt',
    'yuv420p',
  ];
}
