import type { GenerationStatus } from './db/schema.js';

/** Base class of every error a client may see as data (a member of a mutation's result union). */
export class AppError extends Error {
  override name = 'AppError';
}

/** The input broke a rule; `field` names the input field, `message` says what is allowed. */
export class InputError extends AppError {
  override name = 'InputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
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
