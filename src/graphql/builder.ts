import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import type { Db } from '../db/open.js';
import type { ApiKey, Sessions } from '../auth/keys.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';
import { createGraphQLError } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';
import type { Provider } from '../generations/charges.js';
import type { WebhookUrlPolicy } from '../webhooks/url-policy.js';

/*
 * The schema builder, the context every resolver gets (over HTTP, SSE and WebSocket alike), and the one way a
 * resolver asks for the caller's key.
 */

/** The one schema builder; feature files register their types on it by being imported. */
export const builder = new SchemaBuilder<{
  Context: AppContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    File: { Input: File; Output: never };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ErrorsPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
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
