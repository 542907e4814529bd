import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../db/open.js';
import { deleteUnsent, getGeneration } from '../db/generations.js';
import type { GenerationRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { admitGeneration, type AdmittedKey } from './admission.js';
import { priceUsd, type Provider } from './charges.js';
import { findContinuationSource } from './continue-from.js';
import { InputError, UploadFailedError } from './errors.js';
import { checkWebhookUrl, WebhookUrlError, type WebhookUrlPolicy } from '../webhooks/url-policy.js';
import {
  awaitingFrames,
  completeFrameUpload,
  isAwaitingFrames,
  placeholderUrls,
  readFrames,
  uploadFrames,
  waitForFrames,
  type FrameFields,
  type Frames,
} from './frames.js';
import {
  validateGenerationRequest,
  type GenerationRequest,
  type ValidGenerationRequest,
  type ValidationOptions,
} from './request.js';

/** What queuing a generation needs from the server, as plain values. */
export interface GenerateVideoDeps {
  db: Db;
  /** Where new generations go. */
  provider: Provider;
  /** Stores data-URL images at Segmind's asset storage and returns their URLs, in order. */
  uploadFrames: (dataUrls: string[]) => Promise<string[]>;
  /** Longer than any frame upload can take. */
  frameUploadWindowMs: number;
  /** Server-wide USD per UTC day; undefined for no limit. */
  serverDailyBudgetUsd: number | undefined;
  /** How long a new generation may take before it fails with TIMEOUT; a client's deadlineSeconds is capped to it. */
  generationDeadlineMs: number;
  /** The shortest deadlineSeconds accepted. */
  minDeadlineSeconds: number;
  /** Which webhook URLs may be used. */
  webhookUrlPolicy: WebhookUrlPolicy;
  log: Logger;
  /** @default () => new Date() */
  clock?: () => Date;
}

/**
 * How requests are validated on this server. The built-in simulator runs on this machine, so it can reach
 * loopback frames; the real Segmind cannot.
 */
export const validationOptionsFor = (provider: Provider, minDeadlineSeconds: number): ValidationOptions => ({
  allowLoopbackFrames: provider === 'SIMULATOR',
  minDeadlineSeconds,
});

/** When a generation created at `now` times out: after the client's deadline when it gave one, capped by the server's. */
export function deadlineFor(now: Date, request: Pick<ValidGenerationRequest, 'deadlineSeconds'>, serverDeadlineMs: number): Date {
  const askedMs = request.deadlineSeconds === null ? Number.POSITIVE_INFINITY : request.deadlineSeconds * 1000;
  return new Date(now.getTime() + Math.min(askedMs, serverDeadlineMs));
}

/**
 * Checks a request as generateVideo and estimateCost both must: every field rule, then the generation
 * continueFrom names (the key's own, SUCCEEDED, with a last frame). Returns the request with continueFrom as
 * that generation's id.
 */
export async function checkGenerationRequest(
  db: Db,
  apiKeyId: string,
  request: GenerationRequest,
  options: ValidationOptions,
): Promise<ValidGenerationRequest> {
  const checked = validateGenerationRequest(request, options);
  if (!checked.continueFrom) return checked;
  const source = await findContinuationSource(db, apiKeyId, checked.continueFrom);
  return { ...checked, continueFrom: source.id };
}

/** A repeat whose earlier request's upload failed tries again itself; bounded, as each try waits at most one window. */
const MAX_UPLOAD_ROUNDS = 3;

/**
 * What makes two requests "the same" for idempotency: every input field as the client sent it (trimmed, with
 * defaults applied) and the uploaded frames' contents, but not the idempotency key nor a server-picked seed.
 */
export function inputHash(request: GenerationRequest, frames: Frames): string {
  const { idempotencyKey: _ignored, webhookUrl, webhookEvents, continueFrom, deadlineSeconds, ...rest } = request;
  // The fields added after the first release count only when given, so a request without them hashes as it did
  // before they existed (an idempotent repeat across the upgrade is still a repeat).
  const fields = {
    ...rest,
    ...(webhookUrl != null && { webhookUrl }),
    ...(webhookEvents != null && { webhookEvents }),
    ...(continueFrom != null && { continueFrom }),
    ...(deadlineSeconds != null && { deadlineSeconds }),
  };
  const digests = { imageFile: frames.imageFile?.digest ?? null, lastFrameFile: frames.lastFrameFile?.digest ?? null };
  const normalized = Object.fromEntries(
    Object.entries({ ...fields, seed: fields.seed ?? null, ...digests }).map(([k, v]) => [
      k,
      typeof v === 'string' ? v.trim() || null : (v ?? null),
    ]),
  );
  return createHash('sha256').update(JSON.stringify(normalized, Object.keys(normalized).sort())).digest('hex');
}

/** Refuses a webhook URL that is not https on a public host (its name resolved now; again before each delivery). */
export async function assertWebhookUrl(url: string, policy: WebhookUrlPolicy): Promise<void> {
  try {
    await checkWebhookUrl(url, policy);
  } catch (error) {
    if (error instanceof WebhookUrlError) throw new InputError('webhookUrl', error.message);
    throw error;
  }
}

/**
 * Queues a generation for a key: checks the request and its uploaded frames, prices it, admits it (idempotency,
 * active cap, budgets) and, with frames to upload, stores them at Segmind before handing it to the workers.
 * `repeated` is true for an idempotent repeat, which returns the earlier generation.
 */
export async function generateVideo(
  deps: GenerateVideoDeps,
  apiKey: AdmittedKey,
  asked: GenerationRequest,
  files: FrameFields,
): Promise<{ generation: GenerationRow; repeated: boolean }> {
  const frames = await readFrames({ ...files, image: asked.image, lastFrame: asked.lastFrame });
  const checked = await checkGenerationRequest(
    deps.db,
    apiKey.id,
    { ...asked, ...placeholderUrls(frames) },
    validationOptionsFor(deps.provider, deps.minDeadlineSeconds),
  );
  if (checked.webhookUrl) await assertWebhookUrl(checked.webhookUrl, deps.webhookUrlPolicy);
  const price = priceUsd(checked);
  const id = randomUUID();
  const now = deps.clock?.() ?? new Date();
  const deadlineAt = deadlineFor(now, checked, deps.generationDeadlineMs);
  const uploads = Object.values(frames);
  // The source is hashed by its id as stored, however the client spelled it (either global id form).
  const hash = inputHash({ ...asked, continueFrom: checked.continueFrom }, frames);
  const admit = ({ continueFrom, ...request }: ValidGenerationRequest) =>
    admitGeneration(deps.db, {
      apiKey,
      priceUsd: price,
      serverDailyBudgetUsd: deps.serverDailyBudgetUsd,
      now,
      values: {
        id,
        ...request,
        apiKeyId: apiKey.id,
        continueFromId: continueFrom,
        inputHash: hash,
        provider: deps.provider,
        costUsd: price.toFixed(2),
        createdAt: now,
        updatedAt: now,
        deadlineAt,
        // With frames to upload, the row is admitted first and waits for them (see frames.ts).
        ...(uploads.length > 0 && awaitingFrames(id, now, deps.frameUploadWindowMs)),
      },
    });
  if (uploads.length === 0) return admit(checked);
  // The uploaded frames' fields stay empty until Segmind has stored them.
  const pending = { ...checked, ...Object.fromEntries(uploads.map((frame) => [frame.urlField, null])) };
  for (let round = 0; round < MAX_UPLOAD_ROUNDS; round++) {
    const { generation, repeated } = await admit(pending);
    if (repeated) {
      if (!isAwaitingFrames(generation)) return { generation, repeated: true };
      const settled = await waitForFrames(deps.db, generation, generation.leaseExpiresAt ?? new Date());
      if (settled) return { generation: settled, repeated: true };
      continue;
    }
    let urls: Awaited<ReturnType<typeof uploadFrames>>;
    try {
      urls = await uploadFrames(deps.uploadFrames, uploads, deps.log);
    } catch (error) {
      // Nothing was sent to Segmind: the generation goes, with its budget share and idempotency key.
      await deleteUnsent(deps.db, generation.id, generation.leaseOwner ?? '');
      throw error;
    }
    const ready = await completeFrameUpload(deps.db, generation, urls, deadlineAt);
    // Null only when it was canceled (or taken over as late) meanwhile: answer it as it now is.
    return { generation: ready ?? (await getGeneration(deps.db, id)) ?? generation, repeated: false };
  }
  throw new UploadFailedError();
}
