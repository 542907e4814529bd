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

/** The rules every admission is held to: the key's cap and budget and the server's budget. */
export interface AdmissionRules {
  apiKey: AdmittedKey;
  /** What everything admitted together costs, in USD: the budgets are checked against the sum, all or nothing. */
  priceUsd: number;
  /** How many unfinished generations the admission adds (a story adds every shot). @default 1 */
  generationCount?: number;
  /** Server-wide USD per UTC day; undefined for no limit. */
  serverDailyBudgetUsd: number | undefined;
  /** When the request is admitted, for the budget's reset time. @default now */
  now?: Date;
  /** What is asked for, as a refusal names it. @default 'this generation' */
  subject?: string;
}

export interface AdmitOptions extends AdmissionRules {
  values: NewGenerationRow;
}

/**
 * What one admission writes, and how an earlier one made with the same idempotency key is found: a generation,
 * or a story with all its shots.
 */
export interface AdmissionWrite<T> {
  idempotencyKey: string | null;
  inputHash: string | null;
  /** The earlier result of this key's idempotency key, with the input hash it was made with. */
  findEarlier(tx: Tx, idempotencyKey: string): Promise<{ result: T; id: string; inputHash: string | null } | null>;
  /** Inserts the rows, with their first events. */
  insert(tx: Tx): Promise<T>;
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

/** The key's active-generation cap and daily budget and the server's daily budget; each throws when broken. */
async function checkLimits(tx: Tx, rules: AdmissionRules): Promise<void> {
  const { apiKey, priceUsd } = rules;
  const adding = rules.generationCount ?? 1;
  const now = rules.now ?? new Date();
  if (apiKey.maxActive !== null) {
    const count = await countInStatuses(tx, apiKey.id, activeStatuses);
    if (count + adding > apiKey.maxActive) throw new TooManyActiveGenerationsError(apiKey.maxActive, count, adding);
  }
  if (apiKey.dailyBudgetUsd !== null) {
    const limit = Number(apiKey.dailyBudgetUsd);
    const used = await spentToday(tx, apiKey.id);
    if (overBudget(used, priceUsd, limit)) throw new BudgetExceededError('KEY', limit, used, priceUsd, nextUtcMidnight(now), rules.subject);
  }
  if (rules.serverDailyBudgetUsd !== undefined) {
    await lockServerBudget(tx);
    const used = await spentToday(tx);
    if (overBudget(used, priceUsd, rules.serverDailyBudgetUsd)) {
      throw new BudgetExceededError('SERVER', rules.serverDailyBudgetUsd, used, priceUsd, nextUtcMidnight(now), rules.subject);
    }
  }
}

/**
 * Admits in one transaction: an idempotent repeat returns the earlier result; the key's active-generation cap
 * and daily budget and the server's daily budget are checked against everything being admitted together; then
 * it is inserted. Locking the key's row first makes concurrent calls of one key take turns, so two of them can
 * neither overspend nor create two results for one idempotency key.
 */
export async function admit<T>(db: Db, rules: AdmissionRules, write: AdmissionWrite<T>): Promise<{ result: T; repeated: boolean }> {
  return db.transaction(async (tx) => {
    // Without a per-key rule, concurrent calls of a key run in parallel (a shared lock); with one they take turns.
    // Either lock waits for a revocation in progress, which cancels what the key queued: a key revoked by then
    // (even one whose revocation notice this process missed) queues nothing.
    const perKeyRules = Boolean(write.idempotencyKey) || rules.apiKey.maxActive !== null || rules.apiKey.dailyBudgetUsd !== null;
    const key = await lockKeyRow(tx, rules.apiKey.id, perKeyRules ? 'update' : 'share');
    if (!key || key.revokedAt !== null) throw new KeyRevokedError();
    if (write.idempotencyKey) {
      const earlier = await write.findEarlier(tx, write.idempotencyKey);
      if (earlier) {
        if (earlier.inputHash !== write.inputHash) throw new IdempotencyKeyReusedError(write.idempotencyKey, earlier.id);
        return { result: earlier.result, repeated: true };
      }
    }
    await checkLimits(tx, rules);
    return { result: await write.insert(tx), repeated: false };
  });
}

/** Admits one generation (see {@link admit}). */
export async function admitGeneration(db: Db, options: AdmitOptions): Promise<{ generation: GenerationRow; repeated: boolean }> {
  const { values } = options;
  const { result, repeated } = await admit(db, options, {
    idempotencyKey: values.idempotencyKey ?? null,
    inputHash: values.inputHash ?? null,
    findEarlier: async (tx, idempotencyKey) => {
      const earlier = await findByIdempotencyKey(tx, options.apiKey.id, idempotencyKey);
      return earlier && { result: earlier, id: earlier.id, inputHash: earlier.inputHash };
    },
    insert: (tx) => insertGenerationTx(tx, values),
  });
  return { generation: result, repeated };
}
