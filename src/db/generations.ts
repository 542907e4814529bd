import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './open.js';
import { fixedQuery } from './prepared.js';
import { apiKeys, generations, type GenerationRow, type GenerationStatus } from './schema.js';

/** A generation by id; with `apiKeyId`, only when that key owns it (anything else looks missing). */
export async function getGeneration(db: Db, id: string, apiKeyId?: string): Promise<GenerationRow | null> {
  const [row] = await db
    .select()
    .from(generations)
    .where(and(eq(generations.id, id), apiKeyId ? eq(generations.apiKeyId, apiKeyId) : undefined));
  return row ?? null;
}

/** The key's generations among `ids`, in no particular order; ids of other keys' generations match nothing. */
export async function getGenerationsOfKey(db: Db, ids: readonly string[], apiKeyId: string): Promise<GenerationRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(generations)
    .where(and(inArray(generations.id, [...ids]), eq(generations.apiKeyId, apiKeyId)));
}

/** Position in the newest-first listing, encoded into cursors. */
export interface ListCursor {
  createdAt: Date;
  id: string;
}

/** A stretch of one key's newest-first listing (keyset bounds, never an offset). */
export interface ListOptions {
  apiKeyId: string;
  limit: number;
  /** Only rows after this position in the listing (older ones). */
  after?: ListCursor;
  /** Only rows before this position in the listing (newer ones). */
  before?: ListCursor;
  statuses?: readonly GenerationStatus[];
  /**
   * 'newest-first' reads the stretch from its start, 'oldest-first' from its end (for `last`/`before`).
   * @default 'newest-first'
   */
  order?: 'newest-first' | 'oldest-first';
}

const olderThan = ({ createdAt, id }: ListCursor) =>
  or(lt(generations.createdAt, createdAt), and(eq(generations.createdAt, createdAt), lt(generations.id, id)))!;
const newerThan = ({ createdAt, id }: ListCursor) =>
  or(gt(generations.createdAt, createdAt), and(eq(generations.createdAt, createdAt), gt(generations.id, id)))!;

export async function listGenerations(db: Db, options: ListOptions): Promise<GenerationRow[]> {
  const where: SQL[] = [eq(generations.apiKeyId, options.apiKeyId)];
  if (options.statuses?.length) where.push(inArray(generations.status, [...options.statuses]));
  if (options.after) where.push(olderThan(options.after));
  if (options.before) where.push(newerThan(options.before));
  const direction = options.order === 'oldest-first' ? asc : desc;
  return db
    .select()
    .from(generations)
    .where(and(...where))
    .orderBy(direction(generations.createdAt), direction(generations.id))
    .limit(options.limit);
}

/** The key that owns a generation and when it was revoked (null: active); null when there is no such generation or key. */
export async function ownerKeyOf(db: Db, generationId: string): Promise<{ keyId: string; revokedAt: Date | null } | null> {
  const [row] = await selectOwnerKey(db, { generationId });
  return row?.keyId ? { keyId: row.keyId, revokedAt: row.revokedAt } : null;
}
const selectOwnerKey = fixedQuery('select_owner_key', (db) =>
  db
    .select({ keyId: apiKeys.id, revokedAt: apiKeys.revokedAt })
    .from(generations)
    .leftJoin(apiKeys, eq(apiKeys.id, generations.apiKeyId))
    .where(eq(generations.id, sql.placeholder('generationId'))),
);

/**
 * The reads admission makes inside its transaction. Each one is a plain query; which of them run, in what order
 * and what their answers mean is decided in generations/admission.ts.
 */

/** Advisory lock that serializes server-wide budget checks (only taken when a server budget is set). */
const SERVER_BUDGET_LOCK = 7_206_411_343;

/**
 * Locks the key's row and reads whether it is revoked: `update` makes concurrent admissions of the key take
 * turns, `share` lets them run in parallel. Either waits for a revocation in progress. Null when the key is gone.
 */
export async function lockKeyRow(tx: Tx, apiKeyId: string, mode: 'update' | 'share'): Promise<{ revokedAt: Date | null } | null> {
  const [key] = await lockKeyRowQueries[mode](tx, { apiKeyId });
  return key ?? null;
}
const lockKeyRowQuery = (mode: 'update' | 'share') =>
  fixedQuery(`lock_key_row_${mode}`, (db) =>
    db
      .select({ revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.id, sql.placeholder('apiKeyId')))
      .for(mode),
  );
const lockKeyRowQueries = { update: lockKeyRowQuery('update'), share: lockKeyRowQuery('share') };

/** The key's generation created with this idempotency key, if any. */
export async function findByIdempotencyKey(tx: Tx, apiKeyId: string, idempotencyKey: string): Promise<GenerationRow | null> {
  const [earlier] = await tx
    .select()
    .from(generations)
    .where(and(eq(generations.apiKeyId, apiKeyId), eq(generations.idempotencyKey, idempotencyKey)));
  return earlier ?? null;
}

/** How many of the key's generations are in one of `statuses`. */
export async function countInStatuses(tx: Tx, apiKeyId: string, statuses: readonly GenerationStatus[]): Promise<number> {
  const [active] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(generations)
    .where(and(eq(generations.apiKeyId, apiKeyId), inArray(generations.status, [...statuses])));
  return Number(active?.n ?? 0);
}

const startOfUtcDay = sql`date_trunc('day', now() at time zone 'utc') at time zone 'utc'`;

/**
 * The summed cost in USD of what was created today (UTC, on the database's clock), what ended today and what is
 * in one of `runningStatuses`; of one key's generations, or of every key's when `apiKeyId` is omitted.
 */
export async function costOfToday(tx: Tx, runningStatuses: readonly GenerationStatus[], apiKeyId?: string): Promise<number> {
  const countsToday = or(
    gte(generations.createdAt, startOfUtcDay),
    gte(generations.completedAt, startOfUtcDay),
    inArray(generations.status, [...runningStatuses]),
  );
  const [row] = await tx
    .select({ usd: sql<string>`coalesce(sum(${generations.costUsd}), 0)::text` })
    .from(generations)
    .where(and(countsToday, apiKeyId ? eq(generations.apiKeyId, apiKeyId) : undefined));
  return Number(row?.usd ?? 0);
}

/** Makes server-wide budget checks take turns until the transaction ends. */
export async function lockServerBudget(tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${SERVER_BUDGET_LOCK})`);
}

/**
 * Removes an admitted generation with its timeline, while `leaseOwner` still holds it and Segmind was never sent
 * it: admission undone, as for a request whose frames could not be uploaded.
 */
export async function deleteUnsent(db: Db, id: string, leaseOwner: string): Promise<void> {
  await db
    .delete(generations)
    .where(and(eq(generations.id, id), eq(generations.leaseOwner, leaseOwner), isNull(generations.segmindRequestId)));
}
