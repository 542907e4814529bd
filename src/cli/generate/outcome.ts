import path from 'node:path';
import type { GenerateOptions } from './args.js';
import { downloadVideo } from './download.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import type { Terminal } from './generate.js';
import { formatSize } from './progress.js';

/** What the server's answers mean for the person at the terminal: refusals, cancels, and the saved file. */

/** What a cancel means for the bill; a simulated job costs no money either way. */
export function cancelCharge(chargeMayApply: boolean, simulated: boolean): string {
  if (simulated) {
    return chargeMayApply
      ? 'The Segmind simulator had already accepted the job (chargeMayApply: true); a simulated job costs no money.'
      : 'It had not reached the Segmind simulator (chargeMayApply: false); a simulated job costs no money.';
  }
  return chargeMayApply
    ? 'Segmind had already accepted the job and cannot stop it, so its charge may still apply (chargeMayApply: true).'
    : 'It had not reached Segmind, so nothing is charged (chargeMayApply: false).';
}

/** A refusal the server returned as data, as a CliError of the right kind; `what` names the mutation. */
export function refused(result: { __typename: string; message?: string; field?: string }, what: string): never {
  switch (result.__typename) {
    case 'InputError':
      throw new CliError('USER', `Invalid input (${result.field}): ${result.message}`);
    case 'BudgetExceededError':
      throw new CliError('USER', `Budget exceeded: ${result.message}`);
    case 'TooManyActiveGenerationsError':
      throw new CliError('USER', `Too many active generations: ${result.message}`);
    case 'IdempotencyKeyReusedError':
      throw new CliError('USER', `Idempotency key reused: ${result.message}`);
    case 'UploadFailedError':
      throw new CliError('UPSTREAM', `Frame upload failed: ${result.message}`);
    default:
      throw new CliError('UNEXPECTED', `The server answered ${what} with ${JSON.stringify(result).slice(0, 300)}`);
  }
}

export const shown = (cwd: string, file: string) => {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
};

/** Downloads the finished video to `outPath`; Ctrl-C stops the download and leaves the video on the server. */
export async function saveVideo(args: {
  video: { url: string; sizeBytes: number };
  outPath: string;
  options: GenerateOptions;
  terminal: Terminal;
}): Promise<number> {
  const { video, outPath, options, terminal } = args;
  const stopDownload = new AbortController();
  const stopListening = terminal.onInterrupt(() => stopDownload.abort());
  let size: number;
  try {
    size = await downloadVideo(video.url, options.url, outPath, { expectedBytes: video.sizeBytes, signal: stopDownload.signal });
  } catch (error) {
    if (!stopDownload.signal.aborted) throw error;
    terminal.stderr.write(`Download stopped. The video stays on the server for now: ${new URL(video.url, `${options.url}/`).href}\n`);
    return EXIT_CODES.CANCELED.code;
  } finally {
    stopListening();
  }
  terminal.stdout.write(`Saved ${shown(terminal.cwd, outPath)} (${formatSize(size)}, ${size} bytes).\n`);
  return EXIT_CODES.SAVED.code;
}

