import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/open.js';
import { transition, type EventInput, type GenerationChanges } from '../events/timeline.js';
import type { GenerationRow } from '../db/schema.js';
import { costOnFailure, type Failure, type UpstreamName } from '../generations/charges.js';
import type { Logger } from '../logger.js';
import type { SegmindClient } from '../segmind/api.js';
import type { VideoStorage } from '../storage/video-storage.js';
import type { DownloadPolicy } from '../storage/safe-download.js';
import type { FfmpegOptions } from '../media/ffmpeg.js';
import type { JobDurationEstimator } from './job-timing.js';
import type { BackoffOptions } from './retry-policy.js';
import type { SubmitPatience } from './record-segmind-request-id.js';
import { EventType } from '../contract/tables.js';

/** The measurements a run reports: time spent in each status, and waits for Segmind's rate limit. */
export interface WorkerMetrics {
  statusDuration: { observe(labels: { status: string }, seconds: number): void };
  rateLimitWaits: { inc(): void };
}

/** Everything a worker needs to drive one generation. */
export interface RunnerDeps {
  db: Db;
  segmind: SegmindClient;
  storage: VideoStorage;
  workerId: string;
  /** Lease length; renewed every third of it. */
  leaseMs: number;
  /** How long a submit's answer may take and how long recording it may be retried: shared by every worker. */
  submitPatience: SubmitPatience;
  /** Lines about this generation: the worker gives one carrying its id and key prefix. */
  log: Logger;
  pollMinMs: number;
  pollMaxMs: number;
  /** Progress ticks between polls: `perJob` ticks over the expected job, each within the bounds. */
  progressInterval: { minMs: number; maxMs: number; perJob: number };
  /** How long Segmind is expected to take for a generation, and where jobs like it end: for polling, progress and ETA. */
  jobTimes: JobDurationEstimator;
  backoff: BackoffOptions;
  /** Largest video we agree to store. */
  maxVideoBytes: number;
  /** Fetch for downloading results. @default globalThis.fetch */
  download?: typeof fetch;
  /** Where result videos may come from. */
  downloadPolicy: DownloadPolicy;
  /** The ffmpeg that extracts each stored video's poster and last frame. @default the bundled binary, FFMPEG_TIMEOUT_MS's default */
  ffmpeg?: FfmpegOptions;
  /** What the worker measures; the server's Prometheus registry provides it (a structural type, so the worker
   * does not depend on the server). */
  metrics?: WorkerMetrics;
  /** Who runs the jobs, as timeline messages name it. @default 'Segmind' */
  upstreamName?: UpstreamName;
}

/** Thrown when the generation is no longer ours to drive (canceled, lease lost, shutting down). */
export class Stopped extends Error {}

/**
 * One worker's hold on one generation: the row as last written, and the guarded writes every step makes. The
 * steps themselves (submit.ts, poll.ts, store-video.ts) drive it; run.ts orders them.
 */
export class GenerationRun {
  readonly log: Logger;
  /** Who runs the job, as the timeline names it. */
  readonly upstream: UpstreamName;
  /** When this run last wrote a progress tick, on this process's clock. */
  lastTickAt = 0;

  constructor(
    public row: GenerationRow,
    readonly deps: RunnerDeps,
    readonly signal: AbortSignal,
  ) {
    this.log = deps.log;
    this.upstream = deps.upstreamName ?? 'Segmind';
  }

  /** A guarded transition while we hold the lease; Stopped when the row is no longer ours. */
  async update(set: GenerationChanges, event?: EventInput): Promise<GenerationRow> {
    const next = await transition(this.deps.db, this.row.id, { leaseOwner: this.deps.workerId, set, event, storyId: this.row.storyId });
    if (!next) throw new Stopped();
    return this.adopt(next);
  }

  /** Takes a newer version of the row, timing the status it leaves. */
  adopt(next: GenerationRow): GenerationRow {
    if (next.status !== this.row.status) {
      const seconds = (next.updatedAt.getTime() - this.row.updatedAt.getTime()) / 1000;
      this.deps.metrics?.statusDuration.observe({ status: this.row.status }, Math.max(0, seconds));
    }
    this.row = next;
    return next;
  }

  /** Ends the generation as FAILED, with the cost the failure leaves (generations/charges.ts). */
  fail(failure: Failure): Promise<GenerationRow> {
    return this.update(
      {
        ...costOnFailure(this.row, failure),
        status: 'FAILED',
        errorCode: failure.code,
        errorMessage: failure.message,
        errorRetryable: failure.retryable,
        completedAt: new Date(),
        etaSeconds: null,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
      { type: EventType.Failed, message: failure.message, data: { code: failure.code } },
    );
  }

  /** Waits, unless asked to stop meanwhile (then Stopped). */
  async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.signal });
    } catch {
      throw new Stopped();
    }
  }

  pastDeadline(): boolean {
    return Date.now() > this.row.deadlineAt.getTime();
  }

  msUntilDeadline(): number {
    return Math.max(0, this.row.deadlineAt.getTime() - Date.now());
  }

  /**
   * Retries a write through a database outage; used where losing the write would lose money. The last attempt
   * starts at `giveUpAt`, never later: other workers count on that (see submit-window.ts).
   */
  async withDatabaseRetry<T>(write: () => Promise<T>, giveUpAt = Date.now() + this.deps.submitPatience.commitPatienceMs): Promise<T> {
    for (let tryNumber = 1; ; tryNumber++) {
      try {
        return await write();
      } catch (error) {
        if (error instanceof Stopped) throw error;
        const left = giveUpAt - Date.now();
        if (left <= 0) {
          this.log.error('gave up a database write that must not be lost', { err: error, tries: tryNumber });
          throw error;
        }
        this.log.warn('database write failed; retrying', { err: error, tries: tryNumber });
        await sleep(Math.min(5000, 250 * tryNumber, left));
      }
    }
  }
}
