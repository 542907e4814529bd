import { listEventsOfMany, type TimelineKey } from '../events/timeline.js';
import type { GenerationEventRow, GenerationRow } from '../db/schema.js';
import { cancelGeneration } from '../generations/lifecycle.js';
import { NotCancelableError, NotFoundError, type GenerationErrorCode } from '../generations/errors.js';
import type { AspectRatio, Resolution } from '../generations/request.js';
import { findGeneration, findGenerations } from '../generations/lookup.js';
import { generationVideo, VideoRef } from './video.js';
import { requireKey, builder } from './builder.js';
import {
  AspectRatioEnum,
  GenerationErrorCodeEnum,
  GenerationStatusEnum,
  ProviderEnum,
  ResolutionEnum,
  MoneyRef,
  usd,
} from './value-types.js';

export interface GenerationFailure {
  code: GenerationErrorCode;
  message: string;
  retryable: boolean;
}

export const GenerationErrorRef = builder.objectRef<GenerationFailure>('GenerationError').implement({
  description: 'Why a generation failed. `retryable` says whether asking again may succeed.',
  fields: (t) => ({
    code: t.expose('code', { type: GenerationErrorCodeEnum }),
    message: t.exposeString('message'),
    retryable: t.exposeBoolean('retryable'),
  }),
});

const GenerationEventRef = builder.objectRef<GenerationEventRow>('GenerationEvent').implement({
  description: 'One step in the life of a generation.',
  fields: (t) => ({
    id: t.id({ resolve: (event) => String(event.id) }),
    version: t.exposeInt('version', { description: 'The generation version this event produced.' }),
    type: t.exposeString('type', { description: 'e.g. created, submitted, processing, storing, succeeded, failed, canceled, retry_scheduled.' }),
    status: t.expose('status', { type: GenerationStatusEnum }),
    message: t.exposeString('message'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const GenerationRef = builder.objectRef<GenerationRow>('Generation');

builder.node(GenerationRef, {
  description: 'One video generation. It is the job: its status moves forward until SUCCEEDED, FAILED or CANCELED.',
  // Its global id is its UUID (see global-ids.ts), so every id a client holds works with node(id) as well.
  id: { resolve: (g) => g.id },
  // node and nodes: one query for all the ids, and only the caller's own generations, as generation(id).
  loadMany: (ids, ctx) => findGenerations(ctx.db, requireKey(ctx).id, ids),
  fields: (t) => ({
    status: t.expose('status', { type: GenerationStatusEnum }),
    version: t.exposeInt('version', { description: 'Increases by one with every change; subscriptions deliver each version once, in order.' }),
    progress: t.exposeFloat('progress', { description: 'From 0 to 1; an estimate while PROCESSING.' }),
    etaSeconds: t.exposeInt('etaSeconds', { nullable: true, description: 'Estimated seconds until the video is ready.' }),
    prompt: t.exposeString('prompt'),
    negativePrompt: t.exposeString('negativePrompt', { nullable: true }),
    image: t.exposeString('image', { nullable: true }),
    lastFrame: t.exposeString('lastFrame', { nullable: true }),
    aspectRatio: t.field({ type: AspectRatioEnum, resolve: (g) => g.aspectRatio as AspectRatio }),
    durationSeconds: t.exposeInt('durationSeconds'),
    resolution: t.field({ type: ResolutionEnum, resolve: (g) => g.resolution as Resolution }),
    generateAudio: t.exposeBoolean('generateAudio'),
    seed: t.exposeInt('seed', { description: 'The seed used: yours, or the one the server picked.' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    video: t.field({
      type: VideoRef,
      nullable: true,
      description: 'Present when SUCCEEDED. The URL carries a signed token and expires (ask again for a fresh one).',
      resolve: (g, _args, ctx) => generationVideo(g, ctx),
    }),
    error: t.field({
      type: GenerationErrorRef,
      nullable: true,
      description: 'Present when FAILED.',
      resolve: (g) =>
        g.status === 'FAILED' && g.errorCode
          ? { code: g.errorCode as GenerationErrorCode, message: g.errorMessage ?? '', retryable: g.errorRetryable ?? false }
          : null,
    }),
    cost: t.field({
      type: MoneyRef,
      description: "Estimated from Segmind's price until Segmind reports the charge (see costIsFinal).",
      resolve: (g) => usd(g.costUsd),
    }),
    costIsFinal: t.exposeBoolean('costFinal', { description: 'True once cost is the charge Segmind reported.' }),
    attempts: t.exposeInt('attempts', { description: 'Submissions tried at Segmind.' }),
    provider: t.field({ type: ProviderEnum, resolve: (g) => g.provider as 'SEGMIND' | 'SIMULATOR' }),
    events: t.loadableList({
      type: GenerationEventRef,
      description: 'The timeline up to this version, oldest first.',
      // Every generation of a page (or of nodes) asking for its timeline is answered by one query. No cache: over
      // WebSocket a context lasts as long as the subscription, and each version asks for a new timeline anyway.
      loaderOptions: { cache: false },
      load: (keys: TimelineKey[], ctx) => listEventsOfMany(ctx.db, keys),
      resolve: (g): TimelineKey => ({ id: g.id, version: g.version }),
    }),
    deadlineSeconds: t.exposeInt('deadlineSeconds', { nullable: true, description: 'The deadline the client asked for, in seconds; null when it gave none.' }),
    deadlineAt: t.expose('deadlineAt', {
      type: 'DateTime',
      description: "Not finished by then, the generation fails with TIMEOUT: the client's deadlineSeconds, capped by the server-wide deadline.",
    }),
    continueFrom: t.id({
      nullable: true,
      description: 'The generation whose last frame is this one\'s first frame (continueFrom, or the previous shot of a story).',
      resolve: (g) => g.continueFromId,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    videoExpiredAt: t.expose('videoExpiredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the stored video was deleted by the retention policy (video is then null).',
    }),
  }),
});

builder.queryField('generation', (t) =>
  t.field({
    type: GenerationRef,
    nullable: true,
    description: 'One generation, or null when there is none with this id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => findGeneration(ctx.db, requireKey(ctx).id, id),
  }),
);

const CancelGenerationSuccess = builder
  .objectRef<{ generation: GenerationRow; chargeMayApply: boolean }>('CancelGenerationSuccess')
  .implement({
    fields: (t) => ({
      generation: t.field({ type: GenerationRef, resolve: (r) => r.generation }),
      chargeMayApply: t.exposeBoolean('chargeMayApply', {
        description: 'True when Segmind had already accepted the job: it cannot be stopped there and may still be charged.',
      }),
    }),
  });

builder.mutationField('cancelGeneration', (t) =>
  t.field({
    type: CancelGenerationSuccess,
    description: 'Stops a generation. Before submission nothing is spent; after it, Segmind may still charge.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, NotCancelableError], directResult: true, union: { name: 'CancelGenerationResult' } },
    resolve: (_root, { id }, ctx) => cancelGeneration(ctx.db, requireKey(ctx).id, id),
  }),
);
