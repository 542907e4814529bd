import { createHash } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Database } from '../db/open.js';
import type { EventBus } from '../events/bus.js';
import type { Provider } from '../generations/charges.js';
import type { Logger } from '../logger.js';
import type { SegmindClient } from '../segmind/api.js';
import { simulatedDurationFactor } from '../segmind/simulator/jobs.js';
import type { VideoStorage } from '../storage/video-storage.js';
import { createJobDurationEstimator, type JobDurationEstimator } from '../worker/job-timing.js';
import { createRetentionSchedule } from '../worker/retention.js';
import { upstreamNameOf } from '../generations/charges.js';
import { createWorker, type Worker } from '../worker/worker.js';
import { ffmpegPath } from '../media/ffmpeg.js';
import { createWebhookDispatcher } from '../webhooks/dispatcher.js';
import { createStitcher } from '../stories/stitcher.js';
import type { Metrics } from './metrics.js';

/**
 * The ffmpeg for posters and last frames. Without one (no FFMPEG_PATH, and no bundled binary for this platform)
 * the server still runs: it says so now, and each video then succeeds without stills, saying why.
 */
function stillsFfmpeg(config: Config, log: Logger): string {
  try {
    return ffmpegPath(config.media.ffmpegPath);
  } catch (error) {
    log.warn('no ffmpeg: videos will have no poster or last frame until FFMPEG_PATH names one', { err: error });
    return 'ffmpeg';
  }
}

/** Where the worker sends jobs: Segmind, or the simulator this process started. */
export interface SegmindTarget {
  baseUrl: string;
  apiKey: string;
  /** True when it is the embedded simulator, whose loopback address then becomes a trusted download host. */
  simulated: boolean;
}

export interface WorkerRoleOptions {
  config: Config;
  log: Logger;
  database: Database;
  bus: EventBus;
  storage: VideoStorage;
  metrics: Metrics;
  provider: Provider;
  segmind: SegmindClient;
  segmindTarget: SegmindTarget;
  /** The fetch result videos are downloaded with (instrumented like the Segmind client's). */
  download: typeof fetch;
  /** Signs the video links webhook payloads carry. */
  videoSigningSecret: Buffer;
}

/** The worker, and the retention timer, webhook dispatcher and story stitcher that run beside it. */
export interface WorkerRole {
  worker: Worker;
  /** `listeningUrl` is what webhook payloads' links point at when PUBLIC_URL is unset. */
  start(listeningUrl: string): Promise<void>;
  /** Stops retention, then lets in-flight work reach a safe point and hand its leases back. */
  stop(): Promise<void>;
}

/** With the built-in simulator, a `[sim:slow]` prompt takes its ten-fold time in the estimate too. */
const simulatedJobEstimate =
  (estimate: JobDurationEstimator, simulated: boolean): JobDurationEstimator =>
  async (job) => {
    const times = await estimate(job);
    const factor = simulated ? simulatedDurationFactor(job.prompt) : 1;
    if (factor === 1) return times;
    const { window } = times;
    return {
      expectedMs: times.expectedMs * factor,
      window: window && { startMs: window.startMs * factor, endMs: window.endMs * factor },
    };
  };

export function createWorkerRole(options: WorkerRoleOptions): WorkerRole {
  const { config, log, database, storage, segmindTarget } = options;
  const { segmind, worker: tuning } = config;
  const worker = createWorker({
    database,
    bus: options.bus,
    segmind: options.segmind,
    download: options.download,
    metrics: options.metrics,
    submitLimits: {
      // Segmind's rate limit is per key; workers share it through Postgres under a hash, never the key.
      keyId: createHash('sha256').update(segmindTarget.apiKey).digest('hex').slice(0, 16),
      maxInFlight: segmind.maxInFlight,
      submitsPerMinute: segmind.submitsPerMinute,
    },
    storage,
    log,
    concurrency: tuning.concurrency,
    leaseMs: tuning.leaseMs,
    heartbeat: { perLease: tuning.heartbeatsPerLease, minMs: tuning.minHeartbeatMs },
    sweepMs: tuning.sweepMs,
    submitLogPruneMs: tuning.submitLogPruneMs,
    keyPrefixCacheSize: tuning.keyPrefixCacheSize,
    submitPatience: { requestTimeoutMs: segmind.requestTimeoutMs, commitPatienceMs: tuning.commitPatienceMs, lastWriteSlackMs: tuning.lastWriteSlackMs },
    progressInterval: tuning.progressIntervalMs,
    pollMinMs: segmind.pollMinMs,
    pollMaxMs: segmind.pollMaxMs,
    jobTimes: simulatedJobEstimate(
      createJobDurationEstimator(database.db, segmindTarget.simulated ? segmind.simulatorProcessingMs : segmind.expectedJobMs, {
        sampleSize: tuning.estimateSampleSize,
        cacheMs: tuning.estimateCacheMs,
      }),
      segmindTarget.simulated,
    ),
    backoff: tuning.backoff,
    upstreamName: upstreamNameOf(options.provider),
    maxVideoBytes: config.storage.maxVideoMb * 1024 * 1024,
    ffmpeg: { path: stillsFfmpeg(config, log), timeoutMs: config.media.ffmpegTimeoutMs },
    downloadPolicy: {
      // The simulator's loopback address and port are allowed only when we started the simulator ourselves:
      // nothing else on loopback (this server's own /metrics, a database) is.
      allowedHosts: segmindTarget.simulated ? [...segmind.outputHosts, new URL(segmindTarget.baseUrl).host] : segmind.outputHosts,
      headersTimeoutMs: segmind.requestTimeoutMs,
      idleTimeoutMs: segmind.requestTimeoutMs,
    },
  });
  const retention = createRetentionSchedule({
    db: database.db,
    storage,
    log,
    videoRetentionDays: config.retention.videoDays,
    eventRetentionDays: config.retention.eventDays,
    // Never younger than a generation may live: no download outlasts its generation's deadline.
    partialFileMaxAgeMs: Math.max(config.retention.partialFileMaxAgeMs, config.limits.generationDeadlineMs),
    batchSize: config.retention.batchSize,
    intervalMs: config.retention.intervalMs,
  });
  const stitcher = createStitcher({
    database,
    storage,
    log,
    leaseMs: tuning.leaseMs,
    sweepMs: tuning.sweepMs,
    ffmpeg: { path: ffmpegPath(config.media.ffmpegPath), timeoutMs: config.media.ffmpegTimeoutMs },
    maxVideoBytes: config.storage.maxVideoMb * 1024 * 1024,
  });
  let publicUrl = config.http.publicUrl ?? '';
  const { webhooks } = config;
  const dispatcher = createWebhookDispatcher({
    database,
    log,
    links: { publicUrl: () => publicUrl, videoSigningSecret: options.videoSigningSecret, videoUrlTtlSeconds: config.auth.videoUrlTtlSeconds },
    urlPolicy: { allowedHosts: webhooks.allowedHosts },
    schedule: { delaysMs: webhooks.retryDelaysMs, jitter: webhooks.jitter },
    timeoutMs: webhooks.timeoutMs,
    maxResponseBytes: webhooks.maxResponseBytes,
    concurrency: webhooks.concurrency,
    leaseMs: webhooks.leaseMs,
    sweepMs: webhooks.sweepMs,
    metrics: { observe: (outcome, seconds) => options.metrics.webhookAttempts.observe({ outcome }, seconds) },
  });
  return {
    worker,
    async start(listeningUrl) {
      publicUrl ||= listeningUrl;
      await worker.start();
      await dispatcher.start();
      await stitcher.start();
      retention.start();
    },
    async stop() {
      retention.stop();
      await Promise.all([worker.stop(), dispatcher.stop(), stitcher.stop()]);
    },
  };
}
