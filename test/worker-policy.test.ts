import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { ConfigError } from '../src/generations/errors.js';
import type { GenerationErrorCode } from '../src/generations/errors.js';
import { backoffMs, decide, type BackoffOptions, type Decision } from '../src/worker/retry-policy.js';
import { estimateProgress, progressAt } from '../src/worker/job-timing.js';
import { kindForHttpStatus, SegmindError, type SegmindErrorKind } from '../src/segmind/errors.js';
import { parseRange } from '../src/storage/video-route.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const backoff: BackoffOptions = { baseMs: 1000, maxMs: 60_000, random: () => 0.5 };
/** The largest value an injected `random` may return: just below 1. */
const ALMOST_ONE = 1 - Number.EPSILON;

function httpError(status: number, extra: { retryAt?: Date; upstreamMessage?: string } = {}): SegmindError {
  return new SegmindError({ kind: kindForHttpStatus(status), httpStatus: status, requestSent: true, ...extra });
}

function expectFail(decision: Decision, code: GenerationErrorCode, retryable?: boolean) {
  expect(decision.action).toBe('fail');
  if (decision.action !== 'fail') return;
  expect(decision.code).toBe(code);
  if (retryable !== undefined) expect(decision.retryable).toBe(retryable);
  expect(decision.message.length).toBeGreaterThan(0);
}

function expectRetry(decision: Decision): number {
  expect(decision.action).toBe('retry');
  return decision.action === 'retry' ? decision.delayMs : Number.NaN;
}

describe('the failure policy for a submit', () => {
  const finalRows: [status: number, kind: SegmindErrorKind, code: GenerationErrorCode, retryable: boolean][] = [
    [400, 'bad_request', 'INVALID_INPUT', false],
    [401, 'unauthorized', 'UPSTREAM_UNAUTHORIZED', false],
    [402, 'insufficient_credits', 'INSUFFICIENT_CREDITS', true],
    [403, 'forbidden', 'UPSTREAM_FORBIDDEN', false],
    [404, 'not_found', 'MODEL_UNAVAILABLE', false],
    [406, 'insufficient_credits', 'INSUFFICIENT_CREDITS', true],
    [410, 'gone', 'MODEL_UNAVAILABLE', false],
  ];

  it.each(finalRows)('fails an HTTP %i (%s) at once with %s, retryable %s', (status, kind, code, retryable) => {
    expect(kindForHttpStatus(status)).toBe(kind);
    const error = httpError(status, { upstreamMessage: '<html>raw upstream page</html>' });
    expectFail(decide(error, 'submit', 1, backoff, NOW), code, retryable);
  });

  it('shows the user-readable message of a final failure, never the raw upstream text', () => {
    const error = httpError(403, { upstreamMessage: '<html><body>403 Forbidden by nginx</body></html>' });
    const decision = decide(error, 'submit', 1, backoff, NOW);
    expect(decision.action === 'fail' && decision.message).toBe(error.message);
    expect(error.message).not.toMatch(/<|nginx/);
  });

  it('waits for a 429 until the reset time plus less than a second of jitter', () => {
    const retryAt = new Date(NOW + 5000);
    for (const value of [0, 0.5, ALMOST_ONE]) {
      const delay = expectRetry(decide(httpError(429, { retryAt }), 'submit', 1, { ...backoff, random: () => value }, NOW));
      expect(delay).toBeGreaterThanOrEqual(5000);
      expect(delay).toBeLessThan(6000);
    }
    expect(expectRetry(decide(httpError(429, { retryAt }), 'submit', 1, { ...backoff, random: () => 0.25 }, NOW))).toBe(5250);
  });

  it('retries a 429 whose reset time has passed after the jitter alone', () => {
    const retryAt = new Date(NOW - 10_000);
    const delay = expectRetry(decide(httpError(429, { retryAt }), 'submit', 1, { ...backoff, random: () => 0.5 }, NOW));
    expect(delay).toBe(500);
  });

  it('waits one backoff base plus jitter for a 429 without a reset time', () => {
    const delay = expectRetry(decide(httpError(429), 'submit', 1, { ...backoff, random: () => 0 }, NOW));
    expect(delay).toBe(backoff.baseMs);
  });

  it('gives up on a submit that is still rate limited on its 20th try', () => {
    const retryAt = new Date(NOW + 1000);
    expectRetry(decide(httpError(429, { retryAt }), 'submit', 19, backoff, NOW));
    expectFail(decide(httpError(429, { retryAt }), 'submit', 20, backoff, NOW), 'UPSTREAM_UNAVAILABLE', true);
  });

  const transientNotSent: [string, () => SegmindError][] = [
    ['an HTTP 500', () => httpError(500)],
    ['an HTTP 502', () => httpError(502)],
    ['an HTTP 503', () => httpError(503)],
    ['an HTTP 504', () => httpError(504)],
    ['a connection that was never made', () => new SegmindError({ kind: 'network', requestSent: false })],
  ];

  it.each(transientNotSent)('backs off after %s and gives up after 5 tries with UPSTREAM_UNAVAILABLE', (_name, make) => {
    for (let tryNumber = 1; tryNumber <= 4; tryNumber++) {
      const delay = expectRetry(decide(make(), 'submit', tryNumber, { ...backoff, random: () => ALMOST_ONE }, NOW));
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(backoff.baseMs * 2 ** (tryNumber - 1));
    }
    expectFail(decide(make(), 'submit', 5, backoff, NOW), 'UPSTREAM_UNAVAILABLE', true);
    expectFail(decide(make(), 'submit', 6, backoff, NOW), 'UPSTREAM_UNAVAILABLE', true);
  });

  it.each([
    ['a timeout', () => new SegmindError({ kind: 'timeout', requestSent: true })],
    ['a connection lost after sending', () => new SegmindError({ kind: 'network', requestSent: true })],
  ])('treats %s as ambiguous: fails without resubmitting, and says the job may have been billed', (_name, make) => {
    const decision = decide(make(), 'submit', 1, backoff, NOW);
    expectFail(decision, 'UPSTREAM_UNAVAILABLE', true);
    expect(decision.action === 'fail' && decision.message).toMatch(/bill/i);
  });

  it('fails an unexpected non-Segmind error as INTERNAL without retrying', () => {
    expectFail(decide(new TypeError('x is undefined'), 'submit', 1, backoff, NOW), 'INTERNAL');
  });
});

describe('the failure policy for a status poll', () => {
  it('fails a 404 as RESULT_EXPIRED', () => {
    expectFail(decide(httpError(404), 'poll', 1, backoff, NOW), 'RESULT_EXPIRED');
  });

  it.each([
    ['an HTTP 500', () => httpError(500)],
    ['an HTTP 502', () => httpError(502)],
    ['a timeout', () => new SegmindError({ kind: 'timeout', requestSent: true })],
    ['a lost connection', () => new SegmindError({ kind: 'network', requestSent: true })],
    ['an HTTP 429', () => httpError(429, { retryAt: new Date(NOW + 1000) })],
  ])('keeps retrying after %s, however many times it happened', (_name, make) => {
    for (const tryNumber of [1, 5, 6, 50, 10_000]) {
      const delay = expectRetry(decide(make(), 'poll', tryNumber, backoff, NOW));
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(backoff.maxMs + 1000);
    }
  });

  it.each([
    [401, 'UPSTREAM_UNAUTHORIZED'],
    [403, 'UPSTREAM_FORBIDDEN'],
    [402, 'INSUFFICIENT_CREDITS'],
    [410, 'MODEL_UNAVAILABLE'],
  ] as const)('fails an HTTP %i at once with %s', (status, code) => {
    expectFail(decide(httpError(status), 'poll', 1, backoff, NOW), code);
  });

  it.each([400, 405, 422])('asks again after an HTTP %i (a status request has no user input to blame), then fails with UPSTREAM_UNAVAILABLE', (status) => {
    for (let tryNumber = 1; tryNumber <= 4; tryNumber++) expectRetry(decide(httpError(status), 'poll', tryNumber, backoff, NOW));
    expectFail(decide(httpError(status), 'poll', 5, backoff, NOW), 'UPSTREAM_UNAVAILABLE', true);
  });
});

describe('the failure policy for the video download', () => {
  it.each([
    ['a plain error', () => new Error('download answered HTTP 500')],
    ['a Segmind error', () => httpError(503)],
  ])('retries %s with backoff and gives up after 5 tries with STORAGE_FAILED', (_name, make) => {
    for (let tryNumber = 1; tryNumber <= 4; tryNumber++) {
      const delay = expectRetry(decide(make(), 'download', tryNumber, { ...backoff, random: () => ALMOST_ONE }, NOW));
      expect(delay).toBeLessThan(backoff.baseMs * 2 ** (tryNumber - 1));
    }
    expectFail(decide(make(), 'download', 5, backoff, NOW), 'STORAGE_FAILED', true);
  });
});

describe('backoffMs', () => {
  it('stays within [0, min(max, base·2^(n-1))) for every try and any random value', () => {
    const options = { baseMs: 1000, maxMs: 60_000 };
    for (let tryNumber = 1; tryNumber <= 12; tryNumber++) {
      const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (tryNumber - 1));
      expect(backoffMs(tryNumber, { ...options, random: () => 0 })).toBe(0);
      const top = backoffMs(tryNumber, { ...options, random: () => ALMOST_ONE });
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
      expect(backoffMs(tryNumber, { ...options, random: () => 0.5 })).toBe(Math.floor(ceiling / 2));
    }
  });

  it('caps the wait at maxMs', () => {
    expect(backoffMs(30, { baseMs: 1000, maxMs: 5000, random: () => ALMOST_ONE })).toBeLessThan(5000);
    expect(backoffMs(30, { baseMs: 1000, maxMs: 5000, random: () => 0.5 })).toBe(2500);
  });

  it('uses Math.random when no random is injected and still stays in range', () => {
    for (let i = 0; i < 200; i++) {
      const delay = backoffMs(3, { baseMs: 100, maxMs: 10_000 });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(400);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });
});

describe('estimateProgress', () => {
  const expectedMs = 100_000;

  it('starts at PROCESSING’s share and never goes backwards as time passes', () => {
    expect(estimateProgress(0, expectedMs).progress).toBe(progressAt('PROCESSING'));
    let previous = -1;
    for (let elapsed = 0; elapsed <= 3 * expectedMs; elapsed += 997) {
      const { progress } = estimateProgress(elapsed, expectedMs);
      expect(progress).toBeGreaterThanOrEqual(previous);
      previous = progress;
    }
  });

  it('stays below STORING’s 0.95 even when the job overruns', () => {
    expect(progressAt('STORING')).toBe(0.95);
    for (const elapsed of [expectedMs - 1, expectedMs, expectedMs * 2, expectedMs * 1000]) {
      const { progress } = estimateProgress(elapsed, expectedMs);
      expect(progress).toBeLessThan(progressAt('STORING'));
      expect(progress).toBeGreaterThan(0.9);
    }
  });

  it('never promises less than one second, and counts down while the job runs', () => {
    expect(estimateProgress(0, expectedMs).etaSeconds).toBe(100);
    expect(estimateProgress(40_000, expectedMs).etaSeconds).toBe(60);
    for (const elapsed of [99_500, expectedMs, expectedMs * 5]) {
      expect(estimateProgress(elapsed, expectedMs).etaSeconds).toBe(1);
    }
  });

  it('copes with a zero expected length and a clock that runs backwards', () => {
    const zero = estimateProgress(10, 0);
    expect(zero.progress).toBeLessThan(0.95);
    expect(zero.etaSeconds).toBe(1);
    const skewed = estimateProgress(-5000, expectedMs);
    expect(skewed.progress).toBe(progressAt('PROCESSING'));
    expect(skewed.etaSeconds).toBeGreaterThanOrEqual(1);
  });
});

describe('parseRange', () => {
  const size = 1000;

  it('sends the whole file when there is no Range header', () => {
    expect(parseRange(undefined, size)).toBeNull();
    expect(parseRange('', size)).toBeNull();
  });

  it('reads a closed range, clamping its end to the file', () => {
    expect(parseRange('bytes=0-99', size)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=500-500', size)).toEqual({ start: 500, end: 500 });
    expect(parseRange('bytes=900-5000', size)).toEqual({ start: 900, end: 999 });
  });

  it('reads an open-ended range to the end of the file', () => {
    expect(parseRange('bytes=100-', size)).toEqual({ start: 100, end: 999 });
    expect(parseRange('bytes=999-', size)).toEqual({ start: 999, end: 999 });
  });

  it('reads a suffix range as the last N bytes, or the whole file when N is larger', () => {
    expect(parseRange('bytes=-50', size)).toEqual({ start: 950, end: 999 });
    expect(parseRange('bytes=-5000', size)).toEqual({ start: 0, end: 999 });
  });

  it('ignores multiple ranges and malformed headers and sends the whole file', () => {
    expect(parseRange('bytes=0-1,5-9', size)).toBeNull();
    expect(parseRange('bytes=-', size)).toBeNull();
    expect(parseRange('items=0-9', size)).toBeNull();
    expect(parseRange('bytes=a-b', size)).toBeNull();
  });

  it('calls ranges outside the file unsatisfiable', () => {
    expect(parseRange(`bytes=${size}-`, size)).toBe('unsatisfiable');
    expect(parseRange('bytes=5000-6000', size)).toBe('unsatisfiable');
    expect(parseRange('bytes=50-10', size)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', size)).toBe('unsatisfiable');
  });
});

describe('loadConfig', () => {
  function configError(env: Record<string, string>): string {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
  }

  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      server: { role: 'all', logLevel: 'info', production: false, shutdownGraceMs: 30_000 },
      http: {
        port: 4000,
        host: '127.0.0.1',
        publicUrl: undefined,
        corsOrigins: [],
        metricsToken: undefined,
        readinessWorkerStaleMs: 30_000,
        webSocketKeepAliveMs: 12_000,
        refusedUploadLingerMs: 1000,
        keyCommandTimeoutMs: 30_000,
      },
      auth: { developmentKey: 'auto', developmentKeyDailyBudgetUsd: 2, videoUrlTtlSeconds: 86_400 },
      database: { url: undefined },
      storage: {
        dataDir: path.resolve('./.data'),
        maxVideoMb: 200,
        driver: 'local',
        s3Bucket: undefined,
        s3Endpoint: undefined,
        s3Region: 'us-east-1',
        s3ForcePathStyle: false,
        s3Prefix: 'videos/',
        s3Serve: 'redirect',
        s3PresignSeconds: 60,
        s3PartBytes: 5 * 1024 * 1024,
        s3RequestTimeoutMs: 30_000,
      },
      segmind: {
        apiKey: undefined,
        baseUrl: 'https://api.segmind.com',
        uploadUrl: 'https://workflows-api.segmind.com/upload-asset',
        outputHosts: ['*.segmind.com', '*.amazonaws.com', 'storage.googleapis.com'],
        requestTimeoutMs: 30_000,
        maxInFlight: 20,
        submitsPerMinute: 50,
        pollMinMs: 1000,
        pollMaxMs: 10_000,
        expectedJobMs: 100_000,
        simulatorProcessingMs: 15_000,
        frameUploadSlackMs: 30_000,
      },
      worker: {
        concurrency: 10,
        leaseMs: 30_000,
        heartbeatsPerLease: 3,
        minHeartbeatMs: 100,
        commitPatienceMs: 120_000,
        sweepMs: 1000,
        backoff: { baseMs: 1000, maxMs: 60_000 },
        submitLogPruneMs: 60_000,
        keyPrefixCacheSize: 10_000,
        lastWriteSlackMs: 2000,
        estimateSampleSize: 20,
        estimateCacheMs: 30_000,
        progressIntervalMs: { minMs: 200, maxMs: 2000, perJob: 20 },
      },
      limits: {
        dailyBudgetUsd: undefined,
        generationDeadlineMs: 900_000,
        minDeadlineSeconds: 30,
        maxSubscriptionsPerKey: 100,
        persistedQueries: 1000,
        persistedQueryBytes: 32768,
        jsonBodyBytes: 1024 * 1024,
        queryDepth: 12,
        queryAliases: 15,
        queryTokens: 2000,
        sseReservationMs: 5000,
        queryCost: 20_000,
        webSocketPayloadBytes: 64 * 1024,
        connectionInitMs: 5000,
        subscriptionsPerConnection: 20,
      },
      webhooks: {
        allowedHosts: [],
        retryDelaysMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        timeoutMs: 10_000,
        secretGraceSeconds: 86_400,
        concurrency: 10,
        leaseMs: 30_000,
        maxResponseBytes: 64 * 1024,
        jitter: 0.2,
        sweepMs: 1000,
      },
      retention: { videoDays: 30, eventDays: 90, intervalMs: 3_600_000, partialFileMaxAgeMs: 3_600_000, batchSize: 100 },
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', ROLE: '', SEGMIND_API_KEY: '', DATABASE_URL: '' })).toMatchObject({
      http: { port: 4000 },
      server: { role: 'all' },
      segmind: { apiKey: undefined },
      database: { url: undefined },
    });
  });

  it('reads valid values and drops a trailing slash from URLs', () => {
    const config = loadConfig({
      PORT: '8080',
      ROLE: 'worker',
      SEGMIND_BASE_URL: 'http://127.0.0.1:9999/',
      PUBLIC_URL: 'https://videos.example.com//',
      SEGMIND_POLL_MIN_MS: '200',
      SEGMIND_POLL_MAX_MS: '200',
    });
    expect(config).toMatchObject({
      http: { port: 8080, publicUrl: 'https://videos.example.com' },
      server: { role: 'worker' },
      segmind: { baseUrl: 'http://127.0.0.1:9999', pollMinMs: 200, pollMaxMs: 200 },
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ ROLE: 'boss' }, 'ROLE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SEGMIND_POLL_MIN_MS: '2000', SEGMIND_POLL_MAX_MS: '1000' }, 'SEGMIND_POLL_MAX_MS'],
    [{ SEGMIND_POLL_MAX_MS: '5' }, 'SEGMIND_POLL_MAX_MS'],
    [{ SEGMIND_BASE_URL: 'ftp://x' }, 'SEGMIND_BASE_URL'],
    [{ SEGMIND_BASE_URL: 'not a url' }, 'SEGMIND_BASE_URL'],
    [{ PUBLIC_URL: 'javascript:alert(1)' }, 'PUBLIC_URL'],
    [{ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    [{ WEBHOOK_RETRY_DELAYS_MS: '5000,soon' }, 'WEBHOOK_RETRY_DELAYS_MS'],
    [{ WEBHOOK_RETRY_DELAYS_MS: '-1' }, 'WEBHOOK_RETRY_DELAYS_MS'],
    [{ WEBHOOK_TIMEOUT_MS: '120000' }, 'WEBHOOK_TIMEOUT_MS'],
    [{ WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_LEASE_MS: '15000' }, 'WEBHOOK_LEASE_MS'],
    [{ WEBHOOK_ALLOWED_HOSTS: 'http://hooks.example.com/' }, 'WEBHOOK_ALLOWED_HOSTS'],
    [{ LEASE_MS: '10' }, 'LEASE_MS'],
  ])('rejects %o with a message naming %s', (env, variable) => {
    const message = configError(env);
    expect(message).toContain(variable);
    // The message quotes the bad value so the operator can find it.
    const bad = Object.entries(env).find(([name]) => name === variable)?.[1] ?? '';
    expect(message).toContain(bad);
  });
});
