import type { Db } from '../db/open.js';
import { getGeneration, getGenerationsOfKey, listGenerations, type ListCursor } from '../db/generations.js';
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

/**
 * The key's generations by client-supplied ids, one answer per id in the same order: null where `findGeneration`
 * would answer null (malformed, unknown, another key's). One query however many ids.
 */
export async function findGenerations(db: Db, apiKeyId: string, ids: readonly string[]): Promise<(GenerationRow | null)[]> {
  const rows = await getGenerationsOfKey(db, [...new Set(ids.filter(isGenerationId))], apiKeyId);
  const byId = new Map(rows.map((row) => [row.id.toLowerCase(), row]));
  return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** The most ids one `nodes(ids)` read resolves: as many as the largest page. */
export const MAX_NODE_IDS = MAX_PAGE_SIZE;

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

/** Which stretch of the newest-first listing a client asks for, Relay's way. */
export interface PageRequest {
  /** 'forward' takes `size` rows from the start of the stretch (first), 'backward' from its end (last). */
  direction: 'forward' | 'backward';
  /** Must pass {@link isPageSize}. */
  size: number;
  after?: ListCursor;
  before?: ListCursor;
  statuses?: readonly GenerationStatus[];
}

export interface Page {
  /** Newest first, whichever the direction. */
  rows: GenerationRow[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * One page of the key's generations between `after` and `before`, newest first. Keyset reads only: one query for
 * the page (a row more than asked tells whether more follow in the direction of reading) and, when a cursor bounds
 * the other side, one `limit 1` query for whether anything lies beyond it.
 */
export async function listPage(db: Db, apiKeyId: string, request: PageRequest): Promise<Page> {
  const { size, after, before, statuses } = request;
  const forward = request.direction === 'forward';
  const pageRead = listGenerations(db, {
    apiKeyId,
    statuses,
    after,
    before,
    limit: size + 1,
    order: forward ? 'newest-first' : 'oldest-first',
  });
  // Whether anything lies behind the cursor the reading starts from: newer than `after` when reading forward,
  // older than `before` when reading backward.
  const start = forward ? after : before;
  let beyondRead: Promise<GenerationRow[]> = Promise.resolve([]);
  if (start && forward) beyondRead = listGenerations(db, { apiKeyId, statuses, before: start, limit: 1, order: 'oldest-first' });
  if (start && !forward) beyondRead = listGenerations(db, { apiKeyId, statuses, after: start, limit: 1 });
  const [rows, beyond] = await Promise.all([pageRead, beyondRead]);
  const more = rows.length > size;
  const page = rows.slice(0, size);
  return forward
    ? { rows: page, hasNextPage: more, hasPreviousPage: beyond.length > 0 }
    : { rows: page.reverse(), hasNextPage: beyond.length > 0, hasPreviousPage: more };
}
