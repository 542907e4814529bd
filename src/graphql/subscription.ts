import { createGraphQLError } from 'graphql-yoga';
import { watchGeneration } from '../events/watch.js';
import { subscriptionsPerKeyMessage } from '../config/index.js';
import { requireKey, builder } from './builder.js';
import { UUID } from '../generations/lookup.js';
import { GenerationRef } from './generation.js';
import { API_ERROR_CODES } from '../contract/tables.js';

builder.subscriptionField('generationStatus', (t) =>
  t.field({
    type: GenerationRef,
    description: 'The generation now, then every change, once each and in order; completes when it is final.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => {
      const apiKey = requireKey(ctx);
      const transport = 'socket' in ctx ? 'websocket' : 'sse';
      if (ctx.sessions.count(apiKey.id, 'subscription') >= ctx.sessions.subscriptionsPerKey) {
        throw createGraphQLError(subscriptionsPerKeyMessage(ctx.sessions.subscriptionsPerKey), {
          extensions: { code: API_ERROR_CODES.RATE_LIMITED },
        });
      }
      // Revoking the key ends the stream at once, over SSE as over WebSocket; so does an SSE client going away,
      // even before its first event. Counted from here, so that concurrent subscribes cannot all slip under the limit.
      const ended = new AbortController();
      const request = (ctx as { request?: Request }).request;
      request?.signal.addEventListener('abort', () => ended.abort(), { once: true });
      const untrack = ctx.sessions.track(apiKey.id, () => ended.abort(), 'subscription');
      let stream: Awaited<ReturnType<typeof watchGeneration>> = null;
      try {
        // The watch gives the slot back (onClose) on every way out, a failed read included.
        stream = UUID.test(id)
          ? await watchGeneration(ctx.db, ctx.bus, id, {
              apiKeyId: apiKey.id,
              signal: ended.signal,
              onOpen: () => ctx.metrics.subscriptions.inc({ transport }),
              onClose: () => {
                ctx.metrics.subscriptions.dec({ transport });
                untrack();
              },
              onDeliver: (row) => ctx.metrics.eventDelivery.observe(Math.max(0, Date.now() - row.updatedAt.getTime()) / 1000),
            })
          : null;
      } finally {
        if (!stream) untrack();
      }
      if (!stream) throw createGraphQLError(`No generation with id "${id}" exists.`, { extensions: { code: API_ERROR_CODES.NOT_FOUND } });
      return stream;
    },
    resolve: (row) => row,
  }),
);
