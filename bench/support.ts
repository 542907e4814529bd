/** Shared pieces of the benchmarks: a throwaway database, the real app in process, a client, statistics. */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createApp, type App } from '../src/app.js';
import { createApiKey } from '../src/auth/keys.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

/** A database created for one benchmark run and dropped afterwards. */
export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `reelql_bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end({ timeout: 1 });
      }
    },
  };
}

/** The real server (createApp with a loadConfig environment) on a free loopback port. */
export interface BenchApp {
  app: App;
  url: string;
  /** The API key its requests carry. */
  key: string;
  /** Warnings and errors the app logged. */
  logs: string[];
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** `key`: an API key already in the database; omitted, a new key (no budget, no cap) is created. */
export async function startBenchApp(env: Record<string, string>, key?: string): Promise<BenchApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-'));
  const logs: string[] = [];
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env });
  // Lines are kept to show when a run fails (a pino destination needs only write()).
  const destination = { write: (line: string) => void logs.push(line) };
  const app = await createApp(config, { log: createLogger(config.logLevel, destination) });
  const url = await app.start();
  key ??= (await createApiKey(app.database.db, { name: `bench-${randomBytes(4).toString('hex')}` })).key;
  return {
    app,
    url,
    key,
    logs,
    async graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
      if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
      return body.data;
    },
    async stop() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function createBenchWsClient(bench: BenchApp): Client {
  return createClient({
    url: `${bench.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${bench.key}` },
    retryAttempts: 0,
  });
}

/** Every update of one subscription with the time it arrived; resolves when the stream ends. */
export function collectUpdates<T>(client: Client, query: string, variables: Record<string, unknown>) {
  const updates: { value: T; at: number }[] = [];
  const done = new Promise<typeof updates>((resolve, reject) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(new Error(`subscription error: ${JSON.stringify(result.errors)}`));
          else if (result.data) updates.push({ value: result.data, at: Date.now() });
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(updates),
      },
    );
  });
  return { updates, done };
}

/** Linear-interpolated percentile (q in 0..1) of a non-empty list. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export interface Summary {
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    mean: values.reduce((sum, v) => sum + v, 0) / values.length,
    min: Math.min(...values),
    p50: percentile(values, 0.5),
    p95: percentile(values, 0.95),
    max: Math.max(...values),
  };
}

/** Rejects after `ms` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
