import { createGraphQLError } from 'graphql-yoga';
import { watchGeneration, type WatchOptions } from '../events/watch.js';
import { subscriptionsPerKeyMessage } from '../config/index.js';
import { requireKey, builder, type AppContext } from './builder.js';
import { UUID } from '../generations/lookup.js';
import { GenerationRef } from './generation.js';
import type { GenerationRow } from '../db/schema.js';
import { API_ERROR_CODES } from '../contract/tables.js';

/** What a stream needs to give its subscription slot back and report its deliveries. */
export type TrackedWatchOptions<Row> = Required<Pick<WatchOptions<Row>, 'apiKeyId' | 'signal' | 'onOpen' | 'onClose' | 'onDeliver'>>;

/**
 * Opens a status stream for the caller under the per-key subscription limit: revoking the key ends it at once,
 * over SSE as over WebSocket, and so does an SSE client going away, even before its first event. `open` answers
 * null for an id that names nothing of the caller's, which is refused as NOT_FOUND with `notFound`.
 */
export async function openTrackedWatch<Row extends { updatedAt: Date }>(
  ctx: AppContext,
  open: (options: TrackedWatchOptions<Row>) => Promise<AsyncIterableIterator<Row> | null>,
  notFound: string,
): Promise<AsyncIterableIterator<Row>> {
  const apiKey = requireKey(ctx);
  const transport = 'socket' in ctx ? 'websocket' : 'sse';
  if (ctx.sessions.count(apiKey.id, 'subscription') >= ctx.sessions.subscriptionsPerKey) {
    throw createGraphQLError(subscriptionsPerKeyMessage(ctx.sessions.subscriptionsPerKey), {
      extensions: { code: API_ERROR_CODES.RATE_LIMITED },
    });
  }
  // Counted from here, so that concurrent subscribes cannot all slip under the limit.
  const ended = new AbortController();
  const request = (ctx as { request?: Request }).request;
  request?.signal.addEventListener('abort', () => ended.abort(), { once: true });
  const untrack = ctx.sessions.track(apiKey.id, () => ended.abort(), 'subscription');
  let stream: AsyncIterableIterator<Row> | null = null;
  try {
    // The watch gives the slot back (onClose) on every way out, a failed read included.
    stream = await open({
      apiKeyId: apiKey.id,
      signal: ended.signal,
      onOpen: () => ctx.metrics.subscriptions.inc({ transport }),
      onClose: () => {
        ctx.metrics.subscriptions.dec({ transport });
        untrack();
      },
      onDeliver: (row) => ctx.metrics.eventDelivery.observe(Math.max(0, Date.now() - row.updatedAt.getTime()) / 1000),
    });
  } finally {
    if (!stream) untrack();
  }
  if (!stream) throw createGraphQLError(notFound, { extensions: { code: API_ERROR_CODES.NOT_FOUND } });
  return stream;
}

builder.subscriptionField('generationStatus', (t) =>
  t.field({
    type: GenerationRef,
    description: 'The generation now, then every change, once each and in order; completes when it is final.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, { id }, ctx) =>
      openTrackedWatch<GenerationRow>(
        ctx,
        (options) => (UUID.test(id) ? watchGeneration(ctx.db, ctx.bus, id, options) : Promise.resolve(null)),
        `No generation with id "${id}" exists.`,
      ),
    resolve: (row) => row,
  }),
);
