import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { activeStatuses } from '../db/generations.js';
import { generations, type GenerationRow } from '../db/schema.js';

const expiresIn = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

/**
 * Claims the most overdue generation that no live worker holds: skips rows other workers are claiming
 * right now (SKIP LOCKED) and takes over rows whose lease expired (their worker died).
 */
export async function claimNext(db: Db, workerId: string, leaseMs: number): Promise<GenerationRow | null> {
  return db.transaction(async (tx) => {
    const [due] = await tx
      .select({ id: generations.id })
      .from(generations)
      .where(
        and(
          inArray(generations.status, [...activeStatuses]),
          lte(generations.runAfter, sql`now()`),
          or(isNull(generations.leaseExpiresAt), lt(generations.leaseExpiresAt, sql`now()`)),
        ),
      )
      .orderBy(asc(generations.runAfter))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!due) return null;
    const [row] = await tx
      .update(generations)
      .set({ leaseOwner: workerId, leaseExpiresAt: expiresIn(leaseMs) })
      .where(eq(generations.id, due.id))
      .returning();
    return row ?? null;
  });
}

/** Extends our lease. False when it is no longer ours or the generation stopped being active (canceled). */
export async function renewLease(db: Db, id: string, workerId: string, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(generations)
    .set({ leaseExpiresAt: expiresIn(leaseMs) })
    .where(
      and(eq(generations.id, id), eq(generations.leaseOwner, workerId), inArray(generations.status, [...activeStatuses])),
    )
    .returning({ id: generations.id });
  return rows.length > 0;
}

/** Gives the generation back so any worker can pick it up at `runAfter` (default: now) without waiting for expiry. */
export async function releaseLease(db: Db, id: string, workerId: string, runAfter?: Date): Promise<void> {
  await db
    .update(generations)
    .set({ leaseOwner: null, leaseExpiresAt: null, ...(runAfter ? { runAfter } : {}) })
    .where(and(eq(generations.id, id), eq(generations.leaseOwner, workerId)));
}
