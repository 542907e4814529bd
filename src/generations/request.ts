import { randomInt } from 'node:crypto';
import { InputError, InputErrorCode, type FieldProblem } from './errors.js';
import { judgeHost } from './frame-host.js';
import type { GenerationStatus } from '../db/schema.js';
import { DEFAULT_WEBHOOK_EVENTS } from '../webhooks/outbox.js';
import { DEFAULTS } from '../config/defaults.js';

import { VEO, VEO_REQUEST_DEFAULTS, type VeoAspectRatio as AspectRatio, type VeoResolution as Resolution } from '../contract/tables.js';

export type { AspectRatio, Resolution };

/**
 * What a request gets for a field it leaves out, from the table of Veo facts: the first aspect ratio, the longest
 * duration, the highest resolution, and audio.
 */
export const REQUEST_DEFAULTS = VEO_REQUEST_DEFAULTS satisfies Partial<GenerationRequest>;

/** The allowed durations as words, e.g. "4, 6 or 8". */
export const ALLOWED_DURATIONS = `${VEO.durationsSeconds.slice(0, -1).join(', ')} or ${VEO.durationsSeconds.at(-1)}`;

/** What a client asks for, after GraphQL enum mapping and defaults. */
export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string | null;
  image?: string | null;
  lastFrame?: string | null;
  aspectRatio: AspectRatio;
  durationSeconds: number;
  resolution: Resolution;
  generateAudio: boolean;
  seed?: number | null;
  idempotencyKey?: string | null;
  /** Where status changes are POSTed (checked, with a DNS lookup, by generateVideo). */
  webhookUrl?: string | null;
  /** The statuses the webhook is told about. @default SUCCEEDED, FAILED, CANCELED */
  webhookEvents?: readonly GenerationStatus[] | null;
  /**
   * The id of an earlier SUCCEEDED generation of the same key whose last frame becomes this one's first frame
   * (checked against the database by generateVideo).
   */
  continueFrom?: string | null;
  /** The client's own deadline in seconds from creation; the server-wide deadline still caps it. */
  deadlineSeconds?: number | null;
}

/** A request that passed validation, with the seed chosen. */
export interface ValidGenerationRequest extends GenerationRequest {
  negativePrompt: string | null;
  image: string | null;
  lastFrame: string | null;
  seed: number;
  idempotencyKey: string | null;
  webhookUrl: string | null;
  /** Null exactly when there is no webhook. */
  webhookEvents: GenerationStatus[] | null;
  continueFrom: string | null;
  deadlineSeconds: number | null;
}

/**
 * Rules for text that comes from outside, whether a client sent it or an upstream answered it: both are
 * stored in Postgres and put in URLs, so both are held to the same limits.
 *
 * An unpaired UTF-16 surrogate: not valid Unicode, and Postgres's UTF-8 encoding would silently turn it into
 * U+FFFD. A source, so each user builds the flags it needs.
 */
export const LONE_SURROGATE_SOURCE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.source;

/** Longest URL accepted: a frame URL a client sends, and any address an upstream answers with. */
export const MAX_URL_LENGTH = 2048;

export const MAX_PROMPT_LENGTH = 2000;
export const MAX_NEGATIVE_PROMPT_LENGTH = 500;
export const MAX_SEED = VEO.maxSeed;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** How validation treats frame URLs, by who will fetch them. */
export interface ValidationOptions {
  /**
   * The built-in simulator runs on this machine, so a loopback frame is reachable for it; Segmind can only
   * fetch public hosts. @default false
   */
  allowLoopbackFrames?: boolean;
  /** The shortest deadlineSeconds accepted. @default limits.minDeadlineSeconds's default */
  minDeadlineSeconds?: number;
}

const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);

/**
 * Text Postgres cannot store as sent: it refuses NUL in text, and its UTF-8 encoding would silently turn an
 * unpaired UTF-16 surrogate into U+FFFD. Both are refused up front, naming the field and the position.
 */
function storableTextProblem(field: string, value: string | null | undefined): string | null {
  if (value == null) return null;
  const nul = value.indexOf('\u0000');
  if (nul !== -1) return `${field} contains a NUL character (U+0000) at position ${nul}; remove it.`;
  const lone = LONE_SURROGATE.exec(value);
  if (lone) {
    return `${field} contains an unpaired UTF-16 surrogate at position ${lone.index}, which is not valid Unicode text; send well-formed text.`;
  }
  return null;
}

/** What is wrong with a frame URL, or null when it is fine. */
function imageUrlProblem(field: string, value: string, options: ValidationOptions): string | null {
  if (value.length > MAX_URL_LENGTH) return `${field} must be at most ${MAX_URL_LENGTH} characters long; got ${value.length}.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${field} must be an absolute http(s) URL of a JPEG or PNG image, e.g. "https://example.com/frame.png".`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${field} must use http or https; got "${url.protocol.replace(':', '')}".`;
  if (url.username || url.password) return `${field} must not contain a user name or password.`;
  // Segmind fetches the frame from its own servers: a host only this machine or its network can reach would
  // be queued, paid for and then fail. Judged from the host as written; no DNS lookup here.
  const host = judgeHost(url);
  if (host.problem && !(host.loopback && options.allowLoopbackFrames)) {
    return `${field} must be on a public host: Segmind cannot fetch it, since ${host.problem}. Use a public URL, or upload the file instead.`;
  }
  return null;
}

/** Every rule the request breaks, in the order of the input's fields; empty when it is valid. */
export function generationRequestProblems(input: GenerationRequest, options: ValidationOptions = {}): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const problem = (field: string, message: string | null) => message && problems.push({ field, message });
  // Text that cannot be stored is reported on its own: the other rules are judged on text as it will be stored.
  for (const field of ['prompt', 'negativePrompt', 'image', 'lastFrame', 'idempotencyKey', 'webhookUrl', 'continueFrom'] as const) {
    problem(field, storableTextProblem(field, input[field]));
  }
  if (problems.length > 0) return problems;
  const prompt = input.prompt.trim();
  if (!prompt) problem('prompt', 'prompt must not be empty: describe the video you want.');
  else if (prompt.length > MAX_PROMPT_LENGTH) {
    problem('prompt', `prompt must be at most ${MAX_PROMPT_LENGTH} characters long; got ${prompt.length}.`);
  }
  const negativePrompt = input.negativePrompt?.trim();
  if (negativePrompt && negativePrompt.length > MAX_NEGATIVE_PROMPT_LENGTH) {
    problem('negativePrompt', `negativePrompt must be at most ${MAX_NEGATIVE_PROMPT_LENGTH} characters long; got ${negativePrompt.length}.`);
  }
  const image = input.image?.trim();
  const lastFrame = input.lastFrame?.trim();
  const continueFrom = input.continueFrom?.trim();
  if (image) problem('image', imageUrlProblem('image', image, options));
  if (continueFrom && image) {
    problems.push({
      field: 'continueFrom',
      code: InputErrorCode.CONTINUE_FROM_WITH_IMAGE,
      message: 'continueFrom and image (or imageFile) both give the first frame: give one of them, not both.',
    });
  }
  if (lastFrame) {
    problem(
      'lastFrame',
      image || continueFrom
        ? imageUrlProblem('lastFrame', lastFrame, options)
        : 'lastFrame needs image (or continueFrom): give the first frame too, or leave lastFrame out.',
    );
  }
  if (!(VEO.durationsSeconds as readonly number[]).includes(input.durationSeconds)) {
    problem('durationSeconds', `durationSeconds must be ${ALLOWED_DURATIONS}; got ${input.durationSeconds}.`);
  }
  if (input.seed != null && (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > MAX_SEED)) {
    problem('seed', `seed must be a whole number from 0 to ${MAX_SEED}; got ${input.seed}.`);
  }
  const idempotencyKey = input.idempotencyKey;
  if (idempotencyKey != null && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    problem('idempotencyKey', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.`);
  }
  const minDeadline = options.minDeadlineSeconds ?? DEFAULTS.limits.minDeadlineSeconds.default;
  if (input.deadlineSeconds != null && (!Number.isInteger(input.deadlineSeconds) || input.deadlineSeconds < minDeadline)) {
    problem(
      'deadlineSeconds',
      `deadlineSeconds must be a whole number of at least ${minDeadline} (seconds from now); got ${input.deadlineSeconds}. Leave it out for the server's deadline.`,
    );
  }
  if (input.webhookEvents != null && !input.webhookUrl?.trim()) {
    problem('webhookEvents', 'webhookEvents needs webhookUrl: give the URL to send them to, or leave webhookEvents out.');
  } else if (input.webhookEvents?.length === 0) {
    problem('webhookEvents', 'webhookEvents must name at least one status, e.g. [SUCCEEDED, FAILED]; leave it out for SUCCEEDED, FAILED and CANCELED.');
  }
  return problems;
}

/**
 * Checks every field and returns the normalized request. Throws {@link InputError} naming the first bad field,
 * with every broken rule in its `problems`, each message saying what is allowed.
 */
export function validateGenerationRequest(input: GenerationRequest, options: ValidationOptions = {}): ValidGenerationRequest {
  const [first, ...rest] = generationRequestProblems(input, options);
  if (first) throw new InputError(first.field, first.message, [first, ...rest], first.code ?? null);
  return {
    ...input,
    prompt: input.prompt.trim(),
    negativePrompt: input.negativePrompt?.trim() || null,
    image: input.image?.trim() || null,
    lastFrame: input.lastFrame?.trim() || null,
    seed: input.seed ?? randomInt(0, MAX_SEED + 1),
    idempotencyKey: input.idempotencyKey ?? null,
    continueFrom: input.continueFrom?.trim() || null,
    deadlineSeconds: input.deadlineSeconds ?? null,
    ...webhookOf(input),
  };
}

/** The webhook fields as stored: both null without a URL, the default statuses when none are named. */
function webhookOf(input: GenerationRequest): Pick<ValidGenerationRequest, 'webhookUrl' | 'webhookEvents'> {
  const webhookUrl = input.webhookUrl?.trim() || null;
  if (!webhookUrl) return { webhookUrl: null, webhookEvents: null };
  return { webhookUrl, webhookEvents: [...new Set(input.webhookEvents ?? DEFAULT_WEBHOOK_EVENTS)] };
}
