import { SegmindError, type SegmindErrorKind } from '../segmind/errors.js';
import { GenerationErrorCode } from '../generations/errors.js';

/** Where in a generation's life a call failed. */
export type Phase = 'submit' | 'poll' | 'download' | 'upload';

/** What to do about one failure. */
export type Decision =
  | { action: 'fail'; code: GenerationErrorCode; message: string; retryable: boolean; mayBeCharged?: boolean }
  | { action: 'retry'; reason: string; delayMs: number };

type Rule =
  | { action: 'fail'; code: GenerationErrorCode; retryable: boolean; message?: string; mayBeCharged?: boolean }
  | { action: 'backoff'; maxTries: number; exhausted: GenerationErrorCode }
  | { action: 'wait-for-reset'; maxTries: number };

const finalRules: Partial<Record<SegmindErrorKind, Rule>> = {
  bad_request: { action: 'fail', code: GenerationErrorCode.INVALID_INPUT, retryable: false },
  unauthorized: { action: 'fail', code: GenerationErrorCode.UPSTREAM_UNAUTHORIZED, retryable: false },
  insufficient_credits: { action: 'fail', code: GenerationErrorCode.INSUFFICIENT_CREDITS, retryable: true },
  forbidden: { action: 'fail', code: GenerationErrorCode.UPSTREAM_FORBIDDEN, retryable: false },
  gone: { action: 'fail', code: GenerationErrorCode.MODEL_UNAVAILABLE, retryable: false },
};

/**
 * The retry policy as data: phase → failure kind → rule. Segmind bills every accepted submit and has no
 * idempotency, so a submit is retried only when Segmind certainly did not take it.
 */
const policy: Record<Phase, Partial<Record<SegmindErrorKind | 'accepted' | 'ambiguous' | 'unknown', Rule>>> = {
  submit: {
    ...finalRules,
    not_found: { action: 'fail', code: GenerationErrorCode.MODEL_UNAVAILABLE, retryable: false },
    rate_limited: { action: 'wait-for-reset', maxTries: 20 },
    server: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    network: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    ambiguous: {
      action: 'fail',
      code: GenerationErrorCode.UPSTREAM_UNAVAILABLE,
      retryable: true,
      mayBeCharged: true,
      message:
        'Segmind did not confirm the submission. It may still have accepted (and will bill) the job, so it was not sent again; ask for a new generation if no video arrives.',
    },
    // Segmind answered 2xx: it took (and bills) the job, whatever the body said or failed to say.
    accepted: {
      action: 'fail',
      code: GenerationErrorCode.UPSTREAM_UNREADABLE,
      retryable: true,
      mayBeCharged: true,
      message:
        'Segmind accepted the submission but its answer could not be read, so the job cannot be followed. It was not sent again and its charge may apply; ask for a new generation.',
    },
    // The client throws nothing but SegmindError: anything else is a bug of ours, which may have struck after
    // Segmind accepted the job.
    unknown: { action: 'fail', code: GenerationErrorCode.INTERNAL, retryable: true, mayBeCharged: true },
  },
  poll: {
    ...finalRules,
    not_found: { action: 'fail', code: GenerationErrorCode.RESULT_EXPIRED, retryable: true },
    // A status request has no input of the user's to reject: an odd 4xx (a 422 without a final status, a 405
    // page) says nothing about the prompt, so it is asked again a few times and then blamed on Segmind.
    bad_request: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    // Polling is free and safe to repeat: keep going; the generation deadline bounds it.
    rate_limited: { action: 'wait-for-reset', maxTries: Number.POSITIVE_INFINITY },
    server: { action: 'backoff', maxTries: Number.POSITIVE_INFINITY, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    network: { action: 'backoff', maxTries: Number.POSITIVE_INFINITY, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    timeout: { action: 'backoff', maxTries: Number.POSITIVE_INFINITY, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    unknown: { action: 'backoff', maxTries: Number.POSITIVE_INFINITY, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
  },
  // A continuation's first frame going to Segmind's asset storage: free and safe to repeat (an upload is no
  // job), so whatever is not a final answer about our account is retried a few times.
  upload: {
    ...finalRules,
    not_found: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    rate_limited: { action: 'wait-for-reset', maxTries: 5 },
    server: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    network: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    timeout: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
    unknown: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.UPSTREAM_UNAVAILABLE },
  },
  // The video file outlives the job record by days, so downloads retry a few times before giving up.
  download: {
    unknown: { action: 'backoff', maxTries: 5, exhausted: GenerationErrorCode.STORAGE_FAILED },
  },
};

export interface BackoffOptions {
  baseMs: number;
  /** The longest single wait: for a backoff, and for a rate limit's reset however far away Segmind puts it. */
  maxMs: number;
  /** Injected for tests; returns a number in [0, 1). */
  random?: () => number;
}

/** Exponential backoff with full jitter: a random wait in [0, min(max, base·2^try)). */
export function backoffMs(tryNumber: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, tryNumber - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * How long to wait for a rate limit: until the reset Segmind names, but never longer than `maxMs` (its limits
 * are per minute, so a reset further away is not believed). Without a usable reset, exponential backoff.
 */
function rateLimitWaitMs(error: unknown, tryNumber: number, backoff: BackoffOptions, now: number): number {
  const resetAt = error instanceof SegmindError ? error.retryAt?.getTime() : undefined;
  if (resetAt === undefined || !Number.isFinite(resetAt)) {
    return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, tryNumber - 1));
  }
  return Math.min(backoff.maxMs, Math.max(0, resetAt - now));
}

function classify(error: unknown, phase: Phase): SegmindErrorKind | 'accepted' | 'ambiguous' | 'unknown' {
  if (phase === 'download' || !(error instanceof SegmindError)) return 'unknown';
  if (phase === 'submit' && error.answeredWith2xx) return 'accepted';
  if (phase === 'submit' && (error.kind === 'timeout' || (error.kind === 'network' && error.requestSent))) {
    return 'ambiguous';
  }
  return error.kind;
}

/** Decides what a failure in `phase` on try number `tryNumber` (1-based) leads to. */
export function decide(error: unknown, phase: Phase, tryNumber: number, backoff: BackoffOptions, now = Date.now()): Decision {
  const kind = classify(error, phase);
  const rule = policy[phase][kind] ?? policy[phase].unknown ?? { action: 'fail', code: GenerationErrorCode.INTERNAL, retryable: true };
  const reason = error instanceof Error ? error.message : String(error);
  switch (rule.action) {
    case 'fail':
      return {
        action: 'fail',
        code: rule.code,
        retryable: rule.retryable,
        message: rule.message ?? reason,
        ...(rule.mayBeCharged && { mayBeCharged: true }),
      };
    case 'wait-for-reset': {
      if (tryNumber >= rule.maxTries) {
        return { action: 'fail', code: GenerationErrorCode.UPSTREAM_UNAVAILABLE, retryable: true, message: 'Segmind kept rate limiting the submission.' };
      }
      const jitter = Math.floor((backoff.random ?? Math.random)() * 1000);
      return { action: 'retry', reason: 'rate limited by Segmind', delayMs: rateLimitWaitMs(error, tryNumber, backoff, now) + jitter };
    }
    case 'backoff':
      if (tryNumber >= rule.maxTries) return { action: 'fail', code: rule.exhausted, retryable: true, message: reason };
      return { action: 'retry', reason, delayMs: backoffMs(tryNumber, backoff) };
  }
}
