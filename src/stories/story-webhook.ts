import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import { stories, storyEvents, webhookDeliveries, type StoryRow, type WebhookDeliveryRow } from '../db/schema.js';
import { notifyTx, webhookDeliveriesDue } from '../events/channels.js';
import { createSnapshotCodec } from '../events/snapshot-codec.js';
import { formatUsd } from '../generations/charges.js';
import { isTerminal } from '../generations/lifecycle.js';
import { storyVideo } from '../media/video-view.js';
import type { PayloadLinks } from '../webhooks/payload.js';

/*
 * A story's own webhook: one signed delivery when the story ends, `story.succeeded`, `story.failed` or
 * `story.canceled`, through the same outbox, signing and retries as a generation's (its shots send none).
 */

// The same codec as story-timeline.ts's (which imports this file, so it cannot be imported from there).
const snapshots = createSnapshotCodec(stories);

/** The payload's `type` for a story's final status, e.g. `story.succeeded`. */
export const storyWebhookEventType = (status: StoryRow['status']) => `story.${status.toLowerCase()}`;

/** Inside the transaction that ended the story: queues its delivery when it has a webhook. */
export async function enqueueStoryWebhookTx(tx: Tx, row: StoryRow): Promise<void> {
  if (!row.webhookUrl || !isTerminal(row.status)) return;
  await tx
    .insert(webhookDeliveries)
    .values({ id: randomUUID(), storyId: row.id, version: row.version, eventType: storyWebhookEventType(row.status), url: row.webhookUrl })
    .onConflictDoNothing();
  await notifyTx(tx, webhookDeliveriesDue, { generationId: row.id });
}

/** The story at the delivery's version, from its timeline snapshot; null when the timeline is gone. */
export async function storyAtVersion(db: Db, delivery: Pick<WebhookDeliveryRow, 'storyId' | 'version'>): Promise<StoryRow | null> {
  if (!delivery.storyId) return null;
  const [event] = await db
    .select({ snapshot: storyEvents.snapshot })
    .from(storyEvents)
    .where(and(eq(storyEvents.storyId, delivery.storyId), eq(storyEvents.version, delivery.version)));
  return event ? snapshots.decode(event.snapshot) : null;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** A story's Relay global id, as the API gives it (graphql/global-ids.ts): base64 of `Story:<uuid>`. */
export const storyGlobalId = (id: string) => Buffer.from(`Story:${id}`).toString('base64');

/** The story as a delivery tells of it, with the id `story(id)` takes. */
export function storyData(story: StoryRow, links: PayloadLinks): Record<string, unknown> {
  return {
    id: storyGlobalId(story.id),
    status: story.status,
    version: story.version,
    progress: story.progress,
    shotCount: story.shotCount,
    video: storyVideo(story, { ...links, publicUrl: links.publicUrl() }),
    error:
      story.status === 'FAILED' && story.errorCode
        ? { code: story.errorCode, message: story.errorMessage ?? '', retryable: story.errorRetryable ?? false }
        : null,
    cost: { amount: formatUsd(story.costUsd), currency: 'USD' },
    createdAt: iso(story.createdAt),
    completedAt: iso(story.completedAt),
  };
}
