import type { Db, Tx } from '../db/open.js';
import { countInStatuses, costOfToday, findByIdempotencyKey, lockKeyRow, lockServerBudget } from '../db/generations.js';
import { insertGenerationTx } from '../events/timeline.js';
import type { GenerationRow, NewGenerationRow } from '../db/schema.js';
import { BudgetExceededError, IdempotencyKeyReusedError, TooManyActiveGenerationsError } from './errors.js';
import { activeStatuses } from './lifecycle.js';

/** The key was revoked after the request was authenticated and before it was admitted. */
export class KeyRevokedError extends Error {
  override name = 'KeyRevokedError';
}

/** The limits of the key asking, as stored with it (null: no limit). */
export interface AdmittedKey {
  id: string;
  /** Most unfinished generations the key may have at once. */
  maxActive: number | null;
  /** USD per UTC day, as the decimal string the column holds. */
  dailyBudgetUsd: string | null;
}

export interface AdmitOptions {
  apiKey: AdmittedKey;
  values: NewGenerationRow;
  priceUsd: number;
  /** Server-wide USD per UTC day; undefined for no limit. */
  serverDailyBudgetUsd: number | undefined;
  /** When the request is admitted, for the budget's reset time. @default now */
  now?: Date;
}

export function nextUtcMidnight(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** Sums in USD are compared with a margin, so a price that exactly fills the budget is admitted. */
const overBudget = (usedUsd: number, priceUsd: number, limitUsd: number) => usedUsd + priceUsd > limitUsd + 1e-9;

/**
 * A generation counts against every UTC day it was running on, not only the day it was created: one asked for
 * before midnight is often sent to Segmind, and billed, after it. So today's spend is what was created today,
 * what is still running and what ended today.
 */
const spentToday = (tx: Tx, apiKeyId?: string) => costOfToday(tx, activeStatuses, apiKeyId);

/** What admission counts against a key right now: today's spend (as the budget check sums it) and unfinished generations. */
export async function keyUsage(db: Db, apiKeyId: string): Promise<{ spentTodayUsd: number; activeGenerations: number }> {
  return db.transaction(async (tx) => ({
    spentTodayUsd: await spentToday(tx, apiKeyId),
    activeGenerations: await countInStatuses(tx, apiKeyId, activeStatuses),
  }));
}

/**
 * The per-key and server rules, in order: an idempotent repeat returns the earlier generation (null otherwise);
 * the key's active-generation cap and daily budget and the server's daily budget throw when broken.
 */
async function checkRules(tx: Tx, options: AdmitOptions): Promise<GenerationRow | null> {
  const { apiKey, values, priceUsd } = options;
  const now = options.now ?? new Date();
  if (values.idempotencyKey) {
    const earlier = await findByIdempotencyKey(tx, apiKey.id, values.idempotencyKey);
    if (earlier) {
      if (earlier.inputHash !== values.inputHash) throw new IdempotencyKeyReusedError(values.idempotencyKey, earlier.id);
      return earlier;
    }
  }
  if (apiKey.maxActive !== null) {
    const count = await countInStatuses(tx, apiKey.id, activeStatuses);
    if (count >= apiKey.maxActive) throw new TooManyActiveGenerationsError(apiKey.maxActive, count);
  }
  if (apiKey.dailyBudgetUsd !== null) {
    const limit = Number(apiKey.dailyBudgetUsd);
    const used = await spentToday(tx, apiKey.id);
    if (overBudget(used, priceUsd, limit)) throw new BudgetExceededError('KEY', limit, used, priceUsd, nextUtcMidnight(now));
  }
  if (options.serverDailyBudgetUsd !== undefined) {
    await lockServerBudget(tx);
    const used = await spentToday(tx);
    if (overBudget(used, priceUsd, options.serverDailyBudgetUsd)) {
      throw new BudgetExceededError('SERVER', options.serverDailyBudgetUsd, used, priceUsd, nextUtcMidnight(now));
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
  return db.transaction(async (tx) => {
    // Without a per-key rule, concurrent calls of a key run in parallel (a shared lock); with one they take turns.
    // Either lock waits for a revocation in progress, which cancels what the key queued: a key revoked by then
    // (even one whose revocation notice this process missed) queues nothing.
    const key = await lockKeyRow(tx, options.apiKey.id, perKeyRules(options) ? 'update' : 'share');
    if (!key || key.revokedAt !== null) throw new KeyRevokedError();
    const earlier = await checkRules(tx, options);
    if (earlier) return { generation: earlier, repeated: true };
    return { generation: await insertGenerationTx(tx, options.values), repeated: false };
  });
}
