import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/server/compose.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, lineDestination } from '../../src/logger.js';
import { createKey, keyForDatabase } from './database.js';
import { seedPgliteDataDir } from './pglite-template.js';

export interface TestApp {
  app: App;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** POSTs one GraphQL operation and returns the parsed body. */
  graphql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphqlBody<T>>;
  dataDir: string;
  /** The key the helpers send (graphql(), WebSocket and SSE clients). */
  key: string;
  /** Every log line the app wrote. */
  logs: string[];
  stop(): Promise<void>;
}

export interface GraphqlBody<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: string[] }[];
}

/**
 * Starts the real app on a random loopback port. `env` is the environment it would read: point it at a
 * test database (DATABASE_URL) and a simulator (SEGMIND_BASE_URL + SEGMIND_API_KEY), or leave those out
 * for the embedded defaults.
 */
export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-test-'));
  if (!env.DATABASE_URL && !env.DATA_DIR) await seedPgliteDataDir(dataDir);
  const logs: string[] = [];
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    SEGMIND_POLL_MIN_MS: '50',
    SEGMIND_POLL_MAX_MS: '500',
    ...env,
  });
  const app = await createApp(config, { log: createLogger(config.server.logLevel, lineDestination((line) => logs.push(line))) });
  const url = await app.start();
  // Every test server has a key its helpers send: the development key, or a fresh one when keys already exist.
  const key = env.DATABASE_URL ? await keyForDatabase(env.DATABASE_URL) : (app.developmentKey ?? (await createKey(app.database.db)).key);
  return {
    app,
    url,
    key,
    dataDir,
    logs,
    async graphql(query, variables, headers = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${key}`,
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphqlBody<any>;
    },
    async stop() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
