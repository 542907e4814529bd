import { randomUUID } from 'node:crypto';
import { eq, and } from 'drizzle-orm';
import type { Db, Tx } from '../db/open.js';
import { findStoryByIdempotencyKey, getStory, shotsOf } from '../db/stories.js';
import { generations, stories, type GenerationRow, type NewGenerationRow, type StoryRow } from '../db/schema.js';
import { EventType } from '../contract/tables.js';
import { appendEventOnlyTx } from '../events/timeline.js';
import { admit, type AdmittedKey } from '../generations/admission.js';
import { priceUsd } from '../generations/charges.js';
import {
  awaitingFrames,
  completeFrameUpload,
  isAwaitingFrames,
  placeholderUrls,
  readFrames,
  uploadFrames,
  waitForFrames,
} from '../generations/frames.js';
import { UploadFailedError } from '../generations/errors.js';
import { assertWebhookUrl, validationOptionsFor, type GenerateVideoDeps } from '../generations/generate-video.js';
import { heldShot } from './shot-hooks.js';
import { storyInputHash, validateStoryRequest, type StoryRequest } from './story-request.js';
import { insertStoryTx } from './story-timeline.js';

/** What queuing a story needs: the same as queuing a generation. */
export type GenerateStoryDeps = GenerateVideoDeps;

/** A repeat whose earlier request's upload failed tries again itself; bounded, as each try waits at most one window. */
const MAX_UPLOAD_ROUNDS = 3;

/** Inserts the story and each of its shots, with their first events, inside the admission's transaction. */
async function insertStoryAndShotsTx(tx: Tx, story: typeof stories.$inferInsert, shots: NewGenerationRow[]): Promise<StoryRow> {
  const row = await insertStoryTx(tx, story);
  for (const values of shots) {
    const [shot] = await tx.insert(generations).values(values).returning();
    if (!shot) throw new Error('insert returned no row');
    const held = (shot.storyShot ?? 0) > 0;
    await appendEventOnlyTx(tx, shot, {
      type: EventType.Created,
      message: held
        ? `Accepted as shot ${(shot.storyShot ?? 0) + 1} of ${story.shotCount}; it waits for the shot before it to succeed and starts from its last frame.`
        : `Accepted and queued as shot 1 of ${story.shotCount}.`,
    });
  }
  return row;
}

/**
 * Queues a story for a key: checks every shot, prices them all, and admits the story and every shot in one
 * transaction (idempotency, the active cap counting each shot, the budgets against the sum: all or nothing).
 * The first shot is due at once; the others are held until the one before succeeds (see shot-hooks.ts).
 * An uploaded first frame goes to Segmind after admission, as for generateVideo (see frames.ts).
 */
export async function generateStory(
  deps: GenerateStoryDeps,
  apiKey: AdmittedKey,
  asked: StoryRequest,
  files: { imageFile?: File | null },
): Promise<{ story: StoryRow; repeated: boolean }> {
  const frames = await readFrames({ imageFile: files.imageFile, image: asked.image });
  const checked = validateStoryRequest({ ...asked, ...placeholderUrls(frames) }, validationOptionsFor(deps.provider, deps.minDeadlineSeconds));
  if (checked.webhookUrl) await assertWebhookUrl(checked.webhookUrl, deps.webhookUrlPolicy);
  const prices = checked.shots.map((shot) => priceUsd(shot));
  const total = prices.reduce((sum, price) => sum + price, 0);
  const now = deps.clock?.() ?? new Date();
  const storyId = randomUUID();
  const shotIds = checked.shots.map(() => randomUUID());
  const deadlineAt = new Date(now.getTime() + deps.generationDeadlineMs);
  const upload = frames.imageFile;
  const inputHash = storyInputHash(asked, frames);
  const story = {
    id: storyId,
    apiKeyId: apiKey.id,
    shotCount: checked.shots.length,
    aspectRatio: asked.aspectRatio,
    resolution: asked.resolution,
    generateAudio: asked.generateAudio,
    seed: checked.seed,
    image: upload ? null : checked.image,
    idempotencyKey: checked.idempotencyKey,
    inputHash,
    webhookUrl: checked.webhookUrl,
    costUsd: total.toFixed(4),
    createdAt: now,
    updatedAt: now,
  };
  const shots: NewGenerationRow[] = checked.shots.map((shot, index) => ({
    ...shot,
    id: shotIds[index]!,
    // The shots' own webhook and idempotency fields stay empty: both belong to the story.
    idempotencyKey: null,
    webhookUrl: null,
    webhookEvents: null,
    image: index === 0 && !upload ? shot.image : null,
    apiKeyId: apiKey.id,
    provider: deps.provider,
    costUsd: prices[index]!.toFixed(2),
    // A millisecond apart, so lists ordered by creation (newest first) show the shots in order.
    createdAt: new Date(now.getTime() + index),
    updatedAt: now,
    storyId,
    storyShot: index,
    continueFromId: index === 0 ? null : shotIds[index - 1]!,
    ...(index === 0 ? { deadlineAt, ...(upload && awaitingFrames(shotIds[0]!, now, deps.frameUploadWindowMs)) } : heldShot(now)),
  }));
  const admitted = () =>
    admit(
      deps.db,
      {
        apiKey,
        priceUsd: total,
        generationCount: shots.length,
        serverDailyBudgetUsd: deps.serverDailyBudgetUsd,
        now,
        subject: `this story of ${shots.length} shot${shots.length === 1 ? '' : 's'}`,
      },
      {
        idempotencyKey: checked.idempotencyKey,
        inputHash,
        findEarlier: async (tx, idempotencyKey) => {
          const earlier = await findStoryByIdempotencyKey(tx, apiKey.id, idempotencyKey);
          return earlier && { result: earlier, id: earlier.id, inputHash: earlier.inputHash };
        },
        insert: (tx) => insertStoryAndShotsTx(tx, story, shots),
      },
    );
  if (!upload) {
    const { result, repeated } = await admitted();
    return { story: result, repeated };
  }
  for (let round = 0; round < MAX_UPLOAD_ROUNDS; round++) {
    const { result, repeated } = await admitted();
    const [first] = await shotsOf(deps.db, result.id);
    if (repeated) {
      if (!first || !isAwaitingFrames(first)) return { story: result, repeated: true };
      const settled = await waitForFrames(deps.db, first, first.leaseExpiresAt ?? new Date());
      if (settled) return { story: (await getStory(deps.db, result.id)) ?? result, repeated: true };
      continue;
    }
    let urls: Awaited<ReturnType<typeof uploadFrames>>;
    try {
      urls = await uploadFrames(deps.uploadFrames, [upload], deps.log);
    } catch (error) {
      // Nothing was sent to Segmind: the story goes with its shots, their budget share and its idempotency key.
      await deleteUnsentStory(deps.db, result.id, first);
      throw error;
    }
    if (first) await completeFrameUpload(deps.db, first, urls, deadlineAt);
    return { story: (await getStory(deps.db, result.id)) ?? result, repeated: false };
  }
  throw new UploadFailedError();
}

/** Removes a story whose first frame could not be uploaded, while its first shot still waits for it. */
async function deleteUnsentStory(db: Db, storyId: string, first: GenerationRow | undefined): Promise<void> {
  await db.transaction(async (tx) => {
    const [held] = await tx
      .select({ id: generations.id })
      .from(generations)
      .where(and(eq(generations.storyId, storyId), eq(generations.storyShot, 0), eq(generations.leaseOwner, first?.leaseOwner ?? '')))
      .for('update');
    if (held) await tx.delete(stories).where(eq(stories.id, storyId));
  });
}
