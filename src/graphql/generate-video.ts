import { createHash, randomUUID } from 'node:crypto';
import { createGraphQLError } from 'graphql-yoga';
import { admitGeneration, KeyRevokedError, type AdmitOptions } from '../generations/admission.js';
import { abandonFrameUpload, awaitingFrames, completeFrameUpload, isAwaitingFrames, waitForFrames } from '../db/frame-uploads.js';
import { getGeneration } from '../db/generations.js';
import type { GenerationRow } from '../db/schema.js';
import {
  BudgetExceededError,
  IdempotencyKeyReusedError,
  InputError,
  TooManyActiveGenerationsError,
  UploadFailedError,
} from '../generations/errors.js';
import { frameToDataUrl } from '../generations/frames.js';
import type { AppContext } from './context.js';
import { requireKey, unauthenticatedError } from './auth.js';
import {
  MAX_PROMPT_LENGTH,
  priceCents,
  validateGenerationRequest,
  type GenerationRequest,
  type ValidGenerationRequest,
} from '../generations/request.js';
import { builder } from './builder.js';
import { AspectRatioEnum, ResolutionEnum } from './enums.js';
import { GenerationRef } from './generation.js';
import { MoneyRef, usd } from './money.js';

export const GenerateVideoInput = builder.inputType('GenerateVideoInput', {
  description: 'What to generate. Only prompt is required.',
  fields: (t) => ({
    prompt: t.string({ required: true, description: `What the video shows, in English; at most ${MAX_PROMPT_LENGTH} characters.` }),
    negativePrompt: t.string({ description: 'What the video must not show; at most 500 characters.' }),
    image: t.string({ description: 'http(s) URL of a JPEG or PNG to use as the first frame, on a public host Segmind can fetch.' }),
    lastFrame: t.string({ description: 'http(s) URL of the last frame, on a public host; needs image.' }),
    aspectRatio: t.field({ type: AspectRatioEnum, defaultValue: '16:9' }),
    durationSeconds: t.int({ defaultValue: 8, description: '4, 6 or 8.' }),
    resolution: t.field({ type: ResolutionEnum, defaultValue: '1080p' }),
    generateAudio: t.boolean({ defaultValue: true, description: 'Audio raises the price from $0.10 to $0.15 per second.' }),
    seed: t.int({ description: 'From 0 to 2147483647. Omitted: the server picks one and records it.' }),
    imageFile: t.field({
      type: 'File',
      description: 'The first frame as an uploaded JPEG, PNG or WebP (at most 20 MB), instead of image. Use a GraphQL multipart request.',
    }),
    lastFrameFile: t.field({ type: 'File', description: 'The last frame as an uploaded image, instead of lastFrame.' }),
    idempotencyKey: t.string({ description: 'Send the same key again to get the same generation instead of a second one.' }),
  }),
});

type InputShape = typeof GenerateVideoInput.$inferInput;

/** The frame fields that can be uploaded, and the URL field each stands in for. */
const FRAME_FIELDS = [
  ['imageFile', 'image'],
  ['lastFrameFile', 'lastFrame'],
] as const;

/** An uploaded frame, checked and read once: its data URL for Segmind and its digest for idempotency. */
interface Frame {
  urlField: 'image' | 'lastFrame';
  dataUrl: string;
  digest: string;
}

/** Checks and reads the uploaded frames (type, size, not alongside a URL) before anything goes upstream. */
async function readFrames(input: InputShape): Promise<Partial<Record<'imageFile' | 'lastFrameFile', Frame>>> {
  const frames: Partial<Record<'imageFile' | 'lastFrameFile', Frame>> = {};
  for (const [fileField, urlField] of FRAME_FIELDS) {
    const file = input[fileField];
    if (!file) continue;
    if (input[urlField]) throw new InputError(fileField, `Give ${urlField} or ${fileField}, not both.`);
    const dataUrl = await frameToDataUrl(fileField, file);
    frames[fileField] = { urlField, dataUrl, digest: createHash('sha256').update(dataUrl).digest('hex') };
  }
  return frames;
}

/**
 * What makes two requests "the same" for idempotency: every input field as the client sent it (trimmed, with
 * defaults applied) and the uploaded frames' contents, but not the idempotency key nor a server-picked seed.
 */
function inputHash(request: GenerationRequest, frames: Awaited<ReturnType<typeof readFrames>>): string {
  const { idempotencyKey: _ignored, ...fields } = request;
  const digests = { imageFile: frames.imageFile?.digest ?? null, lastFrameFile: frames.lastFrameFile?.digest ?? null };
  const normalized = Object.fromEntries(
    Object.entries({ ...fields, seed: fields.seed ?? null, ...digests }).map(([k, v]) => [
      k,
      typeof v === 'string' ? v.trim() || null : (v ?? null),
    ]),
  );
  return createHash('sha256').update(JSON.stringify(normalized, Object.keys(normalized).sort())).digest('hex');
}

/** Stores the frames at Segmind's asset storage; returns the URL fields to use instead. */
async function uploadFrames(ctx: AppContext, frames: Frame[]): Promise<{ image?: string; lastFrame?: string }> {
  if (frames.length === 0) return {};
  let urls: string[];
  try {
    urls = await ctx.uploadFrames(frames.map((frame) => frame.dataUrl));
  } catch (error) {
    ctx.log.warn('frame upload failed', { err: error });
    throw new UploadFailedError();
  }
  return Object.fromEntries(frames.map((frame, i) => [frame.urlField, urls[i]]));
}

/** Admits the generation; a key revoked since the request was authenticated is answered as an invalid key. */
async function admit(ctx: AppContext, options: AdmitOptions) {
  try {
    return await admitGeneration(ctx.db, options);
  } catch (error) {
    if (error instanceof KeyRevokedError) throw unauthenticatedError('invalid');
    throw error;
  }
}

/** The built-in simulator runs here, so it can reach loopback frames; the real Segmind cannot. */
const validationOptions = (ctx: AppContext) => ({ allowLoopbackFrames: ctx.provider === 'SIMULATOR' });

/** GraphQL input → domain request, applying the schema defaults when a client sends explicit nulls. */
export function toGenerationRequest(input: InputShape): GenerationRequest {
  return {
    prompt: input.prompt,
    negativePrompt: input.negativePrompt,
    image: input.image,
    lastFrame: input.lastFrame,
    aspectRatio: input.aspectRatio ?? '16:9',
    durationSeconds: input.durationSeconds ?? 8,
    resolution: input.resolution ?? '1080p',
    generateAudio: input.generateAudio ?? true,
    seed: input.seed,
    idempotencyKey: input.idempotencyKey,
  };
}

const GenerateVideoSuccess = builder.objectRef<{ generation: GenerationRow }>('GenerateVideoSuccess').implement({
  fields: (t) => ({ generation: t.field({ type: GenerationRef, resolve: (r) => r.generation }) }),
});

builder.mutationField('generateVideo', (t) =>
  t.field({
    type: GenerateVideoSuccess,
    description: 'Queues a generation and answers at once; follow it with the generationStatus subscription.',
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    errors: {
      types: [InputError, BudgetExceededError, TooManyActiveGenerationsError, IdempotencyKeyReusedError, UploadFailedError],
      directResult: true,
      union: { name: 'GenerateVideoResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const apiKey = requireKey(ctx);
      const asked = toGenerationRequest(input);
      const frames = await readFrames(input);
      // Uploaded frames stand in as placeholder URLs during validation, so every field rule applies to them too.
      const placeholders = Object.fromEntries(
        Object.values(frames).map((frame) => [frame.urlField, `https://uploaded-frame.example/${frame.urlField}`]),
      );
      const checked = validateGenerationRequest({ ...asked, ...placeholders }, validationOptions(ctx));
      const priceUsd = priceCents(checked) / 100;
      const id = randomUUID();
      const now = new Date();
      const deadlineAt = new Date(now.getTime() + ctx.generationDeadlineMs);
      const uploads = Object.values(frames);
      const admission = (request: ValidGenerationRequest) => ({
        apiKey,
        priceUsd,
        serverDailyBudgetUsd: ctx.serverDailyBudgetUsd,
        values: {
          id,
          ...request,
          apiKeyId: apiKey.id,
          inputHash: inputHash(asked, frames),
          provider: ctx.provider,
          costUsd: priceUsd.toFixed(2),
          createdAt: now,
          updatedAt: now,
          deadlineAt,
          // With frames to upload, the row is admitted first and waits for them (see db/frame-uploads.ts).
          ...(uploads.length > 0 && awaitingFrames(id, now, ctx.frameUploadWindowMs)),
        },
      });
      const accepted = (generation: GenerationRow, repeated: boolean) => {
        // The request's logger already carries keyPrefix.
        ctx.log[repeated ? 'debug' : 'info'](repeated ? 'idempotent repeat' : 'generation accepted', {
          generationId: generation.id,
          provider: generation.provider,
        });
        return { generation };
      };
      if (uploads.length === 0) {
        const { generation, repeated } = await admit(ctx, admission(checked));
        return accepted(generation, repeated);
      }
      // The uploaded frames' fields stay empty until Segmind has stored them.
      const pending = { ...checked, ...Object.fromEntries(uploads.map((frame) => [frame.urlField, null])) };
      // A repeat whose earlier request's upload failed tries again itself; bounded, as each try waits at most one window.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { generation, repeated } = await admit(ctx, admission(pending));
        if (repeated) {
          if (!isAwaitingFrames(generation)) return accepted(generation, true);
          const settled = await waitForFrames(ctx.db, generation, generation.leaseExpiresAt ?? new Date());
          if (settled) return accepted(settled, true);
          continue;
        }
        let urls: Awaited<ReturnType<typeof uploadFrames>>;
        try {
          urls = await uploadFrames(ctx, uploads);
        } catch (error) {
          // Nothing was sent to Segmind: the generation goes, with its budget share and idempotency key.
          await abandonFrameUpload(ctx.db, generation);
          throw error;
        }
        const ready = await completeFrameUpload(ctx.db, generation, urls, deadlineAt);
        // Null only when it was canceled (or taken over as late) meanwhile: answer it as it now is.
        return accepted(ready ?? (await getGeneration(ctx.db, id)) ?? generation, false);
      }
      throw new UploadFailedError();
    },
  }),
);

builder.queryField('estimateCost', (t) =>
  t.field({
    type: MoneyRef,
    description: 'What generateVideo would cost for this input, before anything is spent.',
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      requireKey(ctx);
      try {
        return usd(priceCents(validateGenerationRequest(toGenerationRequest(input), validationOptions(ctx))) / 100);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw createGraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', field: error.field } });
      }
    },
  }),
);
