import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { and, asc, count, eq, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import { shotsOf } from '../db/stories.js';
import { stories, storyEvents, type StoryRow } from '../db/schema.js';
import { GenerationErrorCode } from '../generations/errors.js';
import type { Logger } from '../logger.js';
import { describeStoredVideo } from '../media/describe.js';
import type { FfmpegOptions } from '../media/ffmpeg.js';
import { StitchError, stitchClips } from '../media/stitch.js';
import type { VideoStorage } from '../storage/video-storage.js';
import { storyVideoKey } from '../storage/video-route.js';
import { StoryEventType, updateStory, updateStoryTx } from './story-timeline.js';

/*
 * Stitching a story whose shots all succeeded: copy the shots out of storage into temporary files, join them
 * with ffmpeg (no re-encode when they share codec parameters), store the result as `story-<id>.mp4`, probe it and
 * make its stills, and mark the story SUCCEEDED. Every step can be done again, so a worker that dies midway
 * leaves a lease that expires and a story another worker stitches from the start; failures and such stops are
 * retried a few times, then the story FAILS with STITCH_FAILED while its shots stay SUCCEEDED and visible.
 */

/** Tries before a story fails with STITCH_FAILED. */
export const MAX_STITCH_ATTEMPTS = 3;

/** Wait before the next try, doubling: a full disk or a storage outage gets a moment to clear. */
const STITCH_RETRY_BASE_MS = 2000;

export interface StitchDeps {
  db: Db;
  storage: VideoStorage;
  workerId: string;
  leaseMs: number;
  ffmpeg: FfmpegOptions;
  /** Largest shot video accepted; the stitched one may be as large as all of them together. */
  maxVideoBytes: number;
  log: Logger;
}

/** Every stitch works in a fresh temporary directory named so. */
const STITCH_DIR_PREFIX = 'reelql-stitch-';

/**
 * Removes the temporary directories of stitches that died with their process (SIGKILL skips every `finally`):
 * only those untouched for `olderThanMs`, longer than any live stitch takes, as other processes may stitch now.
 */
export async function removeStaleStitchDirs(olderThanMs: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(os.tmpdir()).catch(() => [])) {
    if (!name.startsWith(STITCH_DIR_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const info = await stat(dir).catch(() => null);
    if (!info || Date.now() - info.mtimeMs < olderThanMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

const leaseUntil = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

/**
 * Claims the most overdue story due for stitching that no live worker holds (SKIP LOCKED passes over others' claims).
 * A story whose lease ran out still named its worker: that worker stopped mid-stitch (SIGKILL, out of memory, a
 * database outage longer than the lease) and left no failure behind. That counts as a try too, so a stitch that
 * kills its process every time ends the story with STITCH_FAILED instead of looping; such a story is ended here
 * and not returned.
 */
export async function claimStitch(db: Db, workerId: string, leaseMs: number): Promise<StoryRow | null> {
  return db.transaction(async (tx) => {
    const [due] = await tx
      .select({ id: stories.id, previousOwner: stories.leaseOwner })
      .from(stories)
      .where(
        and(
          eq(stories.status, 'STORING'),
          lte(stories.runAfter, sql`now()`),
          or(isNull(stories.leaseExpiresAt), lt(stories.leaseExpiresAt, sql`now()`)),
        ),
      )
      .orderBy(asc(stories.runAfter))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!due) return null;
    const lease = { leaseOwner: workerId, leaseExpiresAt: leaseUntil(leaseMs) };
    if (due.previousOwner === null) {
      const [row] = await tx.update(stories).set(lease).where(eq(stories.id, due.id)).returning();
      return row ?? null;
    }
    const tries = (await failedTries(tx, due.id)) + 1;
    if (tries >= MAX_STITCH_ATTEMPTS) {
      await updateStoryTx(tx, due.id, {
        from: ['STORING'],
        set: stitchFailed(tries),
        event: { type: StoryEventType.Failed, message: `Stitching stopped or failed ${tries} times; the story fails with STITCH_FAILED.` },
      });
      return null;
    }
    return updateStoryTx(tx, due.id, {
      from: ['STORING'],
      set: lease,
      event: {
        type: StoryEventType.StitchRetry,
        message: `The worker stitching this story stopped before it finished (try ${tries} of ${MAX_STITCH_ATTEMPTS}); it is stitched again.`,
      },
    });
  });
}

/** What a story that could not be stitched becomes. */
const stitchFailed = (tries: number) => ({
  status: 'FAILED' as const,
  errorCode: GenerationErrorCode.STITCH_FAILED,
  errorMessage: `The shots could not be stitched into one video after ${tries} tries. Every shot is SUCCEEDED and can be watched on its own.`,
  errorRetryable: true,
  etaSeconds: null,
  completedAt: new Date(),
  leaseOwner: null,
  leaseExpiresAt: null,
});

/** Hands a story back so any worker can stitch it at once (on shutdown). */
export async function releaseStitch(db: Db, id: string, workerId: string): Promise<void> {
  await db
    .update(stories)
    .set({ leaseOwner: null, leaseExpiresAt: null })
    .where(and(eq(stories.id, id), eq(stories.leaseOwner, workerId)));
}

async function renewStitchLease(db: Db, id: string, workerId: string, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(stories)
    .set({ leaseExpiresAt: leaseUntil(leaseMs) })
    .where(and(eq(stories.id, id), eq(stories.leaseOwner, workerId), eq(stories.status, 'STORING')))
    .returning({ id: stories.id });
  return rows.length > 0;
}

/** Tries that failed or stopped so far: each left a `stitch_retry` event (a stopped one when its story was taken over). */
async function failedTries(db: Db | Tx, id: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(storyEvents)
    .where(and(eq(storyEvents.storyId, id), eq(storyEvents.type, StoryEventType.StitchRetry)));
  return Number(row?.n ?? 0);
}

/** The stitched video stored, probed and with its stills: the columns a SUCCEEDED story gets. */
async function stitchAndStore(story: StoryRow, deps: StitchDeps, signal: AbortSignal) {
  const shots = await shotsOf(deps.db, story.id);
  const missing = shots.find((shot) => shot.status !== 'SUCCEEDED' || !shot.videoKey || shot.videoExpiredAt);
  if (missing || shots.length !== story.shotCount) throw new Error(`shot ${(missing?.storyShot ?? 0) + 1} has no stored video`);
  const started = performance.now();
  // Named after the story, so whose copy a leftover is can be told.
  const dir = await mkdtemp(path.join(os.tmpdir(), `${STITCH_DIR_PREFIX}${story.id}-`));
  try {
    // Each shot was size-checked when it was stored, so these copies are bounded by shotCount × maxVideoBytes.
    const inputs: string[] = [];
    for (const [index, shot] of shots.entries()) {
      const file = path.join(dir, `shot-${index}.mp4`);
      await pipeline(deps.storage.read(shot.videoKey!), createWriteStream(file), { signal });
      inputs.push(file);
    }
    const output = path.join(dir, 'story.mp4');
    const stitched = await stitchClips(inputs, output, { ffmpegPath: deps.ffmpeg.path, timeoutMs: deps.ffmpeg.timeoutMs, signal });
    const key = `${storyVideoKey(story.id)}.mp4`;
    await deps.storage.removePartials(key).catch(() => undefined);
    const { sizeBytes } = await deps.storage.save(key, createReadStream(output), {
      maxBytes: deps.maxVideoBytes * Math.max(1, shots.length),
      signal,
    });
    const facts = await describeStoredVideo(deps.storage, key, { ffmpeg: deps.ffmpeg, maxVideoBytes: deps.maxVideoBytes * shots.length, log: deps.log, signal });
    // stitchMs is ffmpeg's join; totalMs adds copying the shots out, storing the film, probing it and its stills.
    deps.log.info('story stitched', { storyId: story.id, shots: shots.length, reencoded: stitched.reencoded, stitchMs: Math.round(stitched.ms), totalMs: Math.round(performance.now() - started), sizeBytes });
    return {
      videoKey: key,
      videoSizeBytes: sizeBytes,
      videoContentType: facts.video.contentType,
      videoDurationSeconds: facts.video.durationSeconds,
      videoWidth: facts.video.width,
      videoHeight: facts.video.height,
      videoHasAudio: facts.video.hasAudio,
      posterKey: facts.posterKey,
      lastFrameKey: facts.lastFrameKey,
      stillsError: facts.stillsError,
    };
  } finally {
    // Always, whichever way the try ended: the copies are as large as the story.
    await rm(dir, { recursive: true, force: true });
  }
}

/** Stitches one claimed story, holding its lease while it works; never throws. */
export async function runStitch(story: StoryRow, deps: StitchDeps, signal: AbortSignal): Promise<void> {
  const log = deps.log.child({ storyId: story.id });
  const lost = new AbortController();
  const heartbeat = setInterval(() => {
    renewStitchLease(deps.db, story.id, deps.workerId, deps.leaseMs)
      .then((ours) => ours || lost.abort())
      .catch((error: unknown) => log.warn('stitch lease renewal failed', { err: error }));
  }, Math.max(250, Math.floor(deps.leaseMs / 3)));
  const both = AbortSignal.any([signal, lost.signal]);
  const ours = eq(stories.leaseOwner, deps.workerId);
  try {
    const video = await stitchAndStore(story, { ...deps, log }, both);
    const done = await updateStory(deps.db, story.id, {
      from: ['STORING'],
      where: ours,
      set: { ...video, status: 'SUCCEEDED', progress: 1, etaSeconds: 0, completedAt: new Date(), leaseOwner: null, leaseExpiresAt: null },
      event: { type: StoryEventType.Succeeded, message: 'The shots are stitched into one video.' },
    });
    if (!done) log.warn('the story was no longer ours when its stitch finished');
  } catch (error) {
    // Stopped (shutdown, or the lease went to another worker): it is stitched again by whoever holds it next.
    if (both.aborted) return;
    const tries = (await failedTries(deps.db, story.id).catch(() => 0)) + 1;
    log.warn('stitching failed', { err: error, tries });
    // Words for the timeline, never a path or an ffmpeg log.
    const reason = error instanceof StitchError ? error.reason : 'the shots could not be copied or the result stored';
    try {
      if (tries >= MAX_STITCH_ATTEMPTS) {
        await updateStory(deps.db, story.id, {
          from: ['STORING'],
          where: ours,
          set: stitchFailed(tries),
          event: { type: StoryEventType.Failed, message: `Stitching failed ${tries} times; the story fails with STITCH_FAILED.` },
        });
      } else {
        await updateStory(deps.db, story.id, {
          from: ['STORING'],
          where: ours,
          set: { runAfter: new Date(Date.now() + STITCH_RETRY_BASE_MS * 2 ** (tries - 1)), leaseOwner: null, leaseExpiresAt: null },
          event: { type: StoryEventType.StitchRetry, message: `Stitching failed (try ${tries} of ${MAX_STITCH_ATTEMPTS}: ${reason}); it is tried again.` },
        });
      }
    } catch (recordError) {
      // The lease runs out and the story is stitched again.
      log.error('could not record the stitch failure', { err: recordError });
    }
  } finally {
    clearInterval(heartbeat);
  }
}
