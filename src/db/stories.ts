import { and, asc, eq, inArray, notInArray } from 'drizzle-orm';
import type { Db, Tx } from './open.js';
import { apiKeys, generations, stories, type GenerationRow, type StoryRow } from './schema.js';

/** A story by id; with `apiKeyId`, only when that key owns it (anything else looks missing). */
export async function getStory(db: Db | Tx, id: string, apiKeyId?: string): Promise<StoryRow | null> {
  const [row] = await db
    .select()
    .from(stories)
    .where(and(eq(stories.id, id), apiKeyId ? eq(stories.apiKeyId, apiKeyId) : undefined));
  return row ?? null;
}

/** The key's stories among `ids`, in no particular order; other keys' stories match nothing. */
export async function getStoriesOfKey(db: Db, ids: readonly string[], apiKeyId: string): Promise<StoryRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(stories)
    .where(and(inArray(stories.id, [...ids]), eq(stories.apiKeyId, apiKeyId)));
}

/** Locks a story's row until the transaction ends, so changes of its shots are folded into it one at a time. */
export async function lockStoryTx(tx: Tx, id: string): Promise<StoryRow | null> {
  const [row] = await tx.select().from(stories).where(eq(stories.id, id)).for('update');
  return row ?? null;
}

/** Locks every unfinished story of a key (in id order) until the transaction ends: before changing its shots in bulk. */
export async function lockActiveStoriesOfKeyTx(tx: Tx, apiKeyId: string): Promise<void> {
  await tx
    .select({ id: stories.id })
    .from(stories)
    .where(and(eq(stories.apiKeyId, apiKeyId), notInArray(stories.status, ['SUCCEEDED', 'FAILED', 'CANCELED'])))
    .orderBy(asc(stories.id))
    .for('update');
}

/** A story's shots, first shot first. */
export async function shotsOf(db: Db | Tx, storyId: string): Promise<GenerationRow[]> {
  return db.select().from(generations).where(eq(generations.storyId, storyId)).orderBy(asc(generations.storyShot));
}

/** The shots of many stories at once, one list per id in the same order (a page of stories selecting `shots`). */
export async function shotsOfMany(db: Db, storyIds: readonly string[]): Promise<GenerationRow[][]> {
  if (storyIds.length === 0) return [];
  const rows = await db
    .select()
    .from(generations)
    .where(inArray(generations.storyId, [...new Set(storyIds)]))
    .orderBy(asc(generations.storyShot));
  return storyIds.map((id) => rows.filter((row) => row.storyId === id));
}

/** The key's story made with this idempotency key, if any. */
export async function findStoryByIdempotencyKey(tx: Tx, apiKeyId: string, idempotencyKey: string): Promise<StoryRow | null> {
  const [row] = await tx
    .select()
    .from(stories)
    .where(and(eq(stories.apiKeyId, apiKeyId), eq(stories.idempotencyKey, idempotencyKey)));
  return row ?? null;
}

/** False when the key that owns a story was revoked (its video links stop working with it). */
export async function storyOwnerKeyOf(db: Db, storyId: string): Promise<{ keyId: string; revokedAt: Date | null } | null> {
  const [row] = await db
    .select({ keyId: apiKeys.id, revokedAt: apiKeys.revokedAt })
    .from(stories)
    .leftJoin(apiKeys, eq(apiKeys.id, stories.apiKeyId))
    .where(eq(stories.id, storyId));
  return row?.keyId ? { keyId: row.keyId, revokedAt: row.revokedAt } : null;
}
