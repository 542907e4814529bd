import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export type Provider = 'SEGMIND' | 'SIMULATOR';

/** What every resolver gets, over HTTP, SSE and WebSocket alike. */
export interface AppContext {
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
  /** How long a new generation may take before it fails with TIMEOUT. */
  generationDeadlineMs: number;
}
