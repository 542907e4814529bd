import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/open.js';
import { generations, type WebhookDeliveryRow } from '../db/schema.js';
import { webhookDeliveriesDue } from '../events/channels.js';
import { createClaimLoop } from '../worker/claim-loop.js';
import type { Logger } from '../logger.js';
import { claimDeliveries, recordAttempt, releaseDelivery, type AttemptOutcome } from './outbox.js';
import { generationAtVersion, generationData, payloadBody, type PayloadLinks } from './payload.js';
import { storyAtVersion, storyData } from '../stories/story-webhook.js';
import { nextAttemptAt, type RetrySchedule } from './retry-schedule.js';
import { signingSecretsOf } from './secrets.js';
import { sendWebhook, type SendResult } from './send.js';
import { signDelivery } from './signing.js';
import { checkWebhookUrl, WebhookUrlError, type CheckedWebhookUrl, type WebhookUrlPolicy } from './url-policy.js';

/*
 * The worker side of webhooks: wakes on NOTIFY (a delivery was queued, or the one before it finished) and sweeps on
 * a timer (retries fall due, leases of dead workers expire), claims what is due up to its concurrency, and makes
 * each attempt: re-check the URL (DNS may have changed), sign, POST, record the outcome and the next attempt.
 */

export interface DeliveryOutcomeMetrics {
  /** One attempt's outcome (`delivered`, `retry`, `failed`) and how long it took. */
  observe(outcome: 'delivered' | 'retry' | 'failed', seconds: number): void;
}

export interface WebhookDispatcherOptions {
  database: Database;
  log: Logger;
  links: PayloadLinks;
  urlPolicy: WebhookUrlPolicy;
  schedule: RetrySchedule;
  timeoutMs: number;
  maxResponseBytes: number;
  concurrency: number;
  leaseMs: number;
  sweepMs: number;
  metrics: DeliveryOutcomeMetrics;
}

export interface WebhookDispatcher {
  readonly inFlight: number;
  start(): Promise<void>;
  /** Stops claiming, waits for attempts in flight and hands back what it still holds. */
  stop(): Promise<void>;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { database, log } = options;
  const db = database.db;
  const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  /** What a delivery tells of, at its version, and the key whose secret signs it: a generation or a story. */
  async function subjectOf(delivery: WebhookDeliveryRow): Promise<{ data: Record<string, unknown>; apiKeyId: string } | null> {
    if (delivery.storyId) {
      const story = await storyAtVersion(db, delivery);
      return story?.apiKeyId ? { data: storyData(story, options.links), apiKeyId: story.apiKeyId } : null;
    }
    const generation = await generationAtVersion(db, delivery);
    if (!generation || !delivery.generationId) return null;
    const [owner] = await db.select({ apiKeyId: generations.apiKeyId }).from(generations).where(eq(generations.id, delivery.generationId));
    return owner?.apiKeyId ? { data: generationData(generation, options.links), apiKeyId: owner.apiKeyId } : null;
  }

  /** Reads what to send, checks the URL again (its DNS answer may have changed), signs and POSTs. */
  async function post(delivery: WebhookDeliveryRow, at: Date): Promise<SendResult> {
    const subject = await subjectOf(delivery);
    if (!subject) return { statusCode: null, error: `the ${delivery.storyId ? 'story' : 'generation'} or its key is gone` };
    let target: CheckedWebhookUrl;
    try {
      target = await checkWebhookUrl(delivery.url, options.urlPolicy);
    } catch (error) {
      if (error instanceof WebhookUrlError) return { statusCode: null, error: error.message };
      throw error;
    }
    const body = payloadBody(delivery, subject.data, at);
    const headers = signDelivery(delivery.id, at, body, await signingSecretsOf(db, subject.apiKeyId, at));
    return sendWebhook(target, headers, body, { timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes });
  }

  /** Makes one attempt; never throws (a failure to record leaves the lease to expire, and the attempt is made again). */
  async function attempt(delivery: WebhookDeliveryRow): Promise<void> {
    const started = performance.now();
    const logFields = { generationId: delivery.generationId ?? undefined, storyId: delivery.storyId ?? undefined, webhookId: delivery.id, attempt: delivery.attempts + 1 };
    let outcome: AttemptOutcome;
    try {
      const result = await post(delivery, new Date());
      const retryAt = result.error === null ? null : nextAttemptAt(options.schedule, delivery.attempts + 1, new Date());
      outcome = { ...result, retryAt, durationMs: performance.now() - started };
    } catch (error) {
      // Our side failed (the database, most likely): the lease runs out and the attempt is made again.
      log.warn('webhook attempt could not be made', { ...logFields, err: error });
      return;
    }
    const seconds = outcome.durationMs / 1000;
    const kind = outcome.error === null ? 'delivered' : outcome.retryAt ? 'retry' : 'failed';
    try {
      const recorded = await recordAttempt(db, delivery, workerId, outcome);
      if (!recorded) return;
    } catch (error) {
      log.warn('webhook attempt could not be recorded; it will be made again', { ...logFields, err: error });
      return;
    }
    options.metrics.observe(kind, seconds);
    const fields = { ...logFields, eventType: delivery.eventType, statusCode: outcome.statusCode, durationMs: Math.round(outcome.durationMs) };
    if (kind === 'delivered') log.debug('webhook delivered', fields);
    else if (kind === 'retry') log.warn('webhook delivery failed; will retry', { ...fields, error: outcome.error, nextAttemptAt: outcome.retryAt });
    else log.error('webhook delivery failed for good', { ...fields, error: outcome.error });
  }

  const loop = createClaimLoop({
    database,
    log,
    channel: webhookDeliveriesDue,
    sweepMs: options.sweepMs,
    concurrency: options.concurrency,
    claim: (limit) => claimDeliveries(db, workerId, options.leaseMs, limit),
    idOf: (delivery) => delivery.id,
    run: (delivery) => attempt(delivery),
    release: (id) => releaseDelivery(db, id, workerId),
  });

  return {
    get inFlight() {
      return loop.inFlight;
    },
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
