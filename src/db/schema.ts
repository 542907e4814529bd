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
    idempotencyKey: text('idempotency_key'),
    provider: text('provider').notNull(),

    requestId: text('request_id'),
    attempts: integer('attempts').notNull().default(0),
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
    videoKey: text('video_key'),
    videoContentType: text('video_content_type'),
    videoSizeBytes: bigint('video_size_bytes', { mode: 'number' }),

    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    /** Set just before the submit request goes out; with no request_id it marks the one ambiguous window. */
    submitStartedAt: timestamptz('submit_started_at'),
    submittedAt: timestamptz('submitted_at'),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    index('generations_due_idx')
      .on(t.runAfter)
      .where(sql`${t.status} in ('QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING')`),
    index('generations_created_idx').on(t.createdAt.desc(), t.id.desc()),
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
    type: text('type').notNull(),
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
