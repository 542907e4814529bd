import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { Database, Db } from '../db/open.js';
import { fixedQuery } from '../db/prepared.js';
import { cancelUnsubmittedTx } from '../generations/lifecycle.js';
import { apiKeys } from '../db/schema.js';
import { apiKeyRevoked, listenTo, notifyTx } from '../events/channels.js';

/** Every key starts with this, so a leaked one is recognizable (and can be found by secret scanners). */
export const KEY_PREFIX = 'rql_';
/** Characters of the key shown in listings and logs: `rql_` and 8 more. */
const SHOWN_LENGTH = 12;

export type ApiKey = typeof apiKeys.$inferSelect;

export interface NewKeyOptions {
  name: string;
  dailyBudgetUsd?: number | null;
  maxActive?: number | null;
  /** The key itself, when the caller already holds one (test fixtures); a new random key otherwise. */
  key?: string;
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** A new random key: `rql_` and 43 base64url characters (256 bits). */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The name is taken: names are unique, revoked keys included, so listings and revocations stay unambiguous. */
export class KeyNameTakenError extends Error {
  override name = 'KeyNameTakenError';
  constructor(readonly keyName: string) {
    super(`A key named "${keyName}" already exists. Choose another name (npm run keys -- list shows the names in use).`);
  }
}

/** The name breaks {@link KEY_NAME_RULE}. */
export class KeyNameInvalidError extends Error {
  override name = 'KeyNameInvalidError';
}

export const KEY_NAME_RULE = 'A key name is 1 to 64 letters, digits, dots, dashes, underscores or @.';
export const isValidKeyName = (name: string) => /^[\w.@-]{1,64}$/.test(name.trim());

/** Creates a key and returns it in clear: the only time it is ever seen. Throws {@link KeyNameTakenError}. */
export async function createApiKey(db: Db, options: NewKeyOptions): Promise<{ key: string; apiKey: ApiKey }> {
  const created = await createApiKeyUnlessNameTaken(db, options);
  if (!created) throw new KeyNameTakenError(options.name.trim());
  return created;
}

/** Like {@link createApiKey}, but answers null instead of failing when the name is taken (a race to create it). */
export async function createApiKeyUnlessNameTaken(db: Db, options: NewKeyOptions): Promise<{ key: string; apiKey: ApiKey } | null> {
  const name = options.name.trim();
  if (!isValidKeyName(name)) throw new KeyNameInvalidError(KEY_NAME_RULE);
  const key = options.key ?? generateKey();
  const [apiKey] = await db
    .insert(apiKeys)
    .values({
      id: randomUUID(),
      name,
      prefix: key.slice(0, SHOWN_LENGTH),
      hash: hashKey(key),
      dailyBudgetUsd: options.dailyBudgetUsd == null ? null : options.dailyBudgetUsd.toFixed(2),
      maxActive: options.maxActive ?? null,
    })
    // Only the name can collide (the rest is random): a taken name is an answer, not a failed query.
    .onConflictDoNothing({ target: apiKeys.name })
    .returning();
  return apiKey ? { key, apiKey } : null;
}

export function listApiKeys(db: Db): Promise<ApiKey[]> {
  return db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt));
}

/**
 * Revokes by name or shown prefix, at once everywhere (NOTIFY), and cancels what the key queued that has not gone
 * to Segmind. Returns the key with how many generations were canceled, or null when none matched.
 */
export async function revokeApiKey(db: Db, nameOrPrefix: string): Promise<(ApiKey & { canceledGenerations: number }) | null> {
  return db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(or(eq(apiKeys.name, nameOrPrefix), eq(apiKeys.prefix, nameOrPrefix)), isNull(apiKeys.revokedAt)))
      .returning();
    if (!revoked) return null;
    // Revoking is how a leaked key is stopped: what it queued must not be sent to Segmind (and billed) after it.
    const canceledGenerations = await cancelUnsubmittedTx(
      tx,
      revoked.id,
      'Canceled because its API key was revoked, before it was sent to Segmind; nothing is charged.',
    );
    await notifyTx(tx, apiKeyRevoked, { keyId: revoked.id });
    return { ...revoked, canceledGenerations };
  });
}

/** The active key matching `key`, or null. Keys are random, so a plain hash lookup is safe. */
export async function findActiveKey(db: Db, key: string): Promise<ApiKey | null> {
  if (!key.startsWith(KEY_PREFIX) || key.length > 200) return null;
  const [apiKey] = await selectActiveKey(db, { hash: hashKey(key) });
  return apiKey ?? null;
}
/** Run on every authenticated request, so built once and prepared. */
const selectActiveKey = fixedQuery('select_active_key', (db) =>
  db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, sql.placeholder('hash')), isNull(apiKeys.revokedAt))),
);

/** Reads a key from `Bearer <key>` (or a bare key, as some WebSocket clients send it). */
export function keyFromAuthorization(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = /^(?:Bearer\s+)?(\S+)$/i.exec(value.trim());
  return match?.[1] ?? null;
}

export type SessionKind = 'socket' | 'subscription';

/** Open subscriptions and sockets by API key, so revoking a key ends them at once in every process. */
export interface Sessions {
  /** Registers `end` to run when `keyId` is revoked; returns the unregister function. */
  track(keyId: string, end: () => void, kind?: SessionKind): () => void;
  /** Sessions of one kind that `keyId` has open in this process. */
  count(keyId: string, kind: SessionKind): number;
  /** generationStatus streams one key may hold open in one process, over WebSocket and SSE together. */
  readonly subscriptionsPerKey: number;
  close(): Promise<void>;
}

export async function createSessions(database: Database, options: { subscriptionsPerKey: number }): Promise<Sessions> {
  const byKey = new Map<string, Set<{ end: () => void; kind: SessionKind }>>();
  const unlisten = await listenTo(database, apiKeyRevoked, ({ keyId }) => {
    const ends = byKey.get(keyId);
    byKey.delete(keyId);
    for (const session of ends ?? []) session.end();
  });
  return {
    track(keyId, end, kind = 'socket') {
      let set = byKey.get(keyId);
      if (!set) byKey.set(keyId, (set = new Set()));
      const session = { end, kind };
      set.add(session);
      return () => {
        set.delete(session);
        if (set.size === 0 && byKey.get(keyId) === set) byKey.delete(keyId);
      };
    },
    subscriptionsPerKey: options.subscriptionsPerKey,
    count: (keyId, kind) => [...(byKey.get(keyId) ?? [])].filter((session) => session.kind === kind).length,
    close: unlisten,
  };
}
