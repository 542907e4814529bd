import { and, asc, desc, eq, gt, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { activeStatuses } from '../generations/statuses.js';
import type { Db, Tx } from './open.js';
import {
  apiKeys,
  generationEvents,
  generations,
  type GenerationEventRow,
  type GenerationRow,
  type GenerationStatus,
  type NewGenerationRow,
} from './schema.js';

/** NOTIFY channel carrying `<id>:<version>` after every committed change of a generation. */
export const UPDATES_CHANNEL = 'generation_updates';
/** NOTIFY channel that wakes workers when a generation becomes due. */
export const JOBS_CHANNEL = 'generation_jobs';

/** What a transition writes into the timeline besides the snapshot. */
export interface EventInput {
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

const dateFields = ['leaseExpiresAt', 'runAfter', 'deadlineAt', 'createdAt', 'updatedAt', 'submitStartedAt', 'submittedAt', 'completedAt', 'videoExpiredAt'] as const;

function toSnapshot(row: GenerationRow): Record<string, unknown> {
  return JSON.parse(JSON.stringify(row)) as Record<string, unknown>;
}

/** Turns a stored snapshot back into the row it was taken from. */
export function rowFromSnapshot(snapshot: Record<string, unknown>): GenerationRow {
  const row = { ...snapshot };
  for (const field of dateFields) {
    const value = row[field];
    row[field] = typeof value === 'string' ? new Date(value) : null;
  }
  return row as GenerationRow;
}

async function appendEvent(tx: Tx, row: GenerationRow, event: EventInput): Promise<void> {
  await tx.insert(generationEvents).values({
    generationId: row.id,
    version: row.version,
    type: event.type,
    status: row.status,
    message: event.message,
    data: event.data ?? null,
    snapshot: toSnapshot(row),
  });
  await tx.execute(sql`select pg_notify(${UPDATES_CHANNEL}, ${`${row.id}:${row.version}`})`);
  if (row.status === 'QUEUED') await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, ${row.id})`);
}

/** Inserts a new generation (version 1) with its `created` event, inside the caller's transaction. */
export async function insertGenerationTx(tx: Tx, values: NewGenerationRow): Promise<GenerationRow> {
  const [row] = await tx.insert(generations).values(values).returning();
  if (!row) throw new Error('insert returned no row');
  await appendEvent(tx, row, { type: 'created', message: 'Accepted and queued.' });
  return row;
}

/**
 * Cancels a key's queued generations that meet `where`, inside the caller's transaction, in one UPDATE (each row
 * locked as it is changed), appending each one's event. Returns the canceled rows.
 */
export async function cancelQueuedOfKeyTx(
  tx: Tx,
  apiKeyId: string,
  options: { where: SQL; set: GenerationChanges; event: EventInput },
): Promise<GenerationRow[]> {
  const canceled = await tx
    .update(generations)
    .set({
      ...options.set,
      status: 'CANCELED',
      completedAt: sql`now()`,
      leaseOwner: null,
      leaseExpiresAt: null,
      etaSeconds: null,
      version: sql`${generations.version} + 1`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(generations.apiKeyId, apiKeyId), eq(generations.status, 'QUEUED'), options.where))
    .returning();
  for (const row of canceled) await appendEvent(tx, row, options.event);
  return canceled;
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
    const [row] = await tx
      .update(generations)
      .set({ ...options.set, version: sql`${generations.version} + 1`, updatedAt: sql`now()` })
      .where(and(...guards))
      .returning();
    if (!row) return null;
    const event = typeof options.event === 'function' ? options.event(row) : options.event;
    await appendEvent(tx, row, event ?? { type: 'progress', message: 'Progress updated.' });
    return row;
  });
}

/** A generation by id; with `apiKeyId`, only when that key owns it (anything else looks missing). */
export async function getGeneration(db: Db, id: string, apiKeyId?: string): Promise<GenerationRow | null> {
  const [row] = await db
    .select()
    .from(generations)
    .where(and(eq(generations.id, id), apiKeyId ? eq(generations.apiKeyId, apiKeyId) : undefined));
  return row ?? null;
}

/** Every version after `afterVersion`, oldest first, as rows rebuilt from their snapshots. */
export async function versionsSince(db: Db, id: string, afterVersion: number): Promise<GenerationRow[]> {
  const rows = await db
    .select({ snapshot: generationEvents.snapshot })
    .from(generationEvents)
    .where(and(eq(generationEvents.generationId, id), gt(generationEvents.version, afterVersion)))
    .orderBy(asc(generationEvents.version));
  return rows.map((r) => rowFromSnapshot(r.snapshot));
}

/** The public timeline up to `version`: every event but progress ticks. */
export async function listEvents(db: Db, id: string, upToVersion: number): Promise<GenerationEventRow[]> {
  return db
    .select()
    .from(generationEvents)
    .where(
      and(
        eq(generationEvents.generationId, id),
        lte(generationEvents.version, upToVersion),
        sql`${generationEvents.type} <> 'progress'`,
      ),
    )
    .orderBy(asc(generationEvents.version));
}

/** Position in the newest-first listing, encoded into cursors. */
export interface ListCursor {
  createdAt: Date;
  id: string;
}

export async function listGenerations(
  db: Db,
  options: { apiKeyId: string; limit: number; after?: ListCursor; statuses?: readonly GenerationStatus[] },
): Promise<GenerationRow[]> {
  const where: SQL[] = [eq(generations.apiKeyId, options.apiKeyId)];
  if (options.statuses?.length) where.push(inArray(generations.status, [...options.statuses]));
  if (options.after) {
    const { createdAt, id } = options.after;
    where.push(
      or(lt(generations.createdAt, createdAt), and(eq(generations.createdAt, createdAt), lt(generations.id, id)))!,
    );
  }
  return db
    .select()
    .from(generations)
    .where(and(...where))
    .orderBy(desc(generations.createdAt), desc(generations.id))
    .limit(options.limit);
}

/** False when the key that owns a generation was revoked (its video links stop working with it). */
export async function ownerKeyIsActive(db: Db, generationId: string): Promise<boolean> {
  const [row] = await db
    .select({ revokedAt: apiKeys.revokedAt })
    .from(generations)
    .leftJoin(apiKeys, eq(apiKeys.id, generations.apiKeyId))
    .where(eq(generations.id, generationId));
  return !row || row.revokedAt === null;
}
