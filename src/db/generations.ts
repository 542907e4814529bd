import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { EventType } from '../contract/event-types.js';
import { appendEventTx } from '../events/timeline.js';
import type { Db, Tx } from './open.js';
import { apiKeys, generations, type GenerationRow, type GenerationStatus } from './schema.js';

export const terminalStatuses: readonly GenerationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];
export const activeStatuses: readonly GenerationStatus[] = ['QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING'];
export const isTerminal = (status: GenerationStatus) => terminalStatuses.includes(status);

/**
 * Cancels a key's generations that have not been sent to Segmind (queued, no submit marked, no request id),
 * inside the caller's transaction; nothing is charged for them. A worker about to send one marks it under the
 * same row lock, so either it marked first (and the job goes on, as it may already be billed) or it finds the
 * row no longer leased to it and never sends it. Returns how many were canceled.
 */
export async function cancelUnsubmittedTx(tx: Tx, apiKeyId: string, message: string): Promise<number> {
  const canceled = await tx
    .update(generations)
    .set({
      status: 'CANCELED',
      completedAt: sql`now()`,
      leaseOwner: null,
      leaseExpiresAt: null,
      etaSeconds: null,
      costUsd: '0',
      costFinal: true,
      version: sql`${generations.version} + 1`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(generations.apiKeyId, apiKeyId),
        eq(generations.status, 'QUEUED'),
        isNull(generations.segmindRequestId),
        isNull(generations.submitStartedAt),
      ),
    )
    .returning();
  for (const row of canceled) await appendEventTx(tx, row, { type: EventType.Canceled, message, data: { chargeMayApply: false } });
  return canceled.length;
}

/** A generation by id; with `apiKeyId`, only when that key owns it (anything else looks missing). */
export async function getGeneration(db: Db, id: string, apiKeyId?: string): Promise<GenerationRow | null> {
  const [row] = await db
    .select()
    .from(generations)
    .where(and(eq(generations.id, id), apiKeyId ? eq(generations.apiKeyId, apiKeyId) : undefined));
  return row ?? null;
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
