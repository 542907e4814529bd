/** Load generation for the HTTP scenarios: a closed loop at fixed concurrency and an open loop at a fixed rate. */

import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './support.js';

/** Several runs as one: counts and time added, latencies pooled (`latencies` is every run's sink). */
export function mergeLoads<T extends LoadResult>(runs: T[], latencies: number[]): LoadResult & { skipped: number } {
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  const ok = runs.reduce((sum, r) => sum + r.ok, 0);
  return {
    ok,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    skipped: runs.reduce((sum, r) => sum + ((r as { skipped?: number }).skipped ?? 0), 0),
    firstError: runs.find((r) => r.firstError)?.firstError,
    seconds,
    requestsPerSecond: ok / seconds,
    latencyMs: latencyStats(latencies),
  };
}

/** Latency figures in milliseconds. */
export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  if (values.length === 0) return { count: 0, mean: Number.NaN, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    sum += v;
    if (v > max) max = v;
  }
  return { count: values.length, mean: sum / values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max };
}

export interface LoadResult {
  /** Requests that completed successfully. */
  ok: number;
  errors: number;
  /** First error message, to show why a run failed. */
  firstError?: string;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: LatencyStats;
}

async function timed(request: () => Promise<void>, latencies: number[], fail: (e: unknown) => void): Promise<void> {
  const start = performance.now();
  try {
    await request();
    latencies.push(performance.now() - start);
  } catch (error) {
    fail(error);
  }
}

/** `concurrency` workers each send one request after another for `durationMs`. */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  request: (worker: number) => Promise<void>,
  /** Also receives every latency, to merge several runs. */
  sink?: number[],
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const fail = (error: unknown) => {
    errors += 1;
    firstError ??= String(error);
  };
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) await timed(() => request(worker), latencies, fail);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  sink?.push(...latencies);
  return { ok: latencies.length, errors, firstError, seconds, requestsPerSecond: latencies.length / seconds, latencyMs: latencyStats(latencies) };
}

/**
 * Starts a request every 1/rate s for `durationMs` whether or not earlier ones finished (open loop: latency
 * includes queueing), never more than `maxOutstanding` at once (skipped starts count as errors).
 */
export async function pacedLoop(
  rate: number,
  durationMs: number,
  request: () => Promise<void>,
  maxOutstanding = 1000,
  /** Also receives every latency, to merge several runs. */
  sink?: number[],
): Promise<LoadResult & { skipped: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let skipped = 0;
  let firstError: string | undefined;
  const fail = (error: unknown) => {
    errors += 1;
    firstError ??= String(error);
  };
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (inFlight.size >= maxOutstanding) {
      skipped += 1;
      continue;
    }
    // The latency is measured from when the request was due, so a late start counts against it.
    const p = (async () => {
      try {
        await request();
        latencies.push(performance.now() - due);
      } catch (error) {
        fail(error);
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  sink?.push(...latencies);
  return {
    ok: latencies.length,
    errors: errors + skipped,
    skipped,
    firstError,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: latencyStats(latencies),
  };
}
