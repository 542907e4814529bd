import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { EventType } from '../contract/tables.js';

export const generationStatuses = [
  'QUEUED',
  'SUBMITTED',
  'PROCESSING',
  'STORING',
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
] as const;
export type GenerationStatus = (typeof generationStatuses)[number];

export const generationStatus = pgEnum('generation_status', generationStatuses);

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** API keys: only a hash of each key is stored; `prefix` is the part shown in listings and logs. */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  prefix: text('prefix').notNull().unique(),
  hash: text('hash').notNull().unique(),
  /** USD a key may spend per UTC day; null for no limit. */
  dailyBudgetUsd: numeric('daily_budget_usd', { precision: 10, scale: 2 }),
  /** Generations a key may have QUEUED..STORING at once; null for no limit. */
  maxActive: integer('max_active'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  revokedAt: timestamptz('revoked_at'),
  /** The key's webhook signing secret (`whsec_` + base64), made on first use; HMAC needs it in the clear. */
  webhookSecret: text('webhook_secret'),
  /** The secret before the last rotation, still signed with until `previousWebhookSecretUntil`. */
  previousWebhookSecret: text('previous_webhook_secret'),
  previousWebhookSecretUntil: timestamptz('previous_webhook_secret_until'),
});

/** Server-wide secrets shared by every replica (e.g. the key that signs video URLs), made on first start. */
export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

/**
 * What probing a stored video found, and its stills: shared by generations and by stories' stitched films. All
 * null until the video is stored; the still keys stay null (and `stillsError` says why) when extraction failed.
 */
const storedMediaColumns = () => ({
  videoDurationSeconds: real('video_duration_seconds'),
  videoWidth: integer('video_width'),
  videoHeight: integer('video_height'),
  videoHasAudio: boolean('video_has_audio'),
  /** The first frame as a JPEG, next to the video in storage. */
  posterKey: text('poster_key'),
  /** The last frame as a JPEG. */
  lastFrameKey: text('last_frame_key'),
  /** Why the poster and last frame are missing, in words for a client. */
  stillsError: text('stills_error'),
});

/**
 * A multi-shot story: its shots are generations (`generations.story_id`), run one after the other, each starting
 * from the last frame of the one before, and stitched into one video. Every change bumps `version`.
 */
export const stories = pgTable(
  'stories',
  {
    id: uuid('id').primaryKey(),
    status: generationStatus('status').notNull().default('QUEUED'),
    version: integer('version').notNull().default(1),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    shotCount: integer('shot_count').notNull(),
    aspectRatio: text('aspect_ratio').notNull(),
    resolution: text('resolution').notNull(),
    generateAudio: boolean('generate_audio').notNull(),
    seed: bigint('seed', { mode: 'number' }).notNull(),
    image: text('image'),
    idempotencyKey: text('idempotency_key'),
    inputHash: text('input_hash'),
    webhookUrl: text('webhook_url'),
    progress: real('progress').notNull().default(0),
    etaSeconds: integer('eta_seconds'),
    costUsd: numeric('cost_usd', { precision: 10, scale: 4 }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    errorRetryable: boolean('error_retryable'),
    videoKey: text('video_key'),
    videoContentType: text('video_content_type'),
    videoSizeBytes: bigint('video_size_bytes', { mode: 'number' }),
    videoExpiredAt: timestamptz('video_expired_at'),
    ...storedMediaColumns(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    runAfter: timestamptz('run_after').notNull().defaultNow(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    index('stories_created_idx').on(t.apiKeyId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('stories_idempotency_idx')
      .on(t.apiKeyId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('stories_due_idx').on(t.runAfter).where(sql`${t.status} = 'STORING'`),
  ],
);

/** A story's timeline: one row per version with a snapshot, like `generation_events`. */
export const storyEvents = pgTable(
  'story_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    storyId: uuid('story_id')
      .notNull()
      .references(() => stories.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    type: text('type').notNull(),
    status: generationStatus('status').notNull(),
    message: text('message').notNull(),
    snapshot: jsonb('snapshot').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('story_events_version_idx').on(t.storyId, t.version)],
);

export type StoryRow = typeof stories.$inferSelect;
export type NewStoryRow = typeof stories.$inferInsert;
export type StoryEventRow = typeof storyEvents.$inferSelect;

/** One row per generation; the row is the job. Every change bumps `version`. */
export const generations = pgTable(
  'generations',
  {
    id: uuid('id').primaryKey(),
    status: generationStatus('status').notNull().default('QUEUED'),
    version: integer('version').notNull().default(1),

    prompt: text('prompt').notNull(),
    negativePrompt: text('negative_prompt'),
    image: text('image'),
    lastFrame: text('last_frame'),
    aspectRatio: text('aspect_ratio').notNull(),
    durationSeconds: integer('duration_seconds').notNull(),
    resolution: text('resolution').notNull(),
    generateAudio: boolean('generate_audio').notNull(),
    seed: bigint('seed', { mode: 'number' }).notNull(),
    /** The key that created it: only that key sees and controls it. */
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    idempotencyKey: text('idempotency_key'),
    /** Hash of the effective input, to tell a repeated request from a reused idempotency key. */
    inputHash: text('input_hash'),
    provider: text('provider').notNull(),
    /** Where the statuses in `webhookEvents` are POSTed; null for none. */
    webhookUrl: text('webhook_url'),
    webhookEvents: generationStatus('webhook_events').array(),

    segmindRequestId: text('segmind_request_id'),
    attempts: integer('attempts').notNull().default(0),
    /** Submits Segmind answered with 429; they wait for the reset and do not count as attempts. */
    rateLimitWaits: integer('rate_limit_waits').notNull().default(0),
    /** Past this the generation fails with TIMEOUT. */
    deadlineAt: timestamptz('deadline_at').notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    runAfter: timestamptz('run_after').notNull().defaultNow(),

    progress: real('progress').notNull().default(0),
    etaSeconds: integer('eta_seconds'),
    costUsd: numeric('cost_usd', { precision: 10, scale: 4 }).notNull(),
    costFinal: boolean('cost_final').notNull().default(false),

    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    errorRetryable: boolean('error_retryable'),

    /** Segmind's video URL, kept once fetched: the file outlives Segmind's one-hour job record. */
    outputUrl: text('output_url'),
    /** Seconds Segmind took from submission to completion: the history behind polling and ETAs. */
    upstreamSeconds: real('upstream_seconds'),
    videoKey: text('video_key'),
    videoContentType: text('video_content_type'),
    videoSizeBytes: bigint('video_size_bytes', { mode: 'number' }),
    /** Set when retention deleted the stored video; the row itself is kept. */
    videoExpiredAt: timestamptz('video_expired_at'),
    ...storedMediaColumns(),

    /** The client's own deadline (`deadlineSeconds`), when it gave one; `deadlineAt` is the earlier of it and the server's. */
    deadlineSeconds: integer('deadline_seconds'),
    /** The earlier SUCCEEDED generation whose last frame is this one's first frame (`continueFrom`, or a story's previous shot). */
    continueFromId: uuid('continue_from_id'),
    /** This generation's last frame at Segmind's asset storage, uploaded once for every generation that continues it. */
    lastFrameAssetUrl: text('last_frame_asset_url'),
    /** The story this generation is a shot of, and its place there (0 for the first shot). */
    storyId: uuid('story_id').references(() => stories.id, { onDelete: 'cascade' }),
    storyShot: integer('story_shot'),

    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    /** Set just before the submit request goes out; with no segmind_request_id it marks the one ambiguous window. */
    submitStartedAt: timestamptz('submit_started_at'),
    submittedAt: timestamptz('submitted_at'),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    index('generations_due_idx')
      .on(t.runAfter)
      .where(sql`${t.status} in ('QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING')`),
    index('generations_created_idx').on(t.apiKeyId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('generations_idempotency_idx')
      .on(t.apiKeyId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('generations_story_idx').on(t.storyId, t.storyShot).where(sql`${t.storyId} is not null`),
    index('generations_history_idx')
      .on(t.durationSeconds, t.resolution, t.generateAudio, t.completedAt.desc())
      .where(sql`${t.upstreamSeconds} is not null`),
  ],
);

/**
 * Append-only timeline: one row per version of a generation, holding a snapshot of the row at that
 * version, so a subscriber that fell behind replays every version in order instead of skipping some.
 */
export const generationEvents = pgTable(
  'generation_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    generationId: uuid('generation_id')
      .notNull()
      .references(() => generations.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    type: text('type').$type<EventType>().notNull(),
    status: generationStatus('status').notNull(),
    message: text('message').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>(),
    snapshot: jsonb('snapshot').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('generation_events_version_idx').on(t.generationId, t.version)],
);

export type GenerationRow = typeof generations.$inferSelect;
export type NewGenerationRow = typeof generations.$inferInsert;
export type GenerationEventRow = typeof generationEvents.$inferSelect;

/**
 * One row per submit a worker was allowed to make, keyed by a hash of the Segmind key: the shared
 * counter that keeps every worker process together under Segmind's per-minute rate limit.
 */
export const segmindSubmits = pgTable(
  'segmind_submits',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    keyId: text('key_id').notNull(),
    generationId: uuid('generation_id').notNull(),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [index('segmind_submits_key_at_idx').on(t.keyId, t.at)],
);

export const webhookDeliveryStates = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type WebhookDeliveryState = (typeof webhookDeliveryStates)[number];
export const webhookDeliveryState = pgEnum('webhook_delivery_state', webhookDeliveryStates);

/**
 * The webhook outbox: one row per status change a generation's (or a story's) webhook asked to hear about, written in the same
 * transaction as the change. Workers claim due rows with FOR UPDATE SKIP LOCKED and a lease, like generations.
 * The row's id is the `webhook-id` header, the same on every attempt.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    /** The generation it tells of; null for a story's own delivery (`storyId`). */
    generationId: uuid('generation_id').references(() => generations.id, { onDelete: 'cascade' }),
    /** The story it tells of, for a story's `story.<status>` deliveries; null for a generation's. */
    storyId: uuid('story_id').references(() => stories.id, { onDelete: 'cascade' }),
    /** The version (of the generation or story) whose snapshot is sent; one subject's deliveries go out in this order. */
    version: integer('version').notNull(),
    /** e.g. `generation.succeeded`. */
    eventType: text('event_type').notNull(),
    url: text('url').notNull(),
    state: webhookDeliveryState('state').notNull().default('PENDING'),
    /** Attempts that reached an outcome (an answer, a timeout, a refused connection). */
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    deliveredAt: timestamptz('delivered_at'),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_version_idx').on(t.generationId, t.version),
    uniqueIndex('webhook_deliveries_story_version_idx')
      .on(t.storyId, t.version)
      .where(sql`${t.storyId} is not null`),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'PENDING'`),
  ],
);

/** Every attempt of a delivery and how it ended, for `Generation.webhookDeliveries`. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    /** The receiver's HTTP status; null when no answer came. */
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('webhook_attempts_attempt_idx').on(t.deliveryId, t.attempt)],
);

export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
