import type { WebhookAttemptRow } from '../db/schema.js';
import { deliveriesOfMany, type DeliveryWithAttempts } from '../webhooks/outbox.js';
import { builder } from './builder.js';
import { GenerationRef } from './generation.js';
import { GenerationStatusEnum } from './value-types.js';

/* `Generation.webhookDeliveries` and the generation's webhook settings: every delivery and each of its attempts. */

const WebhookDeliveryStateEnum = builder.enumType('WebhookDeliveryState', {
  values: {
    PENDING: { description: 'Not delivered yet; nextAttemptAt says when it is tried (again).' },
    DELIVERED: { description: 'The receiver answered 2xx.' },
    FAILED: { description: 'Every retry failed; it is not tried again.' },
  } as const,
});

const WebhookAttemptRef = builder.objectRef<WebhookAttemptRow>('WebhookAttempt').implement({
  description: 'One POST of a delivery and how it ended.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: '1 for the first attempt.' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The receiver’s HTTP status; null when no answer came.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it did not count as delivered; null for a 2xx.' }),
    durationMs: t.exposeInt('durationMs'),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt ended.' }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<DeliveryWithAttempts>('WebhookDelivery').implement({
  description: 'One status change told to the generation’s webhook, with every attempt so far.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The `webhook-id` header: the same on every attempt, so receivers can drop repeats.' }),
    eventType: t.exposeString('eventType', { description: 'e.g. generation.succeeded.' }),
    version: t.exposeInt('version', { description: 'The generation version the payload shows.' }),
    state: t.expose('state', { type: WebhookDeliveryStateEnum }),
    attempt: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    statusCode: t.exposeInt('lastStatusCode', { nullable: true, description: 'The last attempt’s HTTP status; null when none came.' }),
    error: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is tried (again) while PENDING; null once DELIVERED or FAILED.',
      resolve: (d) => (d.state === 'PENDING' ? d.nextAttemptAt : null),
    }),
    attempts: t.field({ type: [WebhookAttemptRef], description: 'Every attempt, oldest first.', resolve: (d) => d.attemptLog }),
  }),
});

builder.objectFields(GenerationRef, (t) => ({
  webhookUrl: t.exposeString('webhookUrl', { nullable: true }),
  webhookEvents: t.field({ type: [GenerationStatusEnum], nullable: true, resolve: (g) => g.webhookEvents }),
  webhookDeliveries: t.loadableList({
    type: WebhookDeliveryRef,
    description: 'Every webhook delivery of this generation, in version order.',
    // One batch for every generation of a page, as events; no cache, for the reason events gives.
    loaderOptions: { cache: false },
    load: (ids: string[], ctx) => deliveriesOfMany(ctx.db, ids),
    resolve: (g) => g.id,
  }),
}));
