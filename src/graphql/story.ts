import type { StoryRow } from '../db/schema.js';
import { getStory, getStoriesOfKey, shotsOfMany } from '../db/stories.js';
import { watchTimeline } from '../events/watch.js';
import { KeyRevokedError } from '../generations/admission.js';
import {
  BudgetExceededError,
  IdempotencyKeyReusedError,
  InputError,
  TooManyActiveGenerationsError,
  UploadFailedError,
  type GenerationErrorCode,
} from '../generations/errors.js';
import { MAX_UPLOAD_SIZE } from '../generations/frames.js';
import { ALLOWED_DURATIONS, MAX_NEGATIVE_PROMPT_LENGTH, MAX_PROMPT_LENGTH, MAX_SEED, REQUEST_DEFAULTS } from '../generations/request.js';
import { UUID } from '../generations/lookup.js';
import { generateStory } from '../stories/generate-story.js';
import { MAX_SHOTS, MIN_SHOTS, validateStoryRequest, type StoryRequest } from '../stories/story-request.js';
import { createGraphQLError } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';
import { priceUsd } from '../generations/charges.js';
import { validationOptionsFor } from '../generations/generate-video.js';
import { builder, requireKey, unauthenticatedError, type AppContext } from './builder.js';
import { GenerationErrorRef, GenerationRef } from './generation.js';
import { queueDeps } from './generate-video.js';
import { VideoRef } from './video.js';
import { storyVideo } from '../media/video-view.js';
import { decodeGlobalId } from './global-ids.js';
import { openTrackedWatch } from './subscription.js';
import { AspectRatioEnum, GenerationStatusEnum, MoneyRef, ResolutionEnum, usd } from './value-types.js';

/*
 * Stories: several shots made one after the other, each starting from the last frame of the one before, and
 * stitched into one video. The domain is src/stories/; this file is its GraphQL face.
 */

export const StoryRef = builder.objectRef<StoryRow>('Story');

/** The story a client-supplied id names: its global id (`Story:<uuid>` in base64) or its bare UUID. */
function storyUuid(id: string): string | null {
  if (UUID.test(id)) return id;
  const decoded = decodeGlobalId(id);
  return decoded.typename === 'Story' && UUID.test(decoded.id) ? decoded.id : null;
}

builder.node(StoryRef, {
  description:
    'Several shots made one after the other, each starting from the last frame of the one before, and stitched into one ' +
    'video. QUEUED → SUBMITTED → PROCESSING (shot after shot) → STORING (stitching) → SUCCEEDED; FAILED or CANCELED when a shot is.',
  id: { resolve: (story) => story.id },
  loadMany: (ids, ctx) => getStoriesOfKey(ctx.db, ids, requireKey(ctx).id).then((rows) => ids.map((id) => rows.find((row) => row.id === id) ?? null)),
  fields: (t) => ({
    status: t.expose('status', { type: GenerationStatusEnum }),
    version: t.exposeInt('version', { description: 'Increases by one with every change; storyStatus delivers each version once, in order.' }),
    progress: t.exposeFloat('progress', { description: 'From 0 to 1: the shots weighted by their length, then stitching.' }),
    etaSeconds: t.exposeInt('etaSeconds', { nullable: true, description: 'Estimated seconds until the last shot is made.' }),
    shots: t.loadableList({
      type: GenerationRef,
      description: 'Every shot, first to last: each is a generation of its own (visible in generations, cancelable).',
      loaderOptions: { cache: false },
      load: (ids: string[], ctx: AppContext) => shotsOfMany(ctx.db, ids),
      resolve: (story) => story.id,
    }),
    video: t.field({
      type: VideoRef,
      nullable: true,
      description: 'The shots stitched into one video, when SUCCEEDED. The URL carries a signed token and expires.',
      resolve: (story, _args, ctx) => storyVideo(story, ctx),
    }),
    cost: t.field({ type: MoneyRef, description: 'The sum of the shots’ costs.', resolve: (story) => usd(story.costUsd) }),
    error: t.field({
      type: GenerationErrorRef,
      nullable: true,
      description: 'Present when FAILED: which shot failed and why (its code), or why stitching failed.',
      resolve: (story) =>
        story.status === 'FAILED' && story.errorCode
          ? { code: story.errorCode as GenerationErrorCode, message: story.errorMessage ?? '', retryable: story.errorRetryable ?? false }
          : null,
    }),
    aspectRatio: t.field({ type: AspectRatioEnum, resolve: (story) => story.aspectRatio as '16:9' | '9:16' }),
    resolution: t.field({ type: ResolutionEnum, resolve: (story) => story.resolution as '720p' | '1080p' }),
    generateAudio: t.exposeBoolean('generateAudio'),
    seed: t.exposeInt('seed', { description: 'The seed every shot used: yours, or the one the server picked.' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    webhookUrl: t.exposeString('webhookUrl', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.objectFields(GenerationRef, (t) => ({
  story: t.field({
    type: StoryRef,
    nullable: true,
    description: 'The story this generation is a shot of; null for a generation of its own.',
    resolve: (g, _args, ctx) => (g.storyId ? getStory(ctx.db, g.storyId, requireKey(ctx).id) : null),
  }),
  storyShot: t.exposeInt('storyShot', { nullable: true, description: "This shot's place in its story, from 0; null outside a story." }),
}));

builder.queryField('story', (t) =>
  t.field({
    type: StoryRef,
    nullable: true,
    description: 'One story, or null when there is none with this id (or it is not yours).',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      const apiKeyId = requireKey(ctx).id;
      const uuid = storyUuid(id);
      return uuid ? getStory(ctx.db, uuid, apiKeyId) : null;
    },
  }),
);

builder.subscriptionField('storyStatus', (t) =>
  t.field({
    type: StoryRef,
    description: 'The story now, then every change, once each and in order; completes when it is final.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, { id }, ctx) => {
      const uuid = storyUuid(id);
      return openTrackedWatch<StoryRow>(
        ctx,
        (options) =>
          uuid
            ? watchTimeline(
                ctx.bus,
                uuid,
                {
                  current: (storyId, apiKeyId) => getStory(ctx.db, storyId, apiKeyId),
                  versionsSince: (storyId, after) => ctx.bus.storyVersionsSince(storyId, after),
                },
                options,
              )
            : Promise.resolve(null),
        `No story with id "${id}" exists.`,
      );
    },
    resolve: (row) => row,
  }),
);

const StoryShotInput = builder.inputType('StoryShotInput', {
  description: 'One shot of a story.',
  fields: (t) => ({
    prompt: t.string({ required: true, description: `What the shot shows, in English; at most ${MAX_PROMPT_LENGTH} characters.` }),
    durationSeconds: t.int({ defaultValue: REQUEST_DEFAULTS.durationSeconds, description: `${ALLOWED_DURATIONS}.` }),
    negativePrompt: t.string({ description: `What the shot must not show; at most ${MAX_NEGATIVE_PROMPT_LENGTH} characters.` }),
  }),
});

const GenerateStoryInput = builder.inputType('GenerateStoryInput', {
  description: `A story of ${MIN_SHOTS} to ${MAX_SHOTS} shots. The settings apply to every shot; the price is the sum of the shots'.`,
  fields: (t) => ({
    shots: t.field({
      type: [StoryShotInput],
      required: true,
      description: `${MIN_SHOTS} to ${MAX_SHOTS} shots, made in this order; each after the first starts from the last frame of the one before.`,
    }),
    image: t.string({ description: 'http(s) URL of a JPEG or PNG to use as the first frame of the first shot, on a public host.' }),
    imageFile: t.field({
      type: 'File',
      description: `The first frame of the first shot as an uploaded JPEG, PNG or WebP (at most ${MAX_UPLOAD_SIZE}), instead of image.`,
    }),
    aspectRatio: t.field({ type: AspectRatioEnum, defaultValue: REQUEST_DEFAULTS.aspectRatio }),
    resolution: t.field({ type: ResolutionEnum, defaultValue: REQUEST_DEFAULTS.resolution }),
    generateAudio: t.boolean({ defaultValue: REQUEST_DEFAULTS.generateAudio }),
    seed: t.int({ description: `From 0 to ${MAX_SEED}, used by every shot. Omitted: the server picks one and records it.` }),
    idempotencyKey: t.string({ description: 'Send the same key again to get the same story instead of a second one.' }),
    webhookUrl: t.string({
      description:
        'Where to POST one signed Standard Webhooks delivery when the story ends (`story.succeeded`, `story.failed` or ' +
        '`story.canceled`, with the story as data): https on a public host, checked like generateVideo\'s. The shots send none.',
    }),
  }),
});

type StoryInputShape = typeof GenerateStoryInput.$inferInput;

function toStoryRequest(input: StoryInputShape): StoryRequest {
  return {
    shots: input.shots.map((shot) => ({
      prompt: shot.prompt,
      durationSeconds: shot.durationSeconds ?? REQUEST_DEFAULTS.durationSeconds,
      negativePrompt: shot.negativePrompt,
    })),
    image: input.image,
    aspectRatio: input.aspectRatio ?? REQUEST_DEFAULTS.aspectRatio,
    resolution: input.resolution ?? REQUEST_DEFAULTS.resolution,
    generateAudio: input.generateAudio ?? REQUEST_DEFAULTS.generateAudio,
    seed: input.seed,
    idempotencyKey: input.idempotencyKey,
    webhookUrl: input.webhookUrl,
  };
}

builder.queryField('estimateStoryCost', (t) =>
  t.field({
    type: MoneyRef,
    description: 'What generateStory would cost for this input (the sum of its shots), before anything is spent.',
    args: { input: t.arg({ type: GenerateStoryInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      requireKey(ctx);
      try {
        const checked = validateStoryRequest(toStoryRequest(input), validationOptionsFor(ctx.provider, ctx.minDeadlineSeconds));
        return usd(checked.shots.reduce((sum, shot) => sum + priceUsd(shot), 0));
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw createGraphQLError(error.message, { extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field: error.field } });
      }
    },
  }),
);

const GenerateStorySuccess = builder.objectRef<{ story: StoryRow }>('GenerateStorySuccess').implement({
  fields: (t) => ({ story: t.field({ type: StoryRef, resolve: (r) => r.story }) }),
});

builder.mutationField('generateStory', (t) =>
  t.field({
    type: GenerateStorySuccess,
    description:
      'Queues a story: every shot is priced and checked against the budgets and the active cap together (all or nothing), ' +
      'then the shots are made one after the other and stitched. Follow it with storyStatus.',
    args: { input: t.arg({ type: GenerateStoryInput, required: true }) },
    errors: {
      types: [InputError, BudgetExceededError, TooManyActiveGenerationsError, IdempotencyKeyReusedError, UploadFailedError],
      directResult: true,
      union: { name: 'GenerateStoryResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const apiKey = requireKey(ctx);
      try {
        const { story, repeated } = await generateStory(queueDeps(ctx), apiKey, toStoryRequest(input), input);
        ctx.log[repeated ? 'debug' : 'info'](repeated ? 'idempotent repeat' : 'story accepted', { storyId: story.id, shots: story.shotCount });
        return { story };
      } catch (error) {
        if (error instanceof KeyRevokedError) throw unauthenticatedError('invalid');
        throw error;
      }
    },
  }),
);
