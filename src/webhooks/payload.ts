import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { generationEvents, type GenerationRow, type WebhookDeliveryRow } from '../db/schema.js';
import { generationSnapshots } from '../events/timeline.js';
import { formatUsd } from '../generations/charges.js';
import { generationVideo } from '../media/video-view.js';

/*
 * What a delivery says: `{type, timestamp, data}` with `data` the generation at the version that caused it, in the
 * shape and with the enum values the GraphQL API answers `generation(id)` with (a test compares the two), the
 * video URL included. The URL is signed when each attempt is made, so a retry a day later still carries a link
 * that works.
 */

/** How links in a payload are made, as the API makes them. */
export interface PayloadLinks {
  /** Base URL of the API (PUBLIC_URL, or the listening address). */
  publicUrl: () => string;
  videoSigningSecret: Buffer;
  videoUrlTtlSeconds: number;
}

/** GraphQL's names of the stored aspect ratio and resolution (`16:9` → `RATIO_16_9`, `1080p` → `RES_1080P`). */
const aspectRatioName = (value: string) => `RATIO_${value.replace(':', '_')}`;
const resolutionName = (value: string) => `RES_${value.toUpperCase()}`;
const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The generation as the API shows it (every field of `Generation` but the timeline and the deliveries). */
export function generationData(g: GenerationRow, links: PayloadLinks): Record<string, unknown> {
  return {
    id: g.id,
    status: g.status,
    version: g.version,
    progress: g.progress,
    etaSeconds: g.etaSeconds,
    prompt: g.prompt,
    negativePrompt: g.negativePrompt,
    image: g.image,
    lastFrame: g.lastFrame,
    aspectRatio: aspectRatioName(g.aspectRatio),
    durationSeconds: g.durationSeconds,
    resolution: resolutionName(g.resolution),
    generateAudio: g.generateAudio,
    seed: g.seed,
    idempotencyKey: g.idempotencyKey,
    video: generationVideo(g, {
      publicUrl: links.publicUrl(),
      videoSigningSecret: links.videoSigningSecret,
      videoUrlTtlSeconds: links.videoUrlTtlSeconds,
    }),
    error: g.status === 'FAILED' && g.errorCode ? { code: g.errorCode, message: g.errorMessage ?? '', retryable: g.errorRetryable ?? false } : null,
    cost: { amount: formatUsd(g.costUsd), currency: 'USD' },
    costIsFinal: g.costFinal,
    attempts: g.attempts,
    provider: g.provider,
    webhookUrl: g.webhookUrl,
    webhookEvents: g.webhookEvents,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
    completedAt: iso(g.completedAt),
    videoExpiredAt: iso(g.videoExpiredAt),
  };
}

/** The generation at the delivery's version, from its timeline snapshot; null when the timeline is gone. */
export async function generationAtVersion(db: Db, delivery: Pick<WebhookDeliveryRow, 'generationId' | 'version'>): Promise<GenerationRow | null> {
  if (!delivery.generationId) return null;
  const [event] = await db
    .select({ snapshot: generationEvents.snapshot })
    .from(generationEvents)
    .where(and(eq(generationEvents.generationId, delivery.generationId), eq(generationEvents.version, delivery.version)));
  return event ? generationSnapshots.decode(event.snapshot) : null;
}

/** The JSON body of one attempt carrying `data` (a generation's, or a story's). */
export function payloadBody(delivery: Pick<WebhookDeliveryRow, 'eventType'>, data: Record<string, unknown>, at: Date): string {
  return JSON.stringify({ type: delivery.eventType, timestamp: at.toISOString(), data });
}
