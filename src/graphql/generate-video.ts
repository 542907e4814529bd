import { createGraphQLError } from 'graphql-yoga';
import { VEO, API_ERROR_CODES } from '../contract/tables.js';
import type { GenerationRow } from '../db/schema.js';
import { KeyRevokedError } from '../generations/admission.js';
import { formatUsd, priceUsd } from '../generations/charges.js';
import {
  BudgetExceededError,
  IdempotencyKeyReusedError,
  InputError,
  TooManyActiveGenerationsError,
  UploadFailedError,
} from '../generations/errors.js';
import { MAX_UPLOAD_SIZE } from '../generations/frames.js';
import { checkGenerationRequest, generateVideo, validationOptionsFor } from '../generations/generate-video.js';
import {
  ALLOWED_DURATIONS,
  MAX_NEGATIVE_PROMPT_LENGTH,
  MAX_PROMPT_LENGTH,
  MAX_SEED,
  REQUEST_DEFAULTS,
  type GenerationRequest,
} from '../generations/request.js';
import { requireKey, unauthenticatedError, builder, type AppContext } from './builder.js';
import { AspectRatioEnum, GenerationStatusEnum, ResolutionEnum, MoneyRef, usd } from './value-types.js';
import { GenerationRef } from './generation.js';
import { decodeGlobalId } from './global-ids.js';

const perSecond = (cents: number) => `$${formatUsd(cents / 100)}`;

export const GenerateVideoInput = builder.inputType('GenerateVideoInput', {
  description: 'What to generate. Only prompt is required.',
  fields: (t) => ({
    prompt: t.string({ required: true, description: `What the video shows, in English; at most ${MAX_PROMPT_LENGTH} characters.` }),
    negativePrompt: t.string({ description: `What the video must not show; at most ${MAX_NEGATIVE_PROMPT_LENGTH} characters.` }),
    image: t.string({ description: 'http(s) URL of a JPEG or PNG to use as the first frame, on a public host Segmind can fetch.' }),
    lastFrame: t.string({ description: 'http(s) URL of the last frame, on a public host; needs image.' }),
    aspectRatio: t.field({ type: AspectRatioEnum, defaultValue: REQUEST_DEFAULTS.aspectRatio }),
    durationSeconds: t.int({ defaultValue: REQUEST_DEFAULTS.durationSeconds, description: `${ALLOWED_DURATIONS}.` }),
    resolution: t.field({ type: ResolutionEnum, defaultValue: REQUEST_DEFAULTS.resolution }),
    generateAudio: t.boolean({
      defaultValue: REQUEST_DEFAULTS.generateAudio,
      description: `Audio raises the price from ${perSecond(VEO.centsPerSecond.withoutAudio)} to ${perSecond(VEO.centsPerSecond.withAudio)} per second.`,
    }),
    seed: t.int({ description: `From 0 to ${MAX_SEED}. Omitted: the server picks one and records it.` }),
    imageFile: t.field({
      type: 'File',
      description: `The first frame as an uploaded JPEG, PNG or WebP (at most ${MAX_UPLOAD_SIZE}), instead of image. Use a GraphQL multipart request.`,
    }),
    lastFrameFile: t.field({ type: 'File', description: 'The last frame as an uploaded image, instead of lastFrame.' }),
    idempotencyKey: t.string({ description: 'Send the same key again to get the same generation instead of a second one.' }),
    webhookUrl: t.string({
      description:
        'Where to POST a signed Standard Webhooks delivery when the status becomes one of webhookEvents: https on a public host ' +
        '(plain http and non-public hosts only when WEBHOOK_ALLOWED_HOSTS lists them). Verify it with Viewer.webhookSecret.',
    }),
    webhookEvents: t.field({
      type: [GenerationStatusEnum],
      description: 'The statuses the webhook is told about; default SUCCEEDED, FAILED and CANCELED. Needs webhookUrl.',
    }),
    continueFrom: t.id({
      description:
        'The id of one of your SUCCEEDED generations: its last frame becomes this video\'s first frame, so the scene continues. ' +
        'Instead of image or imageFile. Refused (InputError with a code) when it is not yours, not SUCCEEDED, or has no last frame.',
    }),
    deadlineSeconds: t.int({
      description:
        'Your own deadline, in seconds from now (at least the server\'s minimum, MIN_DEADLINE_SECONDS): not finished by then, the ' +
        'generation fails with TIMEOUT, saying whether a charge may apply. A deadline beyond the server-wide one (Generation.deadlineAt ' +
        'shows it) is accepted and capped to it.',
    }),
  }),
});

/** The generation id a continueFrom names, in either global id form; anything else is kept, to match no generation. */
function continueFromId(id: string | number | null | undefined): string | null | undefined {
  if (id == null) return id;
  const decoded = decodeGlobalId(String(id));
  return decoded.typename === 'Generation' ? decoded.id : String(id);
}

type InputShape = typeof GenerateVideoInput.$inferInput;

/** GraphQL input → domain request, applying the schema defaults when a client sends explicit nulls. */
function toGenerationRequest(input: InputShape): GenerationRequest {
  return {
    prompt: input.prompt,
    negativePrompt: input.negativePrompt,
    image: input.image,
    lastFrame: input.lastFrame,
    aspectRatio: input.aspectRatio ?? REQUEST_DEFAULTS.aspectRatio,
    durationSeconds: input.durationSeconds ?? REQUEST_DEFAULTS.durationSeconds,
    resolution: input.resolution ?? REQUEST_DEFAULTS.resolution,
    generateAudio: input.generateAudio ?? REQUEST_DEFAULTS.generateAudio,
    seed: input.seed,
    idempotencyKey: input.idempotencyKey,
    webhookUrl: input.webhookUrl,
    webhookEvents: input.webhookEvents,
    continueFrom: continueFromId(input.continueFrom),
    deadlineSeconds: input.deadlineSeconds,
  };
}

/** What queuing generations (a video, or a story's shots) needs from the request's context. */
export const queueDeps = (ctx: AppContext) => ({
  db: ctx.db,
  provider: ctx.provider,
  uploadFrames: ctx.uploadFrames,
  frameUploadWindowMs: ctx.frameUploadWindowMs,
  serverDailyBudgetUsd: ctx.serverDailyBudgetUsd,
  generationDeadlineMs: ctx.generationDeadlineMs,
  minDeadlineSeconds: ctx.minDeadlineSeconds,
  webhookUrlPolicy: ctx.webhookUrlPolicy,
  log: ctx.log,
});

/** Queues the generation; a key revoked since the request was authenticated is answered as an invalid key. */
async function queue(ctx: AppContext, input: InputShape) {
  const apiKey = requireKey(ctx);
  try {
    return await generateVideo(queueDeps(ctx), apiKey, toGenerationRequest(input), input);
  } catch (error) {
    if (error instanceof KeyRevokedError) throw unauthenticatedError('invalid');
    throw error;
  }
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
      const { generation, repeated } = await queue(ctx, input);
      // The request's logger already carries keyPrefix.
      ctx.log[repeated ? 'debug' : 'info'](repeated ? 'idempotent repeat' : 'generation accepted', {
        generationId: generation.id,
        provider: generation.provider,
      });
      return { generation };
    },
  }),
);

builder.queryField('estimateCost', (t) =>
  t.field({
    type: MoneyRef,
    description: 'What generateVideo would cost for this input, before anything is spent.',
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const apiKey = requireKey(ctx);
      try {
        const options = validationOptionsFor(ctx.provider, ctx.minDeadlineSeconds);
        return usd(priceUsd(await checkGenerationRequest(ctx.db, apiKey.id, toGenerationRequest(input), options)));
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw createGraphQLError(error.message, {
          extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field: error.field, ...(error.code && { inputErrorCode: error.code }) },
        });
      }
    },
  }),
);
