import type { Db } from '../db/open.js';
import { getGeneration, listGenerations, type ListCursor } from '../db/generations.js';
import type { GenerationRow, GenerationStatus } from '../db/schema.js';

/**
 * Reading a key's generations by what a client sends: an id, or a page position. A key sees only its own
 * generations, and anything it may not see looks the same as what does not exist.
 */

/** The shape of a generation id (any UUID). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a client-supplied id can name a generation at all. */
export const isGenerationId = (id: string): boolean => UUID.test(id);

/**
 * A generation of the key's by a client-supplied id. Malformed ids, unknown ids and other keys' generations all
 * look the same: null.
 */
export function findGeneration(db: Db, apiKeyId: string, id: string): Promise<GenerationRow | null> {
  return isGenerationId(id) ? getGeneration(db, id, apiKeyId) : Promise.resolve(null);
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const isPageSize = (first: number): boolean => first >= 1 && first <= MAX_PAGE_SIZE;

/** The cursor of a generation in the newest-first listing: opaque to clients. */
export const encodeCursor = (row: GenerationRow): string =>
  Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');

/**
 * The listing position a cursor names; null for anything this server did not issue. Only cursors we issued
 * round-trip exactly; anything else (e.g. a forged far-past date) is refused.
 */
export function decodeCursor(cursor: string): ListCursor | null {
  const [iso = '', id = ''] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso || !iso.startsWith('2') || !isGenerationId(id)) {
    return null;
  }
  return { createdAt, id };
}

/** One page of the key's generations, newest first, after `after`; `first` must pass {@link isPageSize}. */
export async function listPage(
  db: Db,
  apiKeyId: string,
  options: { first: number; after?: ListCursor; statuses?: readonly GenerationStatus[] },
): Promise<{ rows: GenerationRow[]; hasNextPage: boolean }> {
  // One row more than asked tells whether another page follows.
  const rows = await listGenerations(db, { apiKeyId, limit: options.first + 1, after: options.after, statuses: options.statuses });
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}
