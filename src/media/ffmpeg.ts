import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/** The ffmpeg run failed; `reason` is in plain words (it ends up in `stillsError` and in logs). */
export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`ffmpeg failed: ${reason}`, options);
  }
}

/** How to run ffmpeg: which binary, and how long one run may take before it is killed. */
export interface FfmpegOptions {
  path: string;
  timeoutMs: number;
}

/** The end of ffmpeg's stderr that is kept for an error: enough for its last complaint, never the whole log. */
const STDERR_TAIL_BYTES = 2048;

/**
 * The ffmpeg to use: `configured` (FFMPEG_PATH) when set, else the binary `@ffmpeg-installer/ffmpeg` ships inside
 * its npm package, so `npm install` alone brings a working one. Throws {@link FfmpegError} when neither exists
 * (a platform the package has no binary for).
 */
export function ffmpegPath(configured: string | undefined): string {
  if (configured) return configured;
  try {
    // A CommonJS package that finds its binary when loaded: required lazily, so FFMPEG_PATH alone needs no package.
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    return installer.path;
  } catch (error) {
    throw new FfmpegError('no ffmpeg binary for this platform in @ffmpeg-installer/ffmpeg: set FFMPEG_PATH to an installed ffmpeg', {
      cause: error,
    });
  }
}

/**
 * Runs ffmpeg with `args` (no shell) and resolves when it exits with 0. It is killed (SIGKILL) once
 * `timeoutMs` has passed or `signal` aborts; a non-zero exit, a failed start or the kill reject with
 * {@link FfmpegError} carrying the end of its stderr.
 */
export function runFfmpeg(options: FfmpegOptions, args: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new FfmpegError('stopped before it started', { cause: signal.reason }));
    const child = spawn(options.path, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = Buffer.alloc(0);
    let killedFor: string | undefined;
    const kill = (why: string) => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`it did not finish within ${options.timeoutMs} ms (FFMPEG_TIMEOUT_MS)`), options.timeoutMs);
    const onAbort = () => kill('it was stopped');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    let settled = false;
    const finish = (error?: FfmpegError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    child.once('error', (error: NodeJS.ErrnoException) =>
      finish(new FfmpegError(`${options.path} could not be started (${error.code ?? error.message})`, { cause: error })),
    );
    child.once('close', (code, exitSignal) => {
      if (killedFor) return finish(new FfmpegError(killedFor));
      if (code === 0) return finish();
      const said = lastLines(stderr.toString('utf8'));
      finish(new FfmpegError(`${code === null ? `it was killed by ${exitSignal}` : `it exited with code ${code}`}${said ? `: ${said}` : ''}`));
    });
  });
}

/** The last few meaningful lines of ffmpeg's stderr, on one line; fontconfig's chatter is left out. */
function lastLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Fontconfig'))
    .slice(-3)
    .join(' / ')
    .slice(0, 500);
}
