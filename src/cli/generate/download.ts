import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, constants, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, unreachable } from './exit-codes.js';

/**
 * Where the video will go: `out` as given, inside it when it is a directory, or `<id>.mp4` in `cwd`.
 * Checked before anything is spent, so a typo in --out does not cost a generation.
 */
export async function checkOutput(out: string | undefined, cwd: string): Promise<(id: string) => string> {
  const resolved = out === undefined ? undefined : path.resolve(cwd, out);
  const isDirectory = out === undefined || (await stat(resolved!).then((s) => s.isDirectory(), () => false));
  const directory = out === undefined ? cwd : isDirectory ? resolved! : path.dirname(resolved!);
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new CliError('USER', `Cannot save the video in ${directory}: the directory does not exist or is not writable.`);
  }
  return (id) => (isDirectory ? path.join(directory, `${id}.mp4`) : resolved!);
}

/**
 * Streams the video to a temporary file next to `outPath` and renames it into place, so `outPath` is either
 * the whole video or untouched. Returns the number of bytes saved.
 */
export async function downloadVideo(
  videoUrl: string,
  serverUrl: string,
  outPath: string,
  options: { expectedBytes?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const url = new URL(videoUrl, `${serverUrl}/`);
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw unreachable(serverUrl, error);
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    throw new CliError('UNEXPECTED', `Downloading the video answered HTTP ${response.status}: ${text.trim().slice(0, 200)}`);
  }
  const temp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${randomBytes(4).toString('hex')}.part`);
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(temp, { flags: 'wx' }), {
      signal: options.signal,
    });
    const { size } = await stat(temp);
    if (options.expectedBytes !== undefined && size !== options.expectedBytes) {
      throw new CliError('UNEXPECTED', `The download was cut short: got ${size} of ${options.expectedBytes} bytes.`);
    }
    await rename(temp, outPath);
    return size;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
