import { describe, expect, it } from 'vitest';
import { SegmindError, type SegmindErrorKind } from '../../src/segmind/errors.js';
import { backoffMs, decide, type BackoffOptions, type Phase } from '../../src/worker/retry-policy.js';

/**
 * The failure policy in process: for each phase and error kind, whether a failure is retried, after how long,
 * and what it is failed with. Segmind bills every submit it accepts, so the rules that stop a second submit
 * (an ambiguous failure, an answer with a 2xx) matter most.
 */

const NOW = Date.parse('2026-03-01T08:00:00Z');
const options: BackoffOptions = { baseMs: 200, maxMs: 10_000, random: () => 0 };
const KINDS: readonly SegmindErrorKind[] = [
  'bad_request', 'unauthorized', 'insufficient_credits', 'forbidden', 'not_found', 'gone',
  'rate_limited', 'server', 'network', 'timeout',
];

function segmindError(kind: SegmindErrorKind, more: { httpStatus?: number; requestSent?: boolean; retryAt?: Date } = {}) {
  return new SegmindError({ kind, requestSent: more.requestSent ?? true, ...more });
}

/** The decision as one comparable value: the action and what it carries besides free text. */
function outcome(error: unknown, phase: Phase, tryNumber = 1, backoff = options) {
  const decision = decide(error, phase, tryNumber, backoff, NOW);
  return decision.action === 'retry'
    ? { retry: decision.delayMs }
    : { fail: decision.code, retryable: decision.retryable, mayBeCharged: decision.mayBeCharged ?? false };
}

describe('a submit', () => {
  it.each([
    ['bad_request', 'INVALID_INPUT', false],
    ['unauthorized', 'UPSTREAM_UNAUTHORIZED', false],
    ['insufficient_credits', 'INSUFFICIENT_CREDITS', true],
    ['forbidden', 'UPSTREAM_FORBIDDEN', false],
    ['not_found', 'MODEL_UNAVAILABLE', false],
    ['gone', 'MODEL_UNAVAILABLE', false],
  ] as const)('fails %s at once with %s (retryable by the user: %s) and no charge', (kind, code, retryable) => {
    expect(outcome(segmindError(kind, { httpStatus: 400 }), 'submit')).toEqual({ fail: code, retryable, mayBeCharged: false });
  });

  it.each(['server', 'network'] as const)('backs off after %s that never reached Segmind, four times, then fails', (kind) => {
    const error = segmindError(kind, { requestSent: false });
    for (const tryNumber of [1, 2, 3, 4]) expect(outcome(error, 'submit', tryNumber)).toEqual({ retry: 0 });
    expect(outcome(error, 'submit', 5)).toEqual({ fail: 'UPSTREAM_UNAVAILABLE', retryable: true, mayBeCharged: false });
  });

  it.each([
    ['a timeout', segmindError('timeout')],
    ['a connection lost after the request went out', segmindError('network', { requestSent: true })],
  ])('is never sent again after %s, and may be charged', (_name, error) => {
    expect(outcome(error, 'submit', 1)).toEqual({ fail: 'UPSTREAM_UNAVAILABLE', retryable: true, mayBeCharged: true });
  });

  it.each(KINDS)('counts an answer with a 2xx as an acceptance whatever its kind (%s): no second submit, may be charged', (kind) => {
    for (const httpStatus of [200, 201, 299]) {
      expect(outcome(segmindError(kind, { httpStatus }), 'submit', 1)).toEqual({ fail: 'UPSTREAM_UNREADABLE', retryable: true, mayBeCharged: true });
    }
  });

  it('does not count a 1xx or 3xx answer as an acceptance', () => {
    expect(outcome(segmindError('bad_request', { httpStatus: 302 }), 'submit')).toMatchObject({ fail: 'INVALID_INPUT' });
    expect(outcome(segmindError('server', { httpStatus: 100, requestSent: false }), 'submit')).toEqual({ retry: 0 });
  });

  it('fails an error that is not a SegmindError as INTERNAL that may be charged, keeping its message', () => {
    const decision = decide(new RangeError('offset out of range'), 'submit', 1, options, NOW);
    expect(decision).toEqual({ action: 'fail', code: 'INTERNAL', retryable: true, mayBeCharged: true, message: 'offset out of range' });
  });

  it('waits for a rate limit until its reset, but never longer than maxMs, and gives up on try 20', () => {
    const soon = segmindError('rate_limited', { httpStatus: 429, retryAt: new Date(NOW + 3000) });
    const far = segmindError('rate_limited', { httpStatus: 429, retryAt: new Date(NOW + 3_600_000) });
    expect(outcome(soon, 'submit', 1)).toEqual({ retry: 3000 });
    expect(outcome(far, 'submit', 1)).toEqual({ retry: options.maxMs });
    expect(outcome(soon, 'submit', 19)).toEqual({ retry: 3000 });
    expect(outcome(soon, 'submit', 20)).toMatchObject({ fail: 'UPSTREAM_UNAVAILABLE', retryable: true });
  });

  it('backs a rate limit without a reset off exponentially, capped at maxMs', () => {
    const error = segmindError('rate_limited', { httpStatus: 429 });
    expect([1, 2, 3, 4, 10].map((tryNumber) => outcome(error, 'submit', tryNumber))).toEqual(
      [200, 400, 800, 1600, 10_000].map((retry) => ({ retry })),
    );
  });
});

describe('a status poll', () => {
  it.each(['rate_limited', 'server', 'network', 'timeout'] as const)('keeps retrying %s at any try count', (kind) => {
    expect(outcome(segmindError(kind), 'poll', 1_000_000)).toHaveProperty('retry');
  });

  it('treats a 2xx poll answer by its kind, not as an acceptance: a job still running is asked again', () => {
    expect(outcome(segmindError('server', { httpStatus: 200 }), 'poll', 3)).toEqual({ retry: 0 });
  });

  it('fails an unknown request as RESULT_EXPIRED and asks again after a bad request only four times', () => {
    expect(outcome(segmindError('not_found'), 'poll')).toEqual({ fail: 'RESULT_EXPIRED', retryable: true, mayBeCharged: false });
    expect(outcome(segmindError('bad_request'), 'poll', 4)).toEqual({ retry: 0 });
    expect(outcome(segmindError('bad_request'), 'poll', 5)).toMatchObject({ fail: 'UPSTREAM_UNAVAILABLE' });
  });

  it('keeps retrying an error of ours instead of failing the job', () => {
    expect(outcome(new Error('unexpected'), 'poll', 500)).toHaveProperty('retry');
  });
});

describe('a download', () => {
  it.each(KINDS)('ignores the Segmind kind (%s): backs off four times, then fails with STORAGE_FAILED', (kind) => {
    const error = segmindError(kind, { httpStatus: 400 });
    expect(outcome(error, 'download', 4)).toEqual({ retry: 0 });
    expect(outcome(error, 'download', 5)).toEqual({ fail: 'STORAGE_FAILED', retryable: true, mayBeCharged: false });
  });
});

describe('backoffMs', () => {
  it('doubles its ceiling per try from baseMs, caps it at maxMs, and scales it by the random value', () => {
    const at = (tryNumber: number, value: number) => backoffMs(tryNumber, { baseMs: 100, maxMs: 1000, random: () => value });
    expect([1, 2, 3, 4, 5, 6].map((tryNumber) => at(tryNumber, 0.5))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(at(3, 0)).toBe(0);
    expect(at(3, 0.999)).toBe(399);
  });

  it('treats a try number below 1 as the first try', () => {
    expect(backoffMs(0, { baseMs: 100, maxMs: 1000, random: () => 0.5 })).toBe(50);
    expect(backoffMs(-3, { baseMs: 100, maxMs: 1000, random: () => 0.5 })).toBe(50);
  });
});
