/*
 * The plain-data tables the server and every client share: the Veo facts and request defaults, the timeline's
 * event types, the extensions.code values, and which host names are this machine. No imports, so the
 * command-line client and the browser page take them without any server code; the values are the wire's.
 */

/**
 * The facts of Segmind's `veo-3.1-fast` model that the API promises its clients, in one table: what a request may
 * ask for, what it costs, and how large a frame may be. The server's validation and pricing, the Segmind client,
 * the simulator, the command-line client and the web page all read them from here (see shared/segmind-api.md).
 * Plain data with no imports, so a client can take it without any server code.
 */
export const VEO = {
  /** Allowed `aspect_ratio` values; the first is the default. */
  aspectRatios: ['16:9', '9:16'],
  /** Allowed `duration` values in seconds; the last is the default. */
  durationsSeconds: [4, 6, 8],
  /** Allowed `resolution` values; the last is the default. */
  resolutions: ['720p', '1080p'],
  /** Largest `seed` Google accepts (unsigned 32-bit). */
  maxUpstreamSeed: 4_294_967_295,
  /** Largest seed this API accepts: a GraphQL Int is signed 32-bit. */
  maxSeed: 2_147_483_647,
  /** List price per second of video, in US cents, with and without generated audio. */
  centsPerSecond: { withAudio: 15, withoutAudio: 10 },
  /** Google's limit for an input image (first or last frame), in bytes. */
  maxFrameBytes: 20 * 1024 * 1024,
} as const;

export type VeoAspectRatio = (typeof VEO.aspectRatios)[number];
export type VeoDuration = (typeof VEO.durationsSeconds)[number];
export type VeoResolution = (typeof VEO.resolutions)[number];

/** The list price of one generation in US cents: every second of video at the rate for its audio choice. */
export function veoPriceCents(request: { durationSeconds: number; generateAudio: boolean }): number {
  return request.durationSeconds * (request.generateAudio ? VEO.centsPerSecond.withAudio : VEO.centsPerSecond.withoutAudio);
}

/** What a request gets for each setting it leaves out. */
export const VEO_REQUEST_DEFAULTS = {
  aspectRatio: VEO.aspectRatios[0],
  durationSeconds: VEO.durationsSeconds[VEO.durationsSeconds.length - 1]!,
  resolution: VEO.resolutions[VEO.resolutions.length - 1]!,
  generateAudio: true,
} as const;

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
  /** The last frame of the generation it continues is at Segmind's asset storage, as this one's first frame. */
  ContinueFrameUploaded: 'continue_frame_uploaded',
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
  /** The stored video's probed duration or size is far from what was asked; it is kept. data: `{ asked, got }`. */
  VideoDiffers: 'video_differs',
  /** The poster and last frame could not be extracted; the video is kept and still succeeds. */
  StillsFailed: 'stills_failed',
  /** Segmind reported a charge we do not believe; the estimate is kept. */
  CostIgnored: 'cost_ignored',
  /** The video is stored and can be fetched. */
  Succeeded: 'succeeded',
  /** The generation ended without a video; data holds the error code. */
  Failed: 'failed',
  /** Canceled by its key or by revoking the key; data says whether a charge may still apply. */
  Canceled: 'canceled',
  /** A story's shot whose previous shot succeeded goes to the workers, to start from that shot's last frame. */
  ShotReleased: 'shot_released',
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

/**
 * The `extensions.code` of every error the API answers with (as opposed to errors returned as data, and to a
 * generation's failure code, which is the GenerationErrorCode enum). Clients switch on these, so the wire values
 * never change; the server, the CLI and the page all read them from here. Plain data: no imports, so the page
 * bundle and the CLI can take it without pulling in server code.
 */
export const API_ERROR_CODES = {
  /** The API key is missing, malformed, unknown or revoked (HTTP 401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** An argument is out of range or malformed; `extensions.field` names it when there is one. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The request itself cannot be read: an unreadable body, a malformed multipart request. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The id names no generation this key can see. */
  NOT_FOUND: 'NOT_FOUND',
  /** Too many requests, connections or subscriptions for this key at once. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A query-size limit (tokens, depth, aliases, cost) refused the operation; the message says how to get under it. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The database is unreachable for now (HTTP 503 with Retry-After). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** The operation does not fit the schema (an unknown field, an enum value that does not exist); nothing ran. */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** A browser could have sent this request from another website: it needs a header such a page cannot set (HTTP 403). */
  CSRF_PREVENTED: 'CSRF_PREVENTED',
} as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];

/** Host names that are this machine only: the development key is offered to (and by) such servers alone. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether a host name or address is this machine only. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOSTS.has(host.toLowerCase());
