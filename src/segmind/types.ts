/** Facts about the `veo-3.1-fast` model and the shapes the Segmind client returns. See shared/segmind-api.md. */

import type { VeoAspectRatio, VeoDuration, VeoResolution } from '../contract/tables.js';

export type { VeoAspectRatio, VeoDuration, VeoResolution };

/**
 * The request body of `POST /v2/veo-3.1-fast`: flat and snake_case, exactly as Segmind reads it.
 * Every field the model defaults is sent explicitly, so what we record is what Segmind ran.
 */
export interface VeoInput {
  /** What the video shows; required and non-empty. English works best. */
  prompt: string;
  /** What the video should avoid. */
  negative_prompt?: string;
  /** http(s) URL of the first frame (upload a user's file first). */
  image?: string;
  /** http(s) URL of the last frame. */
  last_frame?: string;
  aspect_ratio: VeoAspectRatio;
  duration: VeoDuration;
  resolution: VeoResolution;
  /** With audio the price is $0.15/s instead of $0.10/s. */
  generate_audio: boolean;
  /** 0–4294967295; the same seed and input give a similar video. */
  seed: number;
}

/** Where a Segmind job is. `FAILED` arrives as an HTTP 422 on the wire; the client turns it into a normal answer. */
export type SegmindJobStatus = 'QUEUED' | 'PROCESSING' | 'COMPLETED' | 'FAILED';

/** Statuses after which nothing changes any more. */
export const FINAL_JOB_STATUSES: readonly SegmindJobStatus[] = ['COMPLETED', 'FAILED'];

/** Answer of a submit: Segmind accepted (and will bill) the job. */
export interface SubmitAnswer {
  /** Opaque id (seen as a dashed UUID and as 32 hex characters). */
  segmindRequestId: string;
}

/** Answer of a status poll. */
export interface StatusAnswer {
  status: SegmindJobStatus;
  /** Segmind's message when `status` is `FAILED` (may contain "Support codes: NNNN" for safety blocks). */
  error?: string;
  /** Whatever Segmind reports, e.g. `queue_time`, `inference_time` (seconds); may be empty. */
  metrics: Record<string, unknown>;
}

/** Answer of a result fetch for a completed job. */
export interface ResultAnswer {
  status: SegmindJobStatus;
  /** Where to download the video (no key needed; download it at once). */
  outputUrl: string;
  /** @default 'video/mp4' when Segmind does not say */
  contentType: string;
  /** Bytes, when Segmind reports it (it sends a string or a number). */
  fileSize?: number;
  /** The real charge in USD (`metrics.cost`), when reported. */
  cost?: number;
  /** Seconds from submission to completion at Segmind (`metrics.total_time`, or queue + inference time). */
  totalSeconds?: number;
}

