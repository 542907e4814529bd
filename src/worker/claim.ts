import { and, asc, count, eq, gt, inArray, isNotNull, isNull, lt, lte, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import { activeStatuses } from '../generations/lifecycle.js';
import { generations, segmindSubmits, type GenerationRow } from '../db/schema.js';

const expiresIn = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

/** True while a submit went out less than `windowMs` ago and its request id is not recorded: its sender may still record it. */
const inSubmitWindow = (windowMs: number) =>
  and(
    isNotNull(generations.submitStartedAt),
    isNull(generations.segmindRequestId),
    gt(generations.submitStartedAt, sql`now() - ${windowMs} * interval '1 millisecond'`),
  )!;

/** Advisory lock id that serializes the in-flight and rate-limit checks of new submits across workers. */
const SUBMIT_SLOT_LOCK = 7_206_411_342;

/** Limits on new submits to Segmind, shared by every worker through Postgres. */
export interface SubmitLimits {
  /** Identifies the Segmind key (a hash, never the key), since Segmind's rate limit is per key. */
  keyId: string;
  /** Generations at Segmind at once (submitted or being submitted). */
  maxInFlight: number;
  submitsPerMinute: number;
}

/** What a claim must pass over besides live leases. */
export interface ClaimExclusions {
  /**
   * Generations this worker is driving right now. A lease can lapse while its holder still works (its heartbeat
   * failed through a database outage); the holder must not start a second run of its own generation.
   */
  driving: readonly string[];
  /** How long an unrecorded submit belongs to its sender, lease or not (`submitWindowMs` in submit-window.ts). */
  submitWindowMs: number;
}

async function claimOne(
  tx: Tx,
  workerId: string,
  leaseMs: number,
  exclusions: ClaimExclusions,
  filter: SQL,
): Promise<GenerationRow | null> {
  // The pick and the lease in one statement, one round trip: the subquery locks the row it picks (SKIP LOCKED
  // passes over rows other workers are claiming) and the UPDATE leases it in the same statement.
  const due = tx
    .select({ id: generations.id })
    .from(generations)
    .where(
      and(
        inArray(generations.status, [...activeStatuses]),
        // Past its deadline a generation is due at once, even when a retry was scheduled later: it must fail now.
        or(lte(generations.runAfter, sql`now()`), lt(generations.deadlineAt, sql`now()`)),
        or(isNull(generations.leaseExpiresAt), lt(generations.leaseExpiresAt, sql`now()`)),
        // Not even a deadline lets anyone touch a submit whose sender may still record Segmind's answer.
        sql`not ${inSubmitWindow(exclusions.submitWindowMs)}`,
        exclusions.driving.length > 0 ? notInArray(generations.id, [...exclusions.driving]) : undefined,
        filter,
      ),
    )
    .orderBy(asc(generations.runAfter))
    .limit(1)
    .for('update', { skipLocked: true });
  const [row] = await tx
    .update(generations)
    .set({ leaseOwner: workerId, leaseExpiresAt: expiresIn(leaseMs) })
    .where(sql`${generations.id} = (${due})`)
    .returning();
  return row ?? null;
}

/**
 * Claims the most overdue generation no live worker holds: SKIP LOCKED passes over rows other workers are
 * claiming right now, and rows whose lease expired (their worker died) are taken over. Work Segmind already
 * has, and generations past their deadline, come first and need no submit slot; a new submit is claimed
 * only while the in-flight cap and the per-minute rate limit allow, and takes a slot in the same commit.
 * A submit whose answer is not recorded yet is left to its sender for the whole submit window, even when its
 * lease lapsed, and a worker never claims what it is still driving. Submit records older than an hour count
 * for nothing (the rate limit looks back one minute): they are cleared after a claimed submit when `pruneIsDue`.
 */
export async function claimNext(
  db: Db,
  workerId: string,
  leaseMs: number,
  limits: SubmitLimits,
  exclusions: ClaimExclusions,
  pruneIsDue: () => boolean,
): Promise<GenerationRow | null> {
  // One transaction for both kinds of claim: a new job (the common wake-up) costs no extra round trips.
  return db.transaction(async (tx) => {
    const resumed = await claimOne(
      tx,
      workerId,
      leaseMs,
      exclusions,
      or(isNotNull(generations.segmindRequestId), ne(generations.status, 'QUEUED'), lt(generations.deadlineAt, sql`now()`))!,
    );
    if (resumed) return resumed;
    await tx.execute(sql`select pg_advisory_xact_lock(${SUBMIT_SLOT_LOCK})`);
    // Both counts in one statement (the rate-limit count rides along as a scalar subquery).
    const [usage] = await tx
      .select({
        inFlight: count(),
        recent: sql<number>`(select count(*)::int from ${segmindSubmits}
          where ${segmindSubmits.keyId} = ${limits.keyId} and ${segmindSubmits.at} > now() - interval '1 minute')`,
      })
      .from(generations)
      .where(
        or(
          inArray(generations.status, ['SUBMITTED', 'PROCESSING']),
          and(eq(generations.status, 'QUEUED'), gt(generations.leaseExpiresAt, sql`now()`)),
          // A submit whose sender lost the database may well be at Segmind.
          and(eq(generations.status, 'QUEUED'), inSubmitWindow(exclusions.submitWindowMs)),
        ),
      );
    if ((usage?.inFlight ?? 0) >= limits.maxInFlight) return null;
    if (Number(usage?.recent ?? 0) >= limits.submitsPerMinute) return null;
    const row = await claimOne(tx, workerId, leaseMs, exclusions, isNull(generations.segmindRequestId));
    if (!row) return null;
    await tx.insert(segmindSubmits).values({ keyId: limits.keyId, generationId: row.id });
    if (pruneIsDue()) {
      await tx
        .delete(segmindSubmits)
        .where(and(eq(segmindSubmits.keyId, limits.keyId), lt(segmindSubmits.at, sql`now() - interval '1 hour'`)));
    }
    return row;
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

/** Gives the generation back so any worker can pick it up at once, without waiting for the lease to expire. */
export async function releaseLease(db: Db, id: string, workerId: string): Promise<void> {
  await db
    .update(generations)
    .set({ leaseOwner: null, leaseExpiresAt: null })
    .where(and(eq(generations.id, id), eq(generations.leaseOwner, workerId)));
}
