import type { GenerationRow, GenerationStatus, StoryRow } from '../db/schema.js';

/*
 * What a story is, read from its shots: the one rule for its status, progress, ETA, cost and error while the
 * shots run. Plain functions of the rows, so the rule is the same wherever a shot changes.
 */

/** The part of a story's progress its shots make; the rest is stitching them into one video. */
export const SHOTS_SHARE_OF_PROGRESS = 0.95;

/** The story columns its shots decide. */
export type StoryStateFromShots = Pick<
  StoryRow,
  'status' | 'progress' | 'etaSeconds' | 'costUsd' | 'errorCode' | 'errorMessage' | 'errorRetryable' | 'completedAt'
>;

/** The shot a story is waiting on: the first one that has not succeeded. */
export const currentShot = (shots: readonly GenerationRow[]): GenerationRow | undefined => shots.find((shot) => shot.status !== 'SUCCEEDED');

/** "Shot 2 of 3". */
export const shotName = (shot: Pick<GenerationRow, 'storyShot'>, count: number): string => `Shot ${(shot.storyShot ?? 0) + 1} of ${count}`;

/** The cost of all shots as the decimal string the column holds. */
const costOf = (shots: readonly GenerationRow[]) => shots.reduce((sum, shot) => sum + Number(shot.costUsd), 0).toFixed(4);

/** Each shot's progress weighted by its length: a long shot moves the story more than a short one. */
function shotsProgress(shots: readonly GenerationRow[]): number {
  const total = shots.reduce((sum, shot) => sum + shot.durationSeconds, 0);
  if (total === 0) return 0;
  const done = shots.reduce((sum, shot) => sum + shot.durationSeconds * (shot.status === 'SUCCEEDED' ? 1 : shot.progress), 0);
  return Math.min(1, done / total);
}

/**
 * Seconds until the last shot is done: the current shot's ETA, and for each shot after it as long as the current
 * one takes in all (its elapsed time plus its ETA). Null while the current shot has no ETA.
 */
function shotsEta(shots: readonly GenerationRow[], now: Date): number | null {
  const current = currentShot(shots);
  if (!current) return 0;
  if (current.etaSeconds === null) return null;
  const waiting = shots.filter((shot) => (shot.storyShot ?? 0) > (current.storyShot ?? 0)).length;
  const started = current.submittedAt ?? current.createdAt;
  const perShot = Math.max(0, (now.getTime() - started.getTime()) / 1000) + current.etaSeconds;
  return Math.round(current.etaSeconds + waiting * perShot);
}

/** The story's status while its shots run (never SUCCEEDED: only the stitched video makes a story succeed). */
function statusFromShots(shots: readonly GenerationRow[]): GenerationStatus {
  if (shots.some((shot) => shot.status === 'FAILED')) return 'FAILED';
  if (shots.some((shot) => shot.status === 'CANCELED')) return 'CANCELED';
  const current = currentShot(shots);
  if (!current) return 'STORING';
  // Queued until its first shot is sent; from then on it is being made, shot after shot.
  if (current.storyShot === 0 && current.status === 'QUEUED') return 'QUEUED';
  if (current.storyShot === 0 && current.status === 'SUBMITTED') return 'SUBMITTED';
  return 'PROCESSING';
}

/**
 * The story as its shots make it. A FAILED story names the shot that failed and takes its code; the shots before
 * it stay SUCCEEDED and visible.
 */
export function storyStateFromShots(story: StoryRow, shots: readonly GenerationRow[], now = new Date()): StoryStateFromShots {
  const status = statusFromShots(shots);
  const failed = shots.find((shot) => shot.status === 'FAILED');
  const ended = status === 'FAILED' || status === 'CANCELED';
  return {
    status,
    progress: status === 'STORING' ? SHOTS_SHARE_OF_PROGRESS : Math.round(shotsProgress(shots) * SHOTS_SHARE_OF_PROGRESS * 1000) / 1000,
    etaSeconds: ended ? null : shotsEta(shots, now),
    costUsd: costOf(shots),
    errorCode: failed?.errorCode ?? null,
    errorMessage: failed ? `${shotName(failed, story.shotCount)} failed: ${failed.errorMessage ?? 'no reason given.'}` : null,
    errorRetryable: failed ? (failed.errorRetryable ?? false) : null,
    completedAt: ended ? (story.completedAt ?? now) : null,
  };
}

/** Whether anything a client sees differs between the story and the state its shots give it. */
export function storyStateChanged(story: StoryRow, next: StoryStateFromShots): boolean {
  return (
    story.status !== next.status ||
    story.progress !== next.progress ||
    story.etaSeconds !== next.etaSeconds ||
    Number(story.costUsd) !== Number(next.costUsd) ||
    story.errorCode !== next.errorCode ||
    story.errorMessage !== next.errorMessage
  );
}
