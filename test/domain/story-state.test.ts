import { describe, expect, it } from 'vitest';
import type { GenerationRow, GenerationStatus, StoryRow } from '../../src/db/schema.js';
import { SHOTS_SHARE_OF_PROGRESS, storyStateFromShots } from '../../src/stories/story-state.js';

const now = new Date('2026-12-02T12:00:00Z');
const story = { shotCount: 3, completedAt: null } as StoryRow;

/** A shot with only the fields the story's state reads. */
function shot(index: number, status: GenerationStatus, fields: Partial<GenerationRow> = {}): GenerationRow {
  return {
    storyShot: index,
    status,
    durationSeconds: 4,
    progress: status === 'SUCCEEDED' ? 1 : 0,
    etaSeconds: null,
    costUsd: '0.60',
    errorCode: null,
    errorMessage: null,
    errorRetryable: null,
    createdAt: now,
    submittedAt: null,
    ...fields,
  } as GenerationRow;
}

describe("a story's state, read from its shots", () => {
  it('weighs each shot by its length: a finished 8 s shot moves the story twice as far as a 4 s one', () => {
    const shots = [shot(0, 'SUCCEEDED', { durationSeconds: 8 }), shot(1, 'PROCESSING', { progress: 0.5 }), shot(2, 'QUEUED')];
    const state = storyStateFromShots(story, shots, now);
    expect(state.status).toBe('PROCESSING');
    expect(state.progress).toBeCloseTo(((8 + 2) / 16) * SHOTS_SHARE_OF_PROGRESS, 3);
    expect(state.costUsd).toBe('1.8000');
  });

  it('is QUEUED until its first shot is sent, and STORING once every shot succeeded', () => {
    expect(storyStateFromShots(story, [shot(0, 'QUEUED'), shot(1, 'QUEUED'), shot(2, 'QUEUED')], now).status).toBe('QUEUED');
    const done = storyStateFromShots(story, [shot(0, 'SUCCEEDED'), shot(1, 'SUCCEEDED'), shot(2, 'SUCCEEDED')], now);
    expect(done).toMatchObject({ status: 'STORING', progress: SHOTS_SHARE_OF_PROGRESS, etaSeconds: 0 });
  });

  it('counts the shots still to come in its ETA, each as long as the current one takes', () => {
    const started = new Date(now.getTime() - 20_000);
    const shots = [shot(0, 'PROCESSING', { submittedAt: started, etaSeconds: 10 }), shot(1, 'QUEUED'), shot(2, 'QUEUED')];
    expect(storyStateFromShots(story, shots, now).etaSeconds).toBe(10 + 2 * 30);
  });

  it('FAILS naming the shot and taking its code, and ends CANCELED when a shot was canceled', () => {
    const failed = storyStateFromShots(
      story,
      [shot(0, 'SUCCEEDED'), shot(1, 'FAILED', { errorCode: 'TIMEOUT', errorMessage: 'Too slow.', errorRetryable: true }), shot(2, 'CANCELED')],
      now,
    );
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'TIMEOUT', errorMessage: 'Shot 2 of 3 failed: Too slow.', errorRetryable: true, etaSeconds: null });
    expect(failed.completedAt).toEqual(now);
    expect(storyStateFromShots(story, [shot(0, 'CANCELED'), shot(1, 'CANCELED'), shot(2, 'CANCELED')], now).status).toBe('CANCELED');
  });
});
