import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { apiKeys, generations, webhookDeliveries } from '../db/schema.js';

/** Prometheus metrics of one app instance (its own registry, so several apps can share a process in tests). */
export type Metrics = ReturnType<typeof createMetrics>;

interface MetricsSources {
  db: Db;
  /** Generations this process's worker is driving. */
  inFlight: () => number;
  /** Open graphql-ws connections. */
  webSockets: () => number;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATUS_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 90, 120, 180, 300, 600, 900];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reelql_process_' });
  let sources: MetricsSources | undefined;

  const metrics = {
    registry,
    segmindRequests: new Histogram({
      name: 'reelql_segmind_request_duration_seconds',
      help: 'Requests to Segmind by endpoint and HTTP status (0 when no answer came).',
      labelNames: ['endpoint', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    rateLimitWaits: new Counter({
      name: 'reelql_segmind_rate_limit_waits_total',
      help: 'Submits that waited for Segmind rate-limit resets.',
      registers: [registry],
    }),
    statusDuration: new Histogram({
      name: 'reelql_generation_status_duration_seconds',
      help: 'Time generations spent in a status before leaving it.',
      labelNames: ['status'] as const,
      buckets: STATUS_BUCKETS,
      registers: [registry],
    }),
    eventDelivery: new Histogram({
      name: 'reelql_event_delivery_seconds',
      help: 'From the commit of a change to handing it to a subscriber.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    webhookAttempts: new Histogram({
      name: 'reelql_webhook_attempt_duration_seconds',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed: no retry left), with their latency.',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'reelql_active_subscriptions',
      help: 'generationStatus subscriptions open on this process, by transport.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    /** Connects the gauges that are read at scrape time. */
    bind(next: MetricsSources) {
      sources = next;
    },
  };

  new Gauge({
    name: 'reelql_jobs_in_flight',
    help: 'Generations this process is driving.',
    registers: [registry],
    collect() {
      this.set(sources?.inFlight() ?? 0);
    },
  });
  new Gauge({
    name: 'reelql_websocket_connections',
    help: 'Open graphql-ws connections on this process.',
    registers: [registry],
    collect() {
      this.set(sources?.webSockets() ?? 0);
    },
  });
  // Read from the database at scrape time, so every replica reports the same truth. prom-client collects all
  // metrics concurrently, so the gauges share one query per scrape.
  let figures: Promise<DatabaseFigures | null> | undefined;
  const loadFigures = () => {
    figures ??= queryFigures(sources?.db).finally(() => setTimeout(() => (figures = undefined), 100).unref());
    return figures;
  };
  const fromDatabase = (
    name: string,
    help: string,
    apply: (gauge: Gauge<string>, data: DatabaseFigures | null) => void,
    labelNames: string[] = [],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        apply(this, await loadFigures());
      },
    });
  fromDatabase('reelql_metrics_scrape_ok', '1 when the database figures in this scrape are current.', (g, d) => g.set(d ? 1 : 0));
  fromDatabase(
    'reelql_generations',
    'Generations by status and error code.',
    (g, d) => {
      g.reset();
      for (const row of d?.byStatus ?? []) g.set({ status: row.status, error_code: row.errorCode ?? '' }, row.n);
    },
    ['status', 'error_code'],
  );
  fromDatabase(
    'reelql_spend_usd',
    'Cost of generations (estimated, or charged once Segmind reported it), by API key prefix and status.',
    (g, d) => {
      g.reset();
      for (const row of d?.spend ?? []) g.set({ key_prefix: row.keyPrefix ?? '', status: row.status }, row.usd);
    },
    ['key_prefix', 'status'],
  );
  fromDatabase('reelql_queue_depth', 'Generations due and waiting for a worker.', (g, d) => g.set(d?.queueDepth ?? 0));
  fromDatabase('reelql_queue_oldest_due_seconds', 'Age of the oldest generation due and waiting for a worker.', (g, d) =>
    g.set(d?.oldestDueSeconds ?? 0),
  );
  fromDatabase(
    'reelql_webhook_deliveries',
    'Webhook deliveries by state (PENDING ones include those waiting for a retry).',
    (g, d) => {
      g.reset();
      for (const row of d?.webhooks ?? []) g.set({ state: row.state }, row.n);
    },
    ['state'],
  );
  return metrics;
}

interface DatabaseFigures {
  byStatus: { status: string; errorCode: string | null; n: number }[];
  spend: { keyPrefix: string | null; status: string; usd: number }[];
  queueDepth: number;
  oldestDueSeconds: number;
  webhooks: { state: string; n: number }[];
}

async function queryFigures(db: Db | undefined): Promise<DatabaseFigures | null> {
  if (!db) return null;
  try {
    const byStatus = await db
      .select({
        status: generations.status,
        errorCode: generations.errorCode,
        n: sql<number>`count(*)::int`,
      })
      .from(generations)
      .groupBy(generations.status, generations.errorCode);
    const spend = await db
      .select({
        keyPrefix: apiKeys.prefix,
        status: generations.status,
        usd: sql<string>`coalesce(sum(${generations.costUsd}), 0)::text`,
      })
      .from(generations)
      .leftJoin(apiKeys, eq(apiKeys.id, generations.apiKeyId))
      .groupBy(apiKeys.prefix, generations.status);
    const [queue] = await db
      .select({
        depth: sql<number>`count(*)::int`,
        oldest: sql<number | null>`extract(epoch from now() - min(${generations.runAfter}))::float8`,
      })
      .from(generations)
      .where(sql`${generations.status} = 'QUEUED' and ${generations.runAfter} <= now() and ${generations.leaseOwner} is null`);
    const webhooks = await db
      .select({ state: webhookDeliveries.state, n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .groupBy(webhookDeliveries.state);
    return {
      webhooks: webhooks.map((r) => ({ ...r, n: Number(r.n) })),
      byStatus: byStatus.map((r) => ({ ...r, n: Number(r.n) })),
      spend: spend.map((r) => ({ ...r, usd: Number(r.usd) })),
      queueDepth: Number(queue?.depth ?? 0),
      oldestDueSeconds: Number(queue?.oldest ?? 0),
    };
  } catch {
    return null;
  }
}

/** Wraps fetch so every request to Segmind is timed and counted by endpoint and status. */
export function instrumentedFetch(metrics: Metrics, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const endpoint = segmindEndpoint(url.pathname, init?.method ?? 'GET');
    const stop = metrics.segmindRequests.startTimer({ endpoint });
    try {
      const response = await inner(input, init);
      stop({ status: String(response.status) });
      return response;
    } catch (error) {
      stop({ status: '0' });
      throw error;
    }
  };
}

function segmindEndpoint(path: string, method: string): string {
  if (path.endsWith('/status')) return 'status';
  if (/\/requests\//.test(path)) return 'result';
  if (path.includes('upload')) return 'upload';
  return method === 'POST' ? 'submit' : 'download';
}
