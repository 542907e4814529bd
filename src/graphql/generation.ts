import { createGraphQLError } from 'graphql-yoga';
import { listEvents } from '../events/timeline.js';
import type { GenerationEventRow, GenerationRow } from '../db/schema.js';
import { cancelGeneration } from '../generations/lifecycle.js';
import { NotCancelableError, NotFoundError, type GenerationErrorCode } from '../generations/errors.js';
import type { AspectRatio, Resolution } from '../generations/request.js';
import {
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  findGeneration,
  isPageSize,
  listPage,
  MAX_PAGE_SIZE,
} from '../generations/lookup.js';
import { signVideo, videoPath } from '../storage/video-route.js';
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
import { API_ERROR_CODES } from '../contract/tables.js';

interface Video {
  url: string;
  contentType: string;
  sizeBytes: number;
}

interface GenerationFailure {
  code: GenerationErrorCode;
  message: string;
  retryable: boolean;
}

const VideoRef = builder.objectRef<Video>('Video').implement({
  description: 'The finished video, stored by this server. The URL supports HTTP Range requests.',
  fields: (t) => ({
    url: t.exposeString('url'),
    contentType: t.exposeString('contentType'),
    sizeBytes: t.exposeInt('sizeBytes'),
  }),
});

const GenerationErrorRef = builder.objectRef<GenerationFailure>('GenerationError').implement({
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

export const GenerationRef = builder.objectRef<GenerationRow>('Generation').implement({
  description: 'One video generation. It is the job: its status moves forward until SUCCEEDED, FAILED or CANCELED.',
  fields: (t) => ({
    id: t.exposeID('id'),
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
      resolve: (g, _args, ctx) =>
        g.status === 'SUCCEEDED' && g.videoKey && !g.videoExpiredAt
          ? {
              url: `${ctx.publicUrl}${videoPath(g.id)}?${signVideo(ctx.videoSigningSecret, g.id, ctx.videoUrlTtlSeconds)}`,
              contentType: g.videoContentType ?? 'video/mp4', sizeBytes: g.videoSizeBytes ?? 0 }
          : null,
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
    events: t.field({
      type: [GenerationEventRef],
      description: 'The timeline up to this version, oldest first.',
      resolve: (g, _args, ctx) => listEvents(ctx.db, g.id, g.version),
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

interface Connection {
  edges: { cursor: string; node: GenerationRow }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const PageInfoRef = builder.objectRef<Connection['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const GenerationEdgeRef = builder.objectRef<Connection['edges'][number]>('GenerationEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: GenerationRef, resolve: (edge) => edge.node }),
  }),
});

const GenerationConnectionRef = builder.objectRef<Connection>('GenerationConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [GenerationEdgeRef], resolve: (c) => c.edges }),
    nodes: t.field({ type: [GenerationRef], resolve: (c) => c.edges.map((e) => e.node) }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
  }),
});

/** The listing position a client's cursor names; a cursor this server did not issue is bad input. */
function positionAfter(cursor: string) {
  const position = decodeCursor(cursor);
  if (!position) {
    throw createGraphQLError('after is not a cursor this server issued; pass an endCursor from a previous page.', {
      extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field: 'after' },
    });
  }
  return position;
}

builder.queryFields((t) => ({
  generation: t.field({
    type: GenerationRef,
    nullable: true,
    description: 'One generation, or null when there is none with this id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => findGeneration(ctx.db, requireKey(ctx).id, id),
  }),
  generations: t.field({
    type: GenerationConnectionRef,
    description: 'Generations, newest first, with cursor pagination.',
    args: {
      first: t.arg.int({ description: `Page size, 1 to ${MAX_PAGE_SIZE}. Default ${DEFAULT_PAGE_SIZE}.` }),
      after: t.arg.string({ description: 'The endCursor of the previous page.' }),
      status: t.arg({ type: [GenerationStatusEnum], description: 'Only generations in these statuses.' }),
    },
    resolve: async (_root, args, ctx) => {
      const apiKey = requireKey(ctx);
      const first = args.first ?? DEFAULT_PAGE_SIZE;
      if (!isPageSize(first)) {
        throw createGraphQLError(`first must be from 1 to ${MAX_PAGE_SIZE}; got ${first}.`, {
          extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field: 'first' },
        });
      }
      const { rows, hasNextPage } = await listPage(ctx.db, apiKey.id, {
        first,
        after: args.after ? positionAfter(args.after) : undefined,
        statuses: args.status ?? undefined,
      });
      const edges = rows.map((node) => ({ cursor: encodeCursor(node), node }));
      return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    },
  }),
}));

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
