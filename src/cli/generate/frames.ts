import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { VEO } from '../../contract/veo.js';
import type { FrameSource } from './args.js';
import { CliError } from './exit-codes.js';
import type { Upload } from './graphql-http.js';

/** The server's limit for an uploaded frame; checked here so a wrong file is not sent at all. */
const MAX_FRAME_BYTES = VEO.maxFrameBytes;

async function readFrame(flag: string, file: string, cwd: string): Promise<{ bytes: Uint8Array; filename: string }> {
  const resolved = path.resolve(cwd, file);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isFile()) throw new CliError('USER', `--${flag}: no file at ${resolved}. Give an http(s) URL or an existing image file.`);
  if (info.size > MAX_FRAME_BYTES) {
    throw new CliError('USER', `--${flag}: ${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB; frames may be at most 20 MB.`);
  }
  return { bytes: await readFile(resolved), filename: path.basename(resolved) };
}

/** The input fields for the frames: URLs go as `image`/`lastFrame`, files as uploads to `imageFile`/`lastFrameFile`. */
export async function frameInput(
  frames: { image: FrameSource | undefined; lastFrame: FrameSource | undefined },
  cwd: string,
): Promise<{ fields: Record<string, string>; uploads: Upload[] }> {
  const fields: Record<string, string> = {};
  const uploads: Upload[] = [];
  const places = [
    ['image', 'image', frames.image],
    ['last-frame', 'lastFrame', frames.lastFrame],
  ] as const;
  for (const [flag, field, source] of places) {
    if (!source) continue;
    if ('url' in source) fields[field] = source.url;
    else uploads.push({ at: `input.${field}File`, ...(await readFrame(flag, source.file, cwd)) });
  }
  return { fields, uploads };
}
