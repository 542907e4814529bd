import type { GenerationStatus } from '../db/schema.js';
import { formatUsd } from './charges.js';

/** Why a generation failed; stable names clients can switch on. */
export const generationErrorCodes = {
  CONTENT_BLOCKED: 'The model refused the prompt or image on safety grounds. Nothing is charged; change the prompt or image.',
  GENERATION_FAILED: 'The model could not produce the video.',
  INVALID_INPUT: 'Segmind rejected the request parameters.',
  UPSTREAM_UNAUTHORIZED: "The server's Segmind API key was rejected. The operator must fix SEGMIND_API_KEY.",
  UPSTREAM_FORBIDDEN: "The server's Segmind account may not use this model.",
  INSUFFICIENT_CREDITS: "The server's Segmind account is out of credits or over its spend limit.",
  MODEL_UNAVAILABLE: 'The model is not available at Segmind (unknown or retired).',
  UPSTREAM_UNAVAILABLE: 'Segmind could not be reached or kept failing; retries were exhausted.',
  UPSTREAM_UNREADABLE:
    'Segmind accepted the submission (HTTP 2xx) but its answer could not be read, so the job cannot be followed. It was not sent again; its charge may apply. Ask for a new generation.',
  RESULT_EXPIRED: 'Segmind no longer has this job (records expire an hour after submission).',
  TIMEOUT: 'The generation did not finish before its deadline.',
  STORAGE_FAILED: 'The finished video could not be downloaded into storage.',
  CONTINUE_FROM_UNAVAILABLE:
    'The last frame of the generation named in continueFrom could no longer be read (its video or stills were deleted). Nothing is charged; give the first frame as image or imageFile instead.',
  INVALID_RESULT: 'The finished result was not a playable MP4 video (no video track, no duration, cut off, or not MP4 at all), so it was not kept. Segmind may still bill the job.',
  INTERNAL: 'Something unexpected went wrong on our side.',
} as const;

export type GenerationErrorCode = keyof typeof generationErrorCodes;

/** Each failure code by name (`GenerationErrorCode.TIMEOUT`), so every use refers to the table above. */
export const GenerationErrorCode = Object.fromEntries(Object.keys(generationErrorCodes).map((code) => [code, code])) as {
  readonly [C in GenerationErrorCode]: C;
};

/** Base class of every error a client may see as data (a member of a mutation's result union). */
export class AppError extends Error {
  override name = 'AppError';
}

/** One input field and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
  /** The rule's stable name, for the few rules that have one. */
  code?: InputErrorCode;
}

/**
 * Stable names for input rules a client may want to react to in code (beyond showing the message); most
 * rules need none, since `field` already says what to fix.
 */
export const inputErrorCodes = {
  CONTINUE_FROM_NOT_FOUND: 'continueFrom names no generation of yours (unknown ids and other keys\' generations look the same).',
  CONTINUE_FROM_NOT_SUCCEEDED: 'The generation in continueFrom has not succeeded (yet): only a SUCCEEDED video has a last frame.',
  CONTINUE_FROM_VIDEO_EXPIRED: 'The video of the generation in continueFrom was deleted by the retention policy, and its last frame with it.',
  CONTINUE_FROM_NO_LAST_FRAME: 'The last frame of the generation in continueFrom could not be extracted when it was stored.',
  CONTINUE_FROM_WITH_IMAGE: 'continueFrom and image (or imageFile) both give the first frame; only one may be given.',
} as const;

export type InputErrorCode = keyof typeof inputErrorCodes;

/** Each input rule code by name, so every use refers to the table above. */
export const InputErrorCode = Object.fromEntries(Object.keys(inputErrorCodes).map((code) => [code, code])) as {
  readonly [C in InputErrorCode]: C;
};

/** The input broke a rule; `field` names the input field, `message` says what is allowed. */
export class InputError extends AppError {
  override name = 'InputError';
  /** Every broken rule, so a client can show them all at once; the first is `field` and `message`. */
  readonly problems: readonly FieldProblem[];
  constructor(
    readonly field: string,
    message: string,
    problems?: readonly FieldProblem[],
    /** The first rule's stable name, when it has one. */
    readonly code: InputErrorCode | null = null,
  ) {
    super(message);
    this.problems = problems ?? [{ field, message }];
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(readonly id: string) {
    super(`No generation with id "${id}" exists.`);
  }
}

/** The generation already finished, so there is nothing left to cancel. */
export class NotCancelableError extends AppError {
  override name = 'NotCancelableError';
  constructor(
    readonly id: string,
    readonly status: GenerationStatus,
  ) {
    super(`Generation "${id}" is already ${status} and can no longer be canceled.`);
  }
}

/** Invalid configuration: start-up stops with this one message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type BudgetScope = 'KEY' | 'SERVER';

/** A daily spend budget would be exceeded by this generation. */
export class BudgetExceededError extends AppError {
  override name = 'BudgetExceededError';
  constructor(
    readonly scope: BudgetScope,
    readonly limitUsd: number,
    readonly usedUsd: number,
    readonly priceUsd: number,
    readonly resetsAt: Date,
    /** What was asked for, as the message names it. */
    subject = 'this generation',
  ) {
    super(
      `${scope === 'KEY' ? 'Your API key' : 'The server'} has a daily budget of $${formatUsd(limitUsd)} and has used ` +
        `$${formatUsd(usedUsd)} today; ${subject} costs $${formatUsd(priceUsd)}. The budget resets at ` +
        `${resetsAt.toISOString()}, or ask for a cheaper video (shorter, or without audio).`,
    );
  }
}

/** The key already has as many unfinished generations as it may. */
export class TooManyActiveGenerationsError extends AppError {
  override name = 'TooManyActiveGenerationsError';
  constructor(
    readonly limit: number,
    readonly active: number,
    /** How many the refused request would have added (a story adds one per shot). */
    readonly adding = 1,
  ) {
    super(
      `Your API key may have ${limit} unfinished generations at once and has ${active}` +
        (adding > 1 ? `; this request adds ${adding}. Wait for some to finish, cancel some, or ask for fewer shots.` : '. Wait for one to finish, or cancel one.'),
    );
  }
}

/** The idempotency key was used before with a different input. */
export class IdempotencyKeyReusedError extends AppError {
  override name = 'IdempotencyKeyReusedError';
  constructor(
    readonly idempotencyKey: string,
    readonly generationId: string,
  ) {
    super(
      `idempotencyKey "${idempotencyKey}" was already used for a different input (generation ${generationId}). ` +
        'Use a new key for a new request, or send exactly the same input to get that generation back.',
    );
  }
}

/** An uploaded frame could not be stored at Segmind; nothing was queued. */
export class UploadFailedError extends AppError {
  override name = 'UploadFailedError';
  constructor() {
    super('The uploaded image could not be stored at Segmind right now. Nothing was queued or charged; try again, or pass an image URL.');
  }
}
