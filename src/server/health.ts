import type { IncomingMessage, ServerResponse } from 'node:http';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import type { Worker } from '../worker/worker.js';
import type { Metrics } from './metrics.js';

export interface HealthOptions {
  db: Db;
  worker: Worker | undefined;
  metrics: Metrics;
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** True from the start of a graceful shutdown: readiness turns false so load balancers drain. */
  isShuttingDown: () => boolean;
  /** A worker that has not looked for work for this long is not ready. */
  workerStaleMs: number;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));

/** /healthz (the process answers), /readyz (it can do its job) and /metrics (Prometheus). */
export function createHealthHandler(options: HealthOptions) {
  async function readiness(): Promise<Record<string, boolean>> {
    const checks: Record<string, boolean> = { accepting: !options.isShuttingDown() };
    try {
      // Migrations are applied before the server listens, so a reachable database is a migrated one.
      await options.db.execute(sql`select 1`);
      checks.database = true;
    } catch {
      checks.database = false;
    }
    if (options.worker) checks.worker = Date.now() - options.worker.lastClaimCheckAt < options.workerStaleMs;
    return checks;
  }

  return async function handleHealth(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      const checks = await readiness();
      const ready = Object.values(checks).every(Boolean);
      json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      return true;
    }
    if (path === '/metrics') {
      if (options.metricsToken && req.headers.authorization !== `Bearer ${options.metricsToken}`) {
        res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('Send Authorization: Bearer <METRICS_TOKEN>.\n');
        return true;
      }
      const body = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(body);
      return true;
    }
    return false;
  };
}
