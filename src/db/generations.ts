import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from './open.js';
import { apiKeys, generations, type GenerationRow, type GenerationStatus } from './schema.js';

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
