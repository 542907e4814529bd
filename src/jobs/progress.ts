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
    etaSeconds: Math.max(1, Math.ceil((expectedMs - elapsedMs) / 1000)),
  };
}
