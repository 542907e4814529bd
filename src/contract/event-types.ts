/**
 * Every type of event a generation's timeline holds, defined once. The values are wire values: they are stored in
 * `generation_events.type` and sent as `GenerationEvent.type`, so they never change; add new ones instead.
 * Plain data with no imports, so the CLI and the browser page can read it as well as the server.
 */
export const EventType = {
  /** Accepted and queued: version 1 of every generation. */
  Created: 'created',
  /** A change with no event of its own (progress, ETA, lease); kept for replaying versions, not shown. */
  Progress: 'progress',
  /** The uploaded first and last frames are stored at Segmind; the generation goes to the workers. */
  FramesUploaded: 'frames_uploaded',
  /** Segmind accepted the job and gave its request id. */
  Submitted: 'submitted',
  /** A worker died between sending the job and recording the answer; it is sent again and may be billed twice. */
  ResubmittingAfterCrash: 'resubmitting_after_crash',
  /** Segmind answered 429; the submit waits for the reset without using up an attempt. */
  RateLimited: 'rate_limited',
  /** A submit failed in a way worth retrying; data holds the reason and the next attempt's time. */
  RetryScheduled: 'retry_scheduled',
  /** Segmind is rendering the video. */
  Processing: 'processing',
  /** Segmind finished; the video is being copied into storage. */
  Storing: 'storing',
  /** Segmind reported a charge we do not believe; the estimate is kept. */
  CostIgnored: 'cost_ignored',
  /** The video is stored and can be fetched. */
  Succeeded: 'succeeded',
  /** The generation ended without a video; data holds the error code. */
  Failed: 'failed',
  /** Canceled by its key or by revoking the key; data says whether a charge may still apply. */
  Canceled: 'canceled',
  /** Retention deleted the stored video; the generation and its timeline are kept. */
  VideoExpired: 'video_expired',
} as const;

/** One of the timeline's event types: a misspelt one does not compile. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Every event type, in the order a generation usually meets them. */
export const eventTypes: readonly EventType[] = Object.values(EventType);

/** Types kept so subscribers can replay every version, but left out of the public timeline. */
export const replayOnlyEventTypes: readonly EventType[] = [EventType.Progress];

export const isEventType = (value: string): value is EventType => (eventTypes as readonly string[]).includes(value);
