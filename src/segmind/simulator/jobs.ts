/**
 * The simulator's job model, the prompt switches that steer it, and input checks: pure functions of the input
 * and the clock.
 */

import { VEO } from '../../contract/tables.js';
import type { SegmindJobStatus, VeoInput } from '../types.js';
import { json, type SimAnswer } from './http.js';

/** A job as the simulator keeps it. Its status is derived from the clock, so no timers run per job. */
export interface SimJob {
  id: string;
  input: VeoInput;
  /** Its place in submit order since start or reset, from 1: it picks the colour and number of its clip. */
  sequence?: number;
  submittedAt: number;
  /** Total time to the final status; 10× the usual for `[sim:slow]`. */
  durationMs: number;
  /** `[sim:fail]`: ends FAILED like a safety block. */
  fails: boolean;
  /** USD charged; 0 for failing jobs, since Segmind does not bill blocked jobs. */
  cost: number;
  /** Set by `expire()`; records also expire by age. */
  expired: boolean;
  /** `GET /v2/requests/<id>/status` requests received for this job, whatever they were answered. */
  statusRequests: number;
}

/** A job as tests see it. */
export interface SimulatedJobInfo {
  readonly requestId: string;
  readonly input: VeoInput;
  readonly status: SegmindJobStatus;
  readonly submittedAt: Date;
  /** USD charged (0 for failed jobs). */
  readonly cost: number;
  /** True once status and result answer 404. */
  readonly expired: boolean;
  /** When the job reaches (or reached) its final status, COMPLETED or FAILED. */
  readonly completesAt: Date;
  /** Status requests received for this job so far, including ones answered with a fault, 401 or 404. */
  readonly statusRequests: number;
}

export function jobInfo(job: SimJob, now: number, expired: boolean): SimulatedJobInfo {
  const { id: requestId, input, cost, statusRequests } = job;
  return {
    requestId,
    input,
    status: jobStatus(job, now),
    submittedAt: new Date(job.submittedAt),
    cost,
    expired,
    completesAt: new Date(job.submittedAt + job.durationMs),
    statusRequests,
  };
}

/**
 * A small seeded pseudo-random generator (mulberry32) returning numbers in [0, 1): the same seed gives the
 * same sequence, so jittered runs are reproducible.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `baseMs` scaled by a random factor in [1 − jitter, 1 + jitter]; exactly `baseMs` when jitter is 0. */
export function jitteredMs(baseMs: number, jitter: number, random: () => number): number {
  if (jitter === 0) return baseMs;
  return Math.round(baseMs * (1 + jitter * (2 * random() - 1)));
}

/** Share of a job's time spent QUEUED before PROCESSING. */
const QUEUED_SHARE = 0.05;

/** Google's message for a safety block, as Segmind relays it. */
export const SAFETY_FAILURE_MESSAGE =
  "The prompt could not be submitted. This prompt contains sensitive words that violate Google's Responsible AI " +
  'practices. Try rephrasing the prompt. If you think this was an error, send feedback. Support codes: 58061214';

export function jobStatus(job: SimJob, now: number): SegmindJobStatus {
  const elapsed = now - job.submittedAt;
  if (elapsed < job.durationMs * QUEUED_SHARE) return 'QUEUED';
  if (elapsed < job.durationMs) return 'PROCESSING';
  return job.fails ? 'FAILED' : 'COMPLETED';
}

/** Seconds, like Segmind reports them; only what is known at this point of the job. */
export function jobMetrics(job: SimJob, now: number): Record<string, number> {
  const seconds = (ms: number) => Math.round(ms) / 1000;
  const queueMs = job.durationMs * QUEUED_SHARE;
  const status = jobStatus(job, now);
  if (status === 'QUEUED') return {};
  if (status === 'PROCESSING') return { queue_time: seconds(queueMs) };
  return {
    queue_time: seconds(queueMs),
    inference_time: seconds(job.durationMs - queueMs),
    total_time: seconds(job.durationMs),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** `GET /v2/requests/<id>/status` for a live job; a failed job answers 422 with a final status. */
export function statusAnswer(job: SimJob, now: number): SimAnswer {
  const status = jobStatus(job, now);
  if (status === 'FAILED') return json(422, { status, error: SAFETY_FAILURE_MESSAGE, metrics: {} });
  return json(200, { status, metrics: jobMetrics(job, now) });
}

/** `GET /v2/requests/<id>` for a live job. */
export function resultAnswer(
  job: SimJob,
  now: number,
  file: { fileUrl: string; fileSize: number; remainingCredits: number },
): SimAnswer {
  const status = jobStatus(job, now);
  if (status === 'FAILED') return statusAnswer(job, now);
  // Before completion the result answers 200 with its usual keys, the current status and `output: null`: that
  // keeps "status, output and metrics are always present" true, and clients must check for the URL anyway.
  if (status !== 'COMPLETED') return json(200, { status, output: null, metrics: jobMetrics(job, now), error: null });
  const { fileUrl, fileSize, remainingCredits } = file;
  return json(200, {
    status,
    output: fileUrl,
    // file_size as a string, as Segmind sometimes sends it, so clients are tested against the awkward form.
    video: { url: fileUrl, content_type: 'video/mp4', file_name: `${job.id}.mp4`, file_size: String(fileSize) },
    metrics: { cost: job.cost, remaining_credits: remainingCredits, ...jobMetrics(job, now) },
    error: null,
  });
}

/** Applies the documented defaults and checks every field, as Segmind does; a string is the 400 message. */
export function parseVeoInput(raw: unknown): VeoInput | string {
  if (!isRecord(raw)) return 'Request body must be a JSON object';
  const { prompt, negative_prompt, image, last_frame } = raw;
  if (typeof prompt !== 'string' || prompt.trim() === '') return 'prompt is required and must be a non-empty string';
  if (negative_prompt != null && typeof negative_prompt !== 'string') return 'negative_prompt must be a string';
  if (image != null && !isHttpUrl(image)) return 'image must be an http(s) URL';
  if (last_frame != null && !isHttpUrl(last_frame)) return 'last_frame must be an http(s) URL';
  const aspect_ratio = raw.aspect_ratio ?? '16:9';
  if (!(VEO.aspectRatios as readonly unknown[]).includes(aspect_ratio)) {
    return 'aspect_ratio must be one of 16:9, 9:16';
  }
  const duration = raw.duration ?? 8;
  if (!(VEO.durationsSeconds as readonly unknown[]).includes(duration)) return 'duration must be one of 4, 6, 8';
  const resolution = raw.resolution ?? '1080p';
  if (!(VEO.resolutions as readonly unknown[]).includes(resolution)) return 'resolution must be one of 720p, 1080p';
  const generate_audio = raw.generate_audio ?? true;
  if (typeof generate_audio !== 'boolean') return 'generate_audio must be a boolean';
  const seed = raw.seed ?? 42;
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > VEO.maxUpstreamSeed) {
    return `seed must be an integer from 0 to ${VEO.maxUpstreamSeed}`;
  }
  return {
    prompt,
    ...(typeof negative_prompt === 'string' && { negative_prompt }),
    ...(typeof image === 'string' && { image }),
    ...(typeof last_frame === 'string' && { last_frame }),
    aspect_ratio: aspect_ratio as VeoInput['aspect_ratio'],
    duration: duration as VeoInput['duration'],
    resolution: resolution as VeoInput['resolution'],
    generate_audio,
    seed: seed as number,
  };
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
};

/** A decoded `data:<type>;base64,<data>` URL, or a 400 message. */
export function parseDataUrl(value: unknown): { contentType: string; extension: string; bytes: Buffer } | string {
  const match = typeof value === 'string' ? /^data:([\w.+-]+\/[\w.+-]+)(?:;[^,;]*)*;base64,(.*)$/s.exec(value) : null;
  if (!match?.[1] || match[2] === undefined) return 'data_urls must hold base64 data: URLs';
  const contentType = match[1].toLowerCase();
  return { contentType, extension: EXTENSIONS[contentType] ?? 'bin', bytes: Buffer.from(match[2], 'base64') };
}

/**
 * The words in a prompt that steer the built-in simulator. Shared by the simulator, which acts on them, and by
 * the worker's estimate, so the progress bar and ETA of a `[sim:slow]` job tell the time it really takes.
 */
export const FAIL_SWITCH = '[sim:fail]';
export const SLOW_SWITCH = '[sim:slow]';
const SLOW_FACTOR = 10;

/** How many times the usual processing time the simulator takes for this prompt. */
export const simulatedDurationFactor = (prompt: string): number => (prompt.includes(SLOW_SWITCH) ? SLOW_FACTOR : 1);
