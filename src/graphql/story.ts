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
import { MAX_SHOTS, MIN_SHOTS, type StoryRequest } from '../stories/story-request.js';
import { storyVideoKey } from '../storage/video-route.js';
import { builder, requireKey, unauthenticatedError, type AppContext } from './builder.js';
import { GenerationErrorRef, GenerationRef } from './generation.js';
import { links, VideoRef, type Video } from './video.js';
import { decodeGlobalId } from './global-ids.js';
import { openTrackedWatch } from './subscription.js';
import { AspectRatioEnum, GenerationStatusEnum, MoneyRef, ResolutionEnum, usd } from './value-types.js';

/*
 * Stories: several shots made one after the other, each starting from the last frame of the one before, and
 * stitched into one video. The domain is src/stories/; this file is its GraphQL face.
 */

export const StoryRef = builder.objectRef<StoryRow>('Story');

/** A SUCCEEDED story's stitched video, or null when it has none (not finished, or deleted by retention). */
function storyVideo(story: StoryRow, ctx: AppContext): Video | null {
  if (story.status !== 'SUCCEEDED' || !story.videoKey || story.videoExpiredAt) return null;
  const hasStills = story.posterKey !== null && story.lastFrameKey !== null;
  return {
    ...links(ctx, storyVideoKey(story.id), hasStills),
    contentType: story.videoContentType ?? 'video/mp4',
    sizeBytes: story.videoSizeBytes ?? 0,
    // A story's video is always probed before it succeeds; the fallbacks only satisfy the types.
    durationSeconds: story.videoDurationSeconds ?? 0,
    width: story.videoWidth ?? 0,
    height: story.videoHeight ?? 0,
    hasAudio: story.videoHasAudio ?? story.generateAudio,
    stillsError: hasStills ? null : story.stillsError,
  };
}

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
      description: 'https on a public host, checked like generateVideo\'s. Stored with the story; deliveries for stories are not sent yet.',
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
        const { story, repeated } = await generateStory(
          {
            db: ctx.db,
            provider: ctx.provider,
            uploadFrames: ctx.uploadFrames,
            frameUploadWindowMs: ctx.frameUploadWindowMs,
            serverDailyBudgetUsd: ctx.serverDailyBudgetUsd,
            generationDeadlineMs: ctx.generationDeadlineMs,
            minDeadlineSeconds: ctx.minDeadlineSeconds,
            webhookUrlPolicy: ctx.webhookUrlPolicy,
            log: ctx.log,
          },
          apiKey,
          toStoryRequest(input),
          input,
        );
        ctx.log[repeated ? 'debug' : 'info'](repeated ? 'idempotent repeat' : 'story accepted', { storyId: story.id, shots: story.shotCount });
        return { story };
      } catch (error) {
        if (error instanceof KeyRevokedError) throw unauthenticatedError('invalid');
        throw error;
      }
    },
  }),
);
