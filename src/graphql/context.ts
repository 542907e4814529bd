import type { Db } from '../db/open.js';
import type { ApiKey, Sessions } from '../auth/keys.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';

export type Provider = 'SEGMIND' | 'SIMULATOR';

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
}
