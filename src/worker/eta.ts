import type { GenerationStatus } from '../db/schema.js';

/** Fraction of the bar each status starts at; PROCESSING fills the space up to STORING. */
const STATUS_PROGRESS: Record<GenerationStatus, number> = {
  QUEUED: 0,
  SUBMITTED: 0.02,
  PROCESSING: 0.05,
  STORING: 0.95,
  SUCCEEDED: 1,
  FAILED: 0,
  CANCELED: 0,
};

export const progressAt = (status: GenerationStatus) => STATUS_PROGRESS[status];

/** `eta_seconds` is a Postgres integer: a larger ETA would fail the write that carries it. */
const MAX_ETA_SECONDS = 2_147_483_647;

/**
 * Whole seconds for an ETA column from a wait in milliseconds, always within the column: the wait may come
 * from upstream numbers, and a write that fails after Segmind accepted a job must never happen.
 */
export function etaSecondsFor(ms: number): number {
  const seconds = Math.ceil(ms / 1000);
  if (Number.isNaN(seconds)) return 0;
  return Math.min(MAX_ETA_SECONDS, Math.max(0, seconds));
}

/**
 * Estimates progress and seconds left while Segmind works, from the time since submission against the
 * expected job length. Never reaches STORING's share, and never promises less than a second, because
 * jobs that overrun are still running.
 */
export function estimateProgress(elapsedMs: number, expectedMs: number): { progress: number; etaSeconds: number } {
  const fraction = Math.min(1, Math.max(0, elapsedMs / Math.max(1, expectedMs)));
  const start = STATUS_PROGRESS.PROCESSING;
  const end = STATUS_PROGRESS.STORING - 0.01;
  return {
    progress: Math.round((start + (end - start) * fraction) * 1000) / 1000,
    etaSeconds: Math.max(1, etaSecondsFor(expectedMs - elapsedMs)),
  };
}
