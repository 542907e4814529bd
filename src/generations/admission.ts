import { and, eq, gte, inArray, or, sql } from 'drizzle-orm';
import { BudgetExceededError, IdempotencyKeyReusedError, TooManyActiveGenerationsError } from './errors.js';
import type { ApiKey } from '../auth/keys.js';
import type { Db, Tx } from '../db/open.js';
import { activeStatuses } from '../db/generations.js';
import { insertGenerationTx } from '../events/timeline.js';
import { apiKeys, generations, type GenerationRow, type NewGenerationRow } from '../db/schema.js';

/** The key was revoked after the request was authenticated and before it was admitted. */
export class KeyRevokedError extends Error {
  override name = 'KeyRevokedError';
}

/** Advisory lock that serializes server-wide budget checks (only taken when a server budget is set). */
const SERVER_BUDGET_LOCK = 7_206_411_343;

export interface AdmitOptions {
  apiKey: ApiKey;
  values: NewGenerationRow;
  priceUsd: number;
  /** Server-wide USD per UTC day; undefined for no limit. */
  serverDailyBudgetUsd: number | undefined;
}

const startOfUtcDay = sql`date_trunc('day', now() at time zone 'utc') at time zone 'utc'`;

export function nextUtcMidnight(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/**
 * A generation counts against every UTC day it was running on, not only the day it was created: one asked for
 * before midnight is often sent to Segmind, and billed, after it. So today's spend is what was created today,
 * what is still running and what ended today.
 */
const countsToday = or(
  gte(generations.createdAt, startOfUtcDay),
  gte(generations.completedAt, startOfUtcDay),
  inArray(generations.status, [...activeStatuses]),
);

async function spentToday(tx: Tx, apiKeyId?: string): Promise<number> {
  const [row] = await tx
    .select({ usd: sql<string>`coalesce(sum(${generations.costUsd}), 0)::text` })
    .from(generations)
    .where(and(countsToday, apiKeyId ? eq(generations.apiKeyId, apiKeyId) : undefined));
  return Number(row?.usd ?? 0);
}

/**
 * The per-key and server rules, in order: an idempotent repeat returns the earlier generation (null otherwise);
 * the key's active-generation cap and daily budget and the server's daily budget throw when broken.
 */
async function checkRules(tx: Tx, options: AdmitOptions, lock: boolean): Promise<GenerationRow | null> {
  const { apiKey, values, priceUsd } = options;
  if (values.idempotencyKey) {
    const [earlier] = await tx
      .select()
      .from(generations)
      .where(and(eq(generations.apiKeyId, apiKey.id), eq(generations.idempotencyKey, values.idempotencyKey)));
    if (earlier) {
      if (earlier.inputHash !== values.inputHash) throw new IdempotencyKeyReusedError(values.idempotencyKey, earlier.id);
      return earlier;
    }
  }
  if (apiKey.maxActive !== null) {
    const [active] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(generations)
      .where(and(eq(generations.apiKeyId, apiKey.id), inArray(generations.status, [...activeStatuses])));
    const count = Number(active?.n ?? 0);
    if (count >= apiKey.maxActive) throw new TooManyActiveGenerationsError(apiKey.maxActive, count);
  }
  if (apiKey.dailyBudgetUsd !== null) {
    const limit = Number(apiKey.dailyBudgetUsd);
    const used = await spentToday(tx, apiKey.id);
    if (used + priceUsd > limit + 1e-9) throw new BudgetExceededError('KEY', limit, used, priceUsd, nextUtcMidnight());
  }
  if (options.serverDailyBudgetUsd !== undefined) {
    if (lock) await tx.execute(sql`select pg_advisory_xact_lock(${SERVER_BUDGET_LOCK})`);
    const used = await spentToday(tx);
    if (used + priceUsd > options.serverDailyBudgetUsd + 1e-9) {
      throw new BudgetExceededError('SERVER', options.serverDailyBudgetUsd, used, priceUsd, nextUtcMidnight());
    }
  }
  return null;
}

/** Whether a per-key rule (idempotency, active cap, budget) applies, which makes a key's calls take turns. */
const perKeyRules = ({ apiKey, values }: AdmitOptions) =>
  Boolean(values.idempotencyKey) || apiKey.maxActive !== null || apiKey.dailyBudgetUsd !== null;

/**
 * Admits a generation for a key in one transaction: an idempotent repeat returns the earlier generation; the
 * key's active-generation cap and daily budget and the server's daily budget are checked; then the row is
 * inserted. Locking the key's row first makes concurrent calls of one key take turns, so two of them can
 * neither overspend nor create two jobs for one idempotency key.
 */
export async function admitGeneration(db: Db, options: AdmitOptions): Promise<{ generation: GenerationRow; repeated: boolean }> {
  const { apiKey, values } = options;
  return db.transaction(async (tx) => {
    // Without a per-key rule, concurrent calls of a key run in parallel (a shared lock); with one they take turns.
    // Either lock waits for a revocation in progress, which cancels what the key queued: a key revoked by then
    // (even one whose revocation notice this process missed) queues nothing.
    const [key] = await tx
      .select({ revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.id, apiKey.id))
      .for(perKeyRules(options) ? 'update' : 'share');
    if (!key || key.revokedAt !== null) throw new KeyRevokedError();
    const earlier = await checkRules(tx, options, true);
    if (earlier) return { generation: earlier, repeated: true };
    return { generation: await insertGenerationTx(tx, values), repeated: false };
  });
}
