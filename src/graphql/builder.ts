import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import type { Db } from '../db/open.js';
import type { ApiKey, Sessions } from '../auth/keys.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';
import { createGraphQLError } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';
import type { Provider } from '../generations/charges.js';
import { DEFAULT_PAGE_SIZE, MAX_NODE_IDS, MAX_PAGE_SIZE } from '../generations/lookup.js';
import { decodeGlobalId, encodeGlobalId } from './global-ids.js';
import type { WebhookUrlPolicy } from '../webhooks/url-policy.js';

/*
 * The schema builder, the context every resolver gets (over HTTP, SSE and WebSocket alike), and the one way a
 * resolver asks for the caller's key.
 */

/** The one schema builder; feature files register their types on it by being imported. */
export const builder = new SchemaBuilder<{
  Context: AppContext;
  DefaultFieldNullability: false;
  // A page holds only rows that exist: no null edges or nodes in any connection.
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    File: { Input: File; Output: never };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ErrorsPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
  relay: {
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
    nodesOnConnection: true,
    firstArgOptions: { description: `Page size from the start (newest end), 1 to ${MAX_PAGE_SIZE}. Default ${DEFAULT_PAGE_SIZE}.` },
    afterArgOptions: { description: 'The endCursor of the previous page: continue after it.' },
    lastArgOptions: { description: `Page size from the end (oldest end), 1 to ${MAX_PAGE_SIZE}; not with first.` },
    beforeArgOptions: { description: 'The startCursor of the next page: continue before it.' },
    nodeTypeOptions: { description: 'An object with a global id: `node(id)` fetches it again. A Generation\'s id is its UUID.' },
    // The loaders behind node and nodes only ever return the caller's own generations (see generation.ts);
    // asking without a key is refused before anything is read.
    nodeQueryOptions: {
      description: 'The object with this global id, or null when there is none (or it is not yours), as generation(id).',
      resolve: (_root, { id }, ctx, _info, resolveNode) => {
        requireKey(ctx);
        return resolveNode(id);
      },
    },
    nodesQueryOptions: {
      description: `The objects with these global ids, in order; null for each that is missing or not yours. At most ${MAX_NODE_IDS} ids.`,
      resolve: (_root, { ids }, ctx, _info, resolveNodes) => {
        requireKey(ctx);
        if (ids.length > MAX_NODE_IDS) {
          throw createGraphQLError(`nodes takes at most ${MAX_NODE_IDS} ids; got ${ids.length}. Ask in batches of ${MAX_NODE_IDS}.`, {
            extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field: 'ids' },
          });
        }
        return resolveNodes(ids);
      },
    },
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** What every resolver gets, over HTTP, SSE and WebSocket alike. */
export interface AppContext {
  /** The caller's key; null when none (or an invalid one) was sent. Resolvers call requireKey(). */
  apiKey: ApiKey | null;
  /** Why apiKey is null, for the error message. */
  authProblem: 'missing' | 'invalid' | null;
  sessions: Sessions;
  videoSigningSecret: Buffer;
  /** How long video links stay valid. */
  videoUrlTtlSeconds: number;
  db: Db;
  bus: EventBus;
  /** Base URL for links this server hands out (video URLs). */
  publicUrl: string;
  /** Which backend new generations go to. */
  provider: Provider;
  metrics: Metrics;
  /** Carries the request id on every line. */
  log: Logger;
  requestId: string;
  /** Stores data-URL images at Segmind's asset storage and returns their URLs, in order. */
  uploadFrames: (dataUrls: string[]) => Promise<string[]>;
  /** Longer than any frame upload can take (its request timeout, with room to spare). */
  frameUploadWindowMs: number;
  /** Server-wide spend per UTC day; undefined for no limit. */
  serverDailyBudgetUsd: number | undefined;
  /** How long a new generation may take before it fails with TIMEOUT. */
  generationDeadlineMs: number;
  /** The shortest deadlineSeconds accepted. */
  minDeadlineSeconds: number;
  /** Which webhook URLs generateVideo accepts. */
  webhookUrlPolicy: WebhookUrlPolicy;
  /** How long a rotated-out webhook secret still signs deliveries. */
  webhookSecretGraceSeconds: number;
}

/** What a client without a usable key is told, by what was wrong with the key it sent. */
export const unauthenticatedMessage = (problem: 'missing' | 'invalid' | null) =>
  problem === 'invalid'
    ? 'The API key is invalid or has been revoked. Send a valid key as "Authorization: Bearer <key>".'
    : 'Authentication required: send your API key as "Authorization: Bearer <key>" (over WebSocket, as connectionParams.authorization).';

/** The UNAUTHENTICATED error that says how to authenticate. */
export const unauthenticatedError = (problem: 'missing' | 'invalid' | null) =>
  createGraphQLError(unauthenticatedMessage(problem), { extensions: { code: API_ERROR_CODES.UNAUTHENTICATED, http: { status: 401 } } });

/** The caller's key, or an UNAUTHENTICATED error that says how to authenticate. */
export function requireKey(ctx: AppContext): ApiKey {
  if (ctx.apiKey) return ctx.apiKey;
  throw unauthenticatedError(ctx.authProblem);
}
