import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isLoopbackHost, VEO, VEO_REQUEST_DEFAULTS, type VeoAspectRatio as AspectRatio, type VeoResolution as Resolution } from '../../contract/tables.js';
import { flagProblem } from '../flag-errors.js';
import { CliError, exitCodeLines } from './exit-codes.js';

export const DEFAULT_URL = 'http://localhost:4000';

/** The one line after a message about a bad value: where the full usage is. */
export const HELP_HINT = 'Run npm run generate -- --help for the options.';

/** The most shots a story may have (GenerateStoryInput.shots). */
export const MAX_SHOTS = 8;

export const USAGE = `Usage: npm run generate -- "<prompt>" [flags]
       npm run generate -- --shot "<prompt>" --shot "<prompt>" ... [flags]

Turns a prompt into a video on a reelql server, shows its progress and saves the MP4. With --shot
(1 to ${MAX_SHOTS} times, instead of the prompt) it makes a story: each shot starts from the last frame of
the one before, and the shots are stitched into one MP4.

Flags:
  --url URL                Server (env REELQL_URL; default ${DEFAULT_URL})
  --key KEY                API key (env REELQL_API_KEY). Without one, a loopback server's development
                           key is read from <DATA_DIR or .data>/development-key
  --duration 4|6|8         Seconds of video (default 8)
  --resolution 720p|1080p  (default 1080p)
  --aspect 16:9|9:16       (default 16:9)
  --no-audio               Silent video: $0.10 instead of $0.15 per second
  --negative TEXT          What the video must not show
  --seed N                 0 to 2147483647 (default: the server picks one)
  --image URL|FILE         First frame: an http(s) URL, or a local JPEG, PNG or WebP file (uploaded)
  --last-frame URL|FILE    Last frame; needs --image
  --continue-from ID       Start from the last frame of an earlier generation of yours that
                           SUCCEEDED (instead of --image)
  --shot TEXT              One shot of a story, in order; --duration applies to each shot and
                           --image to the first
  --out PATH               Where to save (default ./<generation id>.mp4; a directory gets <id>.mp4)
  --idempotency-key KEY    Running again with the same key and input follows the same generation
                           instead of paying for a second one
  --webhook URL            Also POST the result (SUCCEEDED, FAILED or CANCELED) to this https URL,
                           signed with the key's webhook secret (Standard Webhooks)
  --deadline SECONDS       Give up (FAILED, TIMEOUT) when not finished this many seconds after
                           submitting; the server's own deadline still caps it
  -h, --help               Show this help

The price is shown before anything is submitted. Ctrl-C while waiting asks whether to cancel the
generation; a second Ctrl-C leaves it running on the server.

Exit codes:
${exitCodeLines()}`;

/** A first or last frame: a URL the server fetches, or a local file sent as an upload. */
export type FrameSource = { url: string } | { file: string };

export interface GenerateOptions {
  /** The video's prompt; for a story, the first shot's. */
  prompt: string;
  /** A story's shots in order (from --shot), or undefined for a single video. */
  shots: string[] | undefined;
  /** --continue-from: the generation whose last frame is the first frame. */
  continueFrom: string | undefined;
  /** --deadline in seconds, passed as deadlineSeconds. */
  deadlineSeconds: number | undefined;
  /** Server base URL without a trailing slash. */
  url: string;
  /** From --key or REELQL_API_KEY; undefined means "look for the development key". */
  key: string | undefined;
  /** `<DATA_DIR or .data>/development-key`, where a development server keeps its key. */
  developmentKeyFile: string;
  durationSeconds: number;
  resolution: Resolution;
  aspectRatio: AspectRatio;
  generateAudio: boolean;
  negativePrompt: string | undefined;
  seed: number | undefined;
  image: FrameSource | undefined;
  lastFrame: FrameSource | undefined;
  /** As given; resolved against the working directory later. */
  out: string | undefined;
  idempotencyKey: string | undefined;
  /** Passed through as GenerateVideoInput.webhookUrl; the server checks it. */
  webhookUrl: string | undefined;
}

export type ParsedArgs = { help: true } | { help: false; options: GenerateOptions };

const FLAGS = {
  url: { type: 'string' },
  key: { type: 'string' },
  duration: { type: 'string' },
  resolution: { type: 'string' },
  aspect: { type: 'string' },
  'no-audio': { type: 'boolean' },
  negative: { type: 'string' },
  seed: { type: 'string' },
  image: { type: 'string' },
  'last-frame': { type: 'string' },
  out: { type: 'string' },
  'idempotency-key': { type: 'string' },
  webhook: { type: 'string' },
  'continue-from': { type: 'string' },
  shot: { type: 'string', multiple: true },
  deadline: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAG_LIST = Object.keys(FLAGS)
  .map((name) => `--${name}`)
  .join(', ');

/** A wrong flag: the message and the whole usage, since the flags themselves are what is in question. */
function flagError(message: string): never {
  throw new CliError('USER', `${message}\n\n${USAGE}`);
}

/** A bad value or argument: the message says what is allowed, so one line points to the rest. */
function usageError(message: string): never {
  throw new CliError('USER', `${message}\n${HELP_HINT}`);
}

/** "4, 6 or 8". */
const listed = (values: readonly unknown[]) => `${values.slice(0, -1).join(', ')} or ${String(values.at(-1))}`;

function oneOf<T extends string | number>(flag: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  const found = allowed.find((value) => String(value) === raw.trim().toLowerCase());
  if (found === undefined) usageError(`--${flag} must be ${listed(allowed)}; got "${raw}".`);
  return found;
}

function seedOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seed = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > VEO.maxSeed) {
    usageError(`--seed must be a whole number from 0 to ${VEO.maxSeed}; got "${raw}".`);
  }
  return seed;
}

function frameOf(flag: string, raw: string | undefined): FrameSource | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!value) usageError(`--${flag} needs an http(s) URL or the path of a local JPEG, PNG or WebP file.`);
  if (/^https?:\/\//i.test(value)) return { url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) usageError(`--${flag} must be an http(s) URL or a local file; got "${raw}".`);
  return { file: value };
}

function serverUrlOf(raw: string, from: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    usageError(`${from} must be the server's http(s) address, e.g. ${DEFAULT_URL}; got "${raw}".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    usageError(`${from} must use http or https, e.g. ${DEFAULT_URL}; got "${raw}".`);
  }
  return raw.replace(/\/+$/, '');
}

function webhookOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!/^https?:\/\/\S+$/i.test(value)) usageError(`--webhook must be an https URL such as https://example.com/hooks/reelql; got "${raw}".`);
  return value;
}

/** The story's shots from --shot, or undefined without any; a prompt argument besides them is ambiguous. */
function shotsOf(raw: string[] | undefined, positionals: string[]): string[] | undefined {
  if (!raw?.length) return undefined;
  if (positionals.length > 0) {
    usageError('Give either a prompt or --shot prompts, not both: with --shot, every shot (the first too) is a --shot.');
  }
  if (raw.length > MAX_SHOTS) usageError(`A story has at most ${MAX_SHOTS} shots; got ${raw.length} --shot flags.`);
  const shots = raw.map((shot) => shot.trim());
  const empty = shots.findIndex((shot) => !shot);
  if (empty !== -1) usageError(`--shot number ${empty + 1} is empty: describe what that shot shows.`);
  return shots;
}

function deadlineOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(seconds) || seconds <= 0) {
    usageError(`--deadline must be a whole number of seconds, e.g. 300; got "${raw}".`);
  }
  return seconds;
}

function nonEmpty(flag: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.trim() === '') usageError(`--${flag} must not be empty.`);
  return raw;
}

/**
 * Reads the command line. `env` supplies REELQL_URL, REELQL_API_KEY and DATA_DIR; `cwd` anchors `.data`.
 * Throws a USER {@link CliError} that says what is allowed.
 */
export function parseGenerateArgs(argv: string[], env: Record<string, string | undefined>, cwd: string): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    flagError(flagProblem(error, FLAG_LIST));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };

  const shots = shotsOf(values.shot, positionals);
  if (!shots) {
    if (positionals.length === 0) usageError('Say what the video shows: give the prompt as the first argument, in quotes.');
    if (positionals.length > 1) {
      usageError(`Give the prompt as one argument, in quotes; got ${positionals.length} arguments: ${positionals.map((p) => `"${p}"`).join(' ')}.`);
    }
  }
  const prompt = shots?.[0] ?? positionals[0]!.trim();
  if (!prompt) usageError('The prompt must not be empty: describe the video you want.');

  const image = frameOf('image', values.image);
  const lastFrame = frameOf('last-frame', values['last-frame']);
  if (lastFrame && !image) usageError('--last-frame needs --image: give the first frame too.');
  const continueFrom = nonEmpty('continue-from', values['continue-from'])?.trim();
  if (continueFrom && image) usageError('Give --continue-from or --image, not both: --continue-from already sets the first frame.');
  if (shots && continueFrom) usageError('--continue-from is for a single video; a story starts from --image (or from nothing).');
  if (shots && lastFrame) usageError('--last-frame is for a single video; in a story each shot ends where the next one starts.');

  const rawUrl = values.url ?? (env.REELQL_URL || undefined);
  const key = nonEmpty('key', values.key) ?? (env.REELQL_API_KEY || undefined);
  return {
    help: false,
    options: {
      prompt,
      url: rawUrl === undefined ? DEFAULT_URL : serverUrlOf(rawUrl, values.url !== undefined ? '--url' : 'REELQL_URL'),
      key: key?.trim(),
      developmentKeyFile: path.join(path.resolve(cwd, env.DATA_DIR || '.data'), 'development-key'),
      durationSeconds: oneOf('duration', values.duration, VEO.durationsSeconds, VEO_REQUEST_DEFAULTS.durationSeconds),
      resolution: oneOf('resolution', values.resolution, VEO.resolutions, VEO_REQUEST_DEFAULTS.resolution),
      aspectRatio: oneOf('aspect', values.aspect, VEO.aspectRatios, VEO_REQUEST_DEFAULTS.aspectRatio),
      generateAudio: !values['no-audio'],
      negativePrompt: nonEmpty('negative', values.negative),
      seed: seedOf(values.seed),
      image,
      lastFrame,
      out: nonEmpty('out', values.out),
      idempotencyKey: nonEmpty('idempotency-key', values['idempotency-key']),
      webhookUrl: webhookOf(values.webhook),
      shots,
      continueFrom,
      deadlineSeconds: deadlineOf(values.deadline),
    },
  };
}

// The development key is offered only by a server on this machine, so only there is it looked for.

const NO_KEY_HINT = 'Pass --key or set REELQL_API_KEY (an operator makes keys with: npm run keys -- create <name>).';

/**
 * The key to send: the one given, or — for a server on this machine only — the development key the server
 * stored on first start. `note` says where a found key came from, for stderr.
 */
export async function resolveApiKey(options: {
  key: string | undefined;
  serverUrl: string;
  developmentKeyFile: string;
  cwd: string;
}): Promise<{ key: string; note?: string }> {
  if (options.key) return { key: options.key };
  if (!isLoopbackHost(new URL(options.serverUrl).hostname)) {
    throw new CliError('USER', `No API key for ${options.serverUrl}. ${NO_KEY_HINT}`);
  }
  const stored = await readFile(options.developmentKeyFile, 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  const relative = path.relative(options.cwd, options.developmentKeyFile);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? options.developmentKeyFile : relative;
  if (!stored) {
    throw new CliError('USER', `No API key: none given, and no development key in ${shown}. ${NO_KEY_HINT}`);
  }
  return { key: stored, note: `Using the development key from ${shown} (no --key or REELQL_API_KEY given).` };
}
