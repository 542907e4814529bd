import { and, asc, eq, gt, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import { createSnapshotCodec } from './snapshot-codec.js';
import { EventType, replayOnlyEventTypes } from '../contract/tables.js';
import { activeStatuses } from '../generations/lifecycle.js';
import type { Db, Tx } from '../db/open.js';
import {
  generationEvents,
  generations,
  type GenerationEventRow,
  type GenerationRow,
  type GenerationStatus,
  type NewGenerationRow,
} from '../db/schema.js';
import { generationJobs, generationUpdates } from './channels.js';
import { enqueueWebhookTx } from '../webhooks/outbox.js';
import { onShotChangedTx } from '../stories/shot-hooks.js';
import { lockStoryTx } from '../db/stories.js';
import { fixedQueries, runPrepared } from '../db/prepared.js';
import type { PgInsertValue } from 'drizzle-orm/pg-core';

/**
 * The timeline of a generation: every change of the row bumps its version and appends one event holding a
 * snapshot of the row at that version, in the same transaction, then notifies. Subscribers replay versions from
 * these snapshots, so one that fell behind still sees every version in order.
 */

/** What a change writes into the timeline besides the snapshot. */
export interface EventInput {
  type: EventType;
  message: string;
  data?: Record<string, unknown>;
}

export { createSnapshotCodec, type SnapshotCodec } from './snapshot-codec.js';

/** The snapshots of `generations` rows that the timeline stores. */
export const generationSnapshots = createSnapshotCodec(generations);

/**
 * Appends the event of the version `row` is at, inside the caller's transaction, and notifies: every process's
 * subscribers of this generation, and the workers too when it is queued. A story's shot also moves its story on
 * (stories/shot-hooks.ts), in the same transaction: the story never disagrees with its shots.
 */
export async function appendEventTx(tx: Tx, row: GenerationRow, event: EventInput): Promise<void> {
  await appendEventOnlyTx(tx, row, event);
  if (row.storyId) await onShotChangedTx(tx, row);
}

/**
 * {@link appendEventTx} without moving the story on: for the story's own changes to its other shots, which it
 * folds into itself once, after making them.
 */
export async function appendEventOnlyTx(tx: Tx, row: GenerationRow, event: EventInput): Promise<void> {
  await insertEventAndNotify(tx, row, event);
  // The webhook outbox row commits with the change that causes it, or not at all.
  await enqueueWebhookTx(tx, row);
}

/**
 * The event INSERT and its NOTIFYs as one statement (one round trip, prepared once per connection; a statement in
 * WITH runs whether or not the outer SELECT reads it). The snapshot is serialized once, straight from the row.
 */
function insertEventAndNotify(tx: Tx, row: GenerationRow, event: EventInput): Promise<void> {
  const queued = row.status === 'QUEUED';
  const snapshot = JSON.stringify(row);
  const params: unknown[] = [
    row.id,
    row.version,
    event.type,
    row.status,
    event.message,
    event.data ? JSON.stringify(event.data) : null,
    snapshot,
    generationUpdates.name,
    // Subscribers take the version from the notification when the snapshot fits in it (see channels.ts).
    generationUpdates.encode({ id: row.id, version: row.version, snapshot }),
  ];
  if (queued) params.push(generationJobs.name, generationJobs.encode({ id: row.id }));
  return runPrepared(tx, queued ? 'append_event_queued' : 'append_event', {
    sql: queued ? APPEND_EVENT_QUEUED : APPEND_EVENT,
    params,
  });
}
const APPEND_EVENT_INSERT = `with appended as (insert into generation_events
  (generation_id, version, type, status, message, data, snapshot)
  values ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb))`;
const APPEND_EVENT = `${APPEND_EVENT_INSERT} select pg_notify($8, $9)`;
const APPEND_EVENT_QUEUED = `${APPEND_EVENT_INSERT} select pg_notify($8, $9), pg_notify($10, $11)`;

/**
 * The generation INSERT, built once per set of columns given (null ones apart, as drizzle would encode a null
 * placeholder as a value): the callers name a fixed set, so this is one or two statements in practice.
 */
const insertGeneration = fixedQueries(
  'insert_generation',
  (values: NewGenerationRow) => definedColumns(values).join(','),
  (db, values) =>
    db
      .insert(generations)
      .values(
        Object.fromEntries(
          definedColumns(values).map((column) => [column.replace(/=null$/, ''), column.endsWith('=null') ? null : sql.placeholder(column)]),
        ) as PgInsertValue<typeof generations>,
      )
      .returning(),
  (values) => values,
);
/** The columns of `values` in a stable order, `<name>=null` for those given as null. */
const definedColumns = (values: NewGenerationRow) =>
  Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) => (value === null ? `${column}=null` : column))
    .sort();

/** Inserts a new generation (version 1) with its `created` event, inside the caller's transaction. */
export async function insertGenerationTx(tx: Tx, values: NewGenerationRow): Promise<GenerationRow> {
  const [row] = await insertGeneration(tx, values);
  if (!row) throw new Error('insert returned no row');
  await appendEventTx(tx, row, { type: EventType.Created, message: 'Accepted and queued.' });
  return row;
}

/** Column values, or SQL expressions such as `attempts - 1`. */
export type GenerationChanges = { [K in Exclude<keyof NewGenerationRow, 'id' | 'version'>]?: NewGenerationRow[K] | SQL };

export interface TransitionOptions {
  /** Only apply when the row is in one of these statuses. @default any non-terminal status */
  from?: readonly GenerationStatus[];
  /** Only apply while this worker holds the lease. */
  leaseOwner?: string;
  /** Any further condition the row must meet. */
  where?: SQL;
  set: GenerationChanges;
  /**
   * Omitted → a `progress` event (kept for replay, hidden from the public timeline). A function gets the
   * updated row, for events that depend on what the row held when the change committed.
   */
  event?: EventInput | ((row: GenerationRow) => EventInput);
  /**
   * The story the generation is a shot of, when the caller knows it: its row is locked before the shot's, the
   * order every change of a story's shots takes (see stories/shot-hooks.ts), so two of them never deadlock.
   */
  storyId?: string | null;
}

/**
 * Applies one change: updates the row and bumps its version, appends the event with a snapshot, and
 * notifies — all in one transaction. Returns null when the guard did not match (row gone, finished,
 * or the lease is no longer ours), in which case nothing was written.
 */
export async function transition(db: Db, id: string, options: TransitionOptions): Promise<GenerationRow | null> {
  const guards: SQL[] = [eq(generations.id, id), inArray(generations.status, [...(options.from ?? activeStatuses)])];
  if (options.leaseOwner) guards.push(eq(generations.leaseOwner, options.leaseOwner));
  if (options.where) guards.push(options.where);
  return db.transaction(async (tx) => {
    if (options.storyId) await lockStoryTx(tx, options.storyId);
    const [row] = await tx
      .update(generations)
      .set({ ...options.set, version: sql`${generations.version} + 1`, updatedAt: sql`now()` })
      .where(and(...guards))
      .returning();
    if (!row) return null;
    const event = typeof options.event === 'function' ? options.event(row) : options.event;
    await appendEventTx(tx, row, event ?? { type: EventType.Progress, message: 'Progress updated.' });
    return row;
  });
}

/** Every version after `afterVersion`, oldest first, as rows rebuilt from their snapshots. */
export async function versionsSince(db: Db, id: string, afterVersion: number): Promise<GenerationRow[]> {
  const rows = await db
    .select({ snapshot: generationEvents.snapshot })
    .from(generationEvents)
    .where(and(eq(generationEvents.generationId, id), gt(generationEvents.version, afterVersion)))
    .orderBy(asc(generationEvents.version));
  return rows.map((r) => generationSnapshots.decode(r.snapshot));
}

/** The public timeline up to `version`: every event but those kept only for replay (progress ticks). */
export async function listEvents(db: Db, id: string, upToVersion: number): Promise<GenerationEventRow[]> {
  const [timeline = []] = await listEventsOfMany(db, [{ id, version: upToVersion }]);
  return timeline;
}

/** A generation at one version, whose public timeline up to that version is asked for. */
export interface TimelineKey {
  id: string;
  version: number;
}

/**
 * The public timelines of many generations at once, one list per key in the same order: one query for the whole
 * batch (a page of generations selecting `events`), not one per generation.
 */
export async function listEventsOfMany(db: Db, keys: readonly TimelineKey[]): Promise<GenerationEventRow[][]> {
  if (keys.length === 0) return [];
  // Bounded by what one operation can select: pages and nodes of at most 100, a few aliases (the query limits).
  const ids = [...new Set(keys.map((key) => key.id))];
  const rows = await db
    .select()
    .from(generationEvents)
    .where(and(inArray(generationEvents.generationId, ids), notInArray(generationEvents.type, [...replayOnlyEventTypes])))
    .orderBy(asc(generationEvents.generationId), asc(generationEvents.version));
  const byGeneration = new Map<string, GenerationEventRow[]>();
  for (const row of rows) {
    const timeline = byGeneration.get(row.generationId);
    if (timeline) timeline.push(row);
    else byGeneration.set(row.generationId, [row]);
  }
  // A row replayed from a snapshot is at an older version than the newest events: each key sees up to its own.
  return keys.map((key) => (byGeneration.get(key.id) ?? []).filter((event) => event.version <= key.version));
}

/**
 * Cancels a key's queued generations that meet `where`, inside the caller's transaction, in one UPDATE (each row
 * locked as it is changed), appending each one's event. Returns the canceled rows.
 */
/** What a cancel inside a transaction sets besides the cost: final now, no lease, no ETA, the next version. */
export const canceledNowChanges = {
  status: 'CANCELED',
  completedAt: sql`now()`,
  leaseOwner: null,
  leaseExpiresAt: null,
  etaSeconds: null,
  version: sql`${generations.version} + 1`,
  updatedAt: sql`now()`,
} as const;

export async function cancelQueuedOfKeyTx(
  tx: Tx,
  apiKeyId: string,
  options: { where: SQL; set: GenerationChanges; event: EventInput },
): Promise<GenerationRow[]> {
  const canceled = await tx
    .update(generations)
    .set({ ...options.set, ...canceledNowChanges })
    .where(and(eq(generations.apiKeyId, apiKeyId), eq(generations.status, 'QUEUED'), options.where))
    .returning();
  for (const row of canceled) await appendEventTx(tx, row, options.event);
  return canceled;
}
