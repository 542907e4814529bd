import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import {
  generationEvents,
  webhookAttempts,
  webhookDeliveries,
  type GenerationRow,
  type GenerationStatus,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
} from '../db/schema.js';
import { notifyTx, webhookDeliveriesDue } from '../events/channels.js';

/*
 * The webhook outbox. A delivery row is written inside the transaction that commits the status change it tells of,
 * so a change is never committed without its delivery nor a delivery sent for a change that rolled back. Workers
 * claim due rows with FOR UPDATE SKIP LOCKED and a lease; a worker that dies mid-delivery leaves the lease to
 * expire and another worker makes the delivery (at least once: the receiver dedupes by webhook-id).
 *
 * Order: a generation's deliveries go out in version order. One is claimed only when no earlier delivery of the
 * same generation is still PENDING, so version N+1 waits until N was delivered or finally failed.
 */

/** The statuses a webhook is told about when the request names none. */
export const DEFAULT_WEBHOOK_EVENTS: readonly GenerationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/** The payload's `type` for a status, e.g. `generation.succeeded`. */
export const webhookEventType = (status: GenerationStatus) => `generation.${status.toLowerCase()}`;

/**
 * Inside the transaction that committed `row`'s version: queues a delivery when the generation has a webhook for
 * its status and this version changed the status (the previous version had another one). Progress ticks and
 * other same-status changes send nothing.
 */
export async function enqueueWebhookTx(tx: Tx, row: GenerationRow): Promise<void> {
  if (!row.webhookUrl || !row.webhookEvents?.includes(row.status)) return;
  if (row.version > 1) {
    const [previous] = await tx
      .select({ status: generationEvents.status })
      .from(generationEvents)
      .where(and(eq(generationEvents.generationId, row.id), eq(generationEvents.version, row.version - 1)));
    if (previous?.status === row.status) return;
  }
  await tx
    .insert(webhookDeliveries)
    .values({ id: randomUUID(), generationId: row.id, version: row.version, eventType: webhookEventType(row.status), url: row.webhookUrl })
    .onConflictDoNothing();
  await notifyTx(tx, webhookDeliveriesDue, { generationId: row.id });
}

const pending = eq(webhookDeliveries.state, 'PENDING');

/**
 * Claims up to `limit` due deliveries no live worker holds (expired leases are taken over), each the earliest
 * pending one of its generation, and leases them to `workerId` for `leaseMs`.
 */
export async function claimDeliveries(db: Db, workerId: string, leaseMs: number, limit: number): Promise<WebhookDeliveryRow[]> {
  if (limit <= 0) return [];
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          pending,
          lte(webhookDeliveries.nextAttemptAt, sql`now()`),
          or(isNull(webhookDeliveries.leaseExpiresAt), lt(webhookDeliveries.leaseExpiresAt, sql`now()`)),
          sql`not exists (select 1 from ${webhookDeliveries} as earlier
            where earlier.generation_id = ${webhookDeliveries.generationId}
              and earlier.version < ${webhookDeliveries.version} and earlier.state = 'PENDING')`,
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(webhookDeliveries)
      .set({ leaseOwner: workerId, leaseExpiresAt: sql`now() + ${leaseMs} * interval '1 millisecond'` })
      .where(inArray(webhookDeliveries.id, due.map((d) => d.id)))
      .returning();
  });
}

/** How one attempt ended. */
export interface AttemptOutcome {
  /** The receiver's status; null when no answer came. */
  statusCode: number | null;
  /** What went wrong, in words; null for a 2xx. */
  error: string | null;
  durationMs: number;
  /** When to try again; null when delivered or when no retry is left (then the delivery is FAILED). */
  retryAt: Date | null;
}

/**
 * Records an attempt and its outcome, while `workerId` still holds the delivery (a worker whose lease was taken
 * over records nothing: the new holder's attempt counts). Returns the updated delivery, or null.
 */
export async function recordAttempt(db: Db, delivery: WebhookDeliveryRow, workerId: string, outcome: AttemptOutcome): Promise<WebhookDeliveryRow | null> {
  const delivered = outcome.error === null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        state: delivered ? 'DELIVERED' : outcome.retryAt ? 'PENDING' : 'FAILED',
        deliveredAt: delivered ? sql`now()` : null,
        nextAttemptAt: outcome.retryAt ?? sql`${webhookDeliveries.nextAttemptAt}`,
        lastStatusCode: outcome.statusCode,
        lastError: outcome.error,
        leaseOwner: null,
        leaseExpiresAt: null,
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.leaseOwner, workerId), pending))
      .returning();
    if (!row) return null;
    await tx.insert(webhookAttempts).values({
      deliveryId: row.id,
      attempt: row.attempts,
      statusCode: outcome.statusCode,
      error: outcome.error,
      durationMs: Math.round(outcome.durationMs),
    });
    // The generation's next delivery may have been waiting for this one.
    await notifyTx(tx, webhookDeliveriesDue, { generationId: row.generationId ?? row.storyId ?? '' });
    return row;
  });
}

/** Gives a claimed delivery back at once (shutting down), so another worker need not wait for the lease. */
export async function releaseDelivery(db: Db, id: string, workerId: string): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ leaseOwner: null, leaseExpiresAt: null })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.leaseOwner, workerId)));
}

/** A delivery with every attempt made so far, oldest first. */
export interface DeliveryWithAttempts extends WebhookDeliveryRow {
  attemptLog: WebhookAttemptRow[];
}

/**
 * The deliveries of several generations, answered in the order asked, with two queries whatever their number (a
 * page of generations asking for webhookDeliveries is one batch). Bounded by the caller: a page or `nodes` list.
 */
export async function deliveriesOfMany(db: Db, generationIds: readonly string[]): Promise<DeliveryWithAttempts[][]> {
  if (generationIds.length === 0) return [];
  const deliveries = await db
    .select()
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.generationId, [...generationIds]))
    .orderBy(asc(webhookDeliveries.version));
  const attemptsOf = new Map<string, WebhookAttemptRow[]>(deliveries.map((d) => [d.id, []]));
  if (deliveries.length > 0) {
    const attempts = await db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, deliveries.map((d) => d.id)))
      .orderBy(asc(webhookAttempts.attempt));
    for (const attempt of attempts) attemptsOf.get(attempt.deliveryId)?.push(attempt);
  }
  const byGeneration = new Map<string, DeliveryWithAttempts[]>(generationIds.map((id) => [id, []]));
  for (const d of deliveries) if (d.generationId) byGeneration.get(d.generationId)?.push({ ...d, attemptLog: attemptsOf.get(d.id) ?? [] });
  return generationIds.map((id) => byGeneration.get(id) ?? []);
}
