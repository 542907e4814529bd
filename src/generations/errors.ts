import type { GenerationStatus } from '../db/schema.js';

/** Base class of every error a client may see as data (a member of a mutation's result union). */
export class AppError extends Error {
  override name = 'AppError';
}

/** The input broke a rule; `field` names the input field, `message` says what is allowed. */
/** One input field and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class InputError extends AppError {
  override name = 'InputError';
  /** Every broken rule, so a client can show them all at once; the first is `field` and `message`. */
  readonly problems: readonly FieldProblem[];
  constructor(
    readonly field: string,
    message: string,
    problems?: readonly FieldProblem[],
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
  ) {
    super(
      `${scope === 'KEY' ? 'Your API key' : 'The server'} has a daily budget of $${limitUsd.toFixed(2)} and has used ` +
        `$${usedUsd.toFixed(2)} today; this generation costs $${priceUsd.toFixed(2)}. The budget resets at ` +
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
  ) {
    super(`Your API key may have ${limit} unfinished generations at once and has ${active}. Wait for one to finish, or cancel one.`);
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
