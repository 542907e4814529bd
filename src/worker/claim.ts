import { and, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { fixedQuery } from '../db/prepared.js';
import { activeStatuses } from '../generations/lifecycle.js';
import { generations, type GenerationRow } from '../db/schema.js';

const expiresIn = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

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

/**
 * The claim, in one round trip: drizzle/0004_claim_function.sql holds it, as a function, because the in-flight
 * and rate-limit counts must be read after the advisory lock that serializes new submits (see there). Prepared
 * once per connection; the row comes back mapped like any drizzle select.
 */
const claimStatement = fixedQuery<GenerationRow[]>('claim_next', (db) => {
  const p = (name: string) => sql.placeholder(name);
  const claimed = db
    .$with('claimed', getTableColumns(generations))
    .as(
      sql`select * from reelql_claim_next(${p('workerId')}::text, ${p('leaseMs')}::integer, ${p('keyId')}::text, ${p('maxInFlight')}::integer,
        ${p('submitsPerMinute')}::integer, ${p('driving')}::text, ${p('submitWindowMs')}::integer, ${p('pruneSubmits')}::boolean)`,
    );
  return db.with(claimed).select().from(claimed);
});

/**
 * Claims the most overdue generation no live worker holds: SKIP LOCKED passes over rows other workers are
 * claiming right now, and rows whose lease expired (their worker died) are taken over. Work Segmind already
 * has, and generations past their deadline, come first and need no submit slot; a new submit is claimed
 * only while the in-flight cap and the per-minute rate limit allow, and takes a slot in the same commit.
 * A submit whose answer is not recorded yet is left to its sender for the whole submit window, even when its
 * lease lapsed, and a worker never claims what it is still driving. Submit records older than an hour count
 * for nothing (the rate limit looks back one minute): they are cleared with a claimed submit when `pruneIsDue`.
 */
export async function claimNext(
  db: Db,
  workerId: string,
  leaseMs: number,
  limits: SubmitLimits,
  exclusions: ClaimExclusions,
  pruneIsDue: () => boolean,
): Promise<GenerationRow | null> {
  const [row] = await claimStatement(db, {
    workerId,
    leaseMs: Math.round(leaseMs),
    keyId: limits.keyId,
    maxInFlight: limits.maxInFlight,
    submitsPerMinute: limits.submitsPerMinute,
    driving: exclusions.driving.join(','),
    submitWindowMs: Math.round(exclusions.submitWindowMs),
    pruneSubmits: pruneIsDue(),
  });
  return row ?? null;
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
