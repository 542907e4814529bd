import path from 'node:path';
import { ConfigError } from '../generations/errors.js';
import { validHostEntry } from '../segmind/upstream-text.js';

export type Role = 'all' | 'api' | 'worker';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type DevelopmentKeyMode = 'auto' | 'on' | 'off';

/** Everything the server can be told, parsed once from the environment by {@link loadConfig}. */
export interface Config {
  /** HTTP port for GraphQL, WebSocket, SSE and videos. @default 4000 (env PORT) */
  port: number;
  /** Interface to bind; the default is loopback only, containers set 0.0.0.0. @default '127.0.0.1' (env HOST) */
  host: string;
  /** Postgres connection string; unset → embedded PGlite in `dataDir`. (env DATABASE_URL) */
  databaseUrl: string | undefined;
  /** Where PGlite and stored videos live. @default './.data' (env DATA_DIR) */
  dataDir: string;
  /** Base URL clients use to reach this server, for video links. Unset → the address the server listens on. (env PUBLIC_URL) */
  publicUrl: string | undefined;
  /** Segmind key; unset → the built-in simulator is started and used. (env SEGMIND_API_KEY) */
  segmindApiKey: string | undefined;
  /** @default 'https://api.segmind.com' (env SEGMIND_BASE_URL) */
  segmindBaseUrl: string;
  /** Shortest wait between two status requests for one job. @default 1000 (env SEGMIND_POLL_MIN_MS) */
  pollMinMs: number;
  /** Longest wait between two status requests for one job. @default 10000 (env SEGMIND_POLL_MAX_MS) */
  pollMaxMs: number;
  /**
   * Hosts result videos may be downloaded from (`*.` for subdomains), each with an optional `:port`; without one
   * only the scheme's default port is allowed. (env SEGMIND_OUTPUT_HOSTS)
   */
  segmindOutputHosts: string[];
  /** Segmind's asset upload endpoint, for uploaded first/last frames. (env SEGMIND_UPLOAD_URL) */
  segmindUploadUrl: string;
  /** Largest result video accepted, in MB. @default 200 (env MAX_VIDEO_MB) */
  maxVideoMb: number;
  /**
   * Timeout of one request to Segmind. A result download must connect and answer within it, and never wait
   * longer than it for more bytes. @default 30000 (env SEGMIND_REQUEST_TIMEOUT_MS)
   */
  segmindRequestTimeoutMs: number;
  /** Generations in flight at Segmind at once, across all workers. @default 20 (env SEGMIND_MAX_IN_FLIGHT) */
  segmindMaxInFlight: number;
  /** Submits per minute per Segmind key, across all workers (Segmind's Pro tier allows 50). @default 50 (env SEGMIND_SUBMITS_PER_MINUTE) */
  segmindSubmitsPerMinute: number;
  /** A generation not finished this long after it was created fails with TIMEOUT. @default 900000 (env GENERATION_DEADLINE_MS) */
  generationDeadlineMs: number;
  /** Time a SIGTERM'd process has to finish in-flight steps before it exits anyway. @default 30000 (env SHUTDOWN_GRACE_MS) */
  shutdownGraceMs: number;
  /** NODE_ENV=production: keys must be created explicitly, error details and field suggestions are hidden. (env NODE_ENV) */
  production: boolean;
  /** Server-wide spend limit per UTC day in USD; unset for none. (env DAILY_BUDGET_USD) */
  dailyBudgetUsd: number | undefined;
  /**
   * Exact origins (`https://app.example.com`) whose web pages may call the API from a browser; empty → no CORS
   * headers for anyone. (env CORS_ORIGINS)
   */
  corsOrigins: string[];
  /**
   * The first-run key to try the server with: `auto` makes it only while the simulator is used, `on` also beside a
   * real SEGMIND_API_KEY, `off` never. Never in production. @default 'auto' (env DEVELOPMENT_KEY)
   */
  developmentKey: DevelopmentKeyMode;
  /** The development key's daily budget while a real SEGMIND_API_KEY is set. @default 2 (env DEVELOPMENT_KEY_DAILY_BUDGET_USD) */
  developmentKeyDailyBudgetUsd: number;
  /** How long a video link stays valid. @default 86400 (env VIDEO_URL_TTL_SECONDS) */
  videoUrlTtlSeconds: number;
  /** generationStatus streams one key may hold open per process. @default 100 (env MAX_SUBSCRIPTIONS_PER_KEY) */
  maxSubscriptionsPerKey: number;
  /** When set, /metrics requires `Authorization: Bearer <token>`. (env METRICS_TOKEN) */
  metricsToken: string | undefined;
  /** Stored videos are deleted this many days after completion; 0 keeps them. @default 30 (env VIDEO_RETENTION_DAYS) */
  videoRetentionDays: number;
  /** Timeline rows of finished generations are deleted after this many days; 0 keeps them. @default 90 (env EVENT_RETENTION_DAYS) */
  eventRetentionDays: number;
  /** Simulated job length when the simulator is used. @default 15000 (env SIMULATOR_PROCESSING_MS) */
  simulatorProcessingMs: number;
  /** Generations one worker process drives at once. @default 10 (env WORKER_CONCURRENCY) */
  workerConcurrency: number;
  /** How long a worker's claim on a generation lasts without a heartbeat. @default 30000 (env LEASE_MS) */
  leaseMs: number;
  /**
   * How long a worker keeps retrying, through a database outage, a write that must not be lost (Segmind's request
   * id, a stored video's success). A submit whose answer was never recorded is sent again by another worker only
   * once `segmindRequestTimeoutMs` + this + 2 s have passed since it went out. @default 120000 (env COMMIT_PATIENCE_MS)
   */
  commitPatienceMs: number;
  /** Which parts run in this process. @default 'all' (env ROLE) */
  role: Role;
  /** @default 'info' (env LOG_LEVEL) */
  logLevel: LogLevel;
}

type Env = Record<string, string | undefined>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether a host name or address is this machine only. */
export const isLoopbackHost = (host: string) => LOOPBACK_HOSTS.has(host.toLowerCase());

/** Where Segmind serves results from (its own domains and the buckets behind them). */
export const DEFAULT_OUTPUT_HOSTS = '*.segmind.com,*.amazonaws.com,storage.googleapis.com';

/** Every environment variable {@link loadConfig} reads; `.env.example` and the compose file are checked against it. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATA_DIR',
  'PUBLIC_URL',
  'SEGMIND_API_KEY',
  'SEGMIND_BASE_URL',
  'SEGMIND_POLL_MIN_MS',
  'SEGMIND_POLL_MAX_MS',
  'SEGMIND_OUTPUT_HOSTS',
  'SEGMIND_UPLOAD_URL',
  'MAX_VIDEO_MB',
  'SEGMIND_REQUEST_TIMEOUT_MS',
  'SEGMIND_MAX_IN_FLIGHT',
  'SEGMIND_SUBMITS_PER_MINUTE',
  'GENERATION_DEADLINE_MS',
  'SHUTDOWN_GRACE_MS',
  'NODE_ENV',
  'DAILY_BUDGET_USD',
  'CORS_ORIGINS',
  'DEVELOPMENT_KEY',
  'DEVELOPMENT_KEY_DAILY_BUDGET_USD',
  'VIDEO_URL_TTL_SECONDS',
  'MAX_SUBSCRIPTIONS_PER_KEY',
  'METRICS_TOKEN',
  'VIDEO_RETENTION_DAYS',
  'EVENT_RETENTION_DAYS',
  'SIMULATOR_PROCESSING_MS',
  'WORKER_CONCURRENCY',
  'LEASE_MS',
  'COMMIT_PATIENCE_MS',
  'ROLE',
  'LOG_LEVEL',
] as const;

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${raw}".`);
  }
  return value;
}

function usd(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${name} must be an amount of US dollars such as 25 or 12.50; got "${raw}".`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${raw}".`);
  }
  return raw as T;
}

function url(env: Env, name: string, fallback: string): string;
function url(env: Env, name: string): string | undefined;
function url(env: Env, name: string, fallback?: string): string | undefined {
  const raw = env[name] || fallback;
  if (raw === undefined) return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL; got "${raw}".`);
  }
  return raw.replace(/\/+$/, '');
}

/** Comma-separated origins, each exactly `scheme://host[:port]` (a trailing slash is tolerated), normalized. */
function origins(env: Env, name: string): string[] {
  const entries = (env[name] ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.map((entry) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(entry);
    } catch {
      parsed = undefined;
    }
    const isOrigin =
      parsed &&
      (parsed.protocol === 'http:' || parsed.protocol === 'https:') &&
      parsed.pathname === '/' &&
      !parsed.search &&
      !parsed.hash &&
      !parsed.username &&
      !parsed.password;
    if (!isOrigin) {
      throw new ConfigError(
        `${name} lists exact origins such as https://app.example.com or http://localhost:5173 (scheme, host and ` +
          `port only; no wildcard, no path), comma-separated; got "${entry}".`,
      );
    }
    return parsed!.origin;
  });
}

function outputHosts(env: Env): string[] {
  const hosts = (env.SEGMIND_OUTPUT_HOSTS || DEFAULT_OUTPUT_HOSTS).split(',').map((h) => h.trim()).filter(Boolean);
  const bad = hosts.find((host) => !validHostEntry(host));
  if (bad !== undefined) {
    throw new ConfigError(
      `SEGMIND_OUTPUT_HOSTS must list host names such as cdn.example.com, *.segmind.com or 127.0.0.1:9000; got "${bad}".`,
    );
  }
  return hosts;
}

/** Reads, validates and defaults every setting. Throws {@link ConfigError} naming the bad variable. */
export function loadConfig(env: Env): Config {
  const port = int(env, 'PORT', 4000, 0, 65535);
  const pollMinMs = int(env, 'SEGMIND_POLL_MIN_MS', 1000, 10);
  const pollMaxMs = int(env, 'SEGMIND_POLL_MAX_MS', 10000, 10);
  if (pollMaxMs < pollMinMs) {
    throw new ConfigError(`SEGMIND_POLL_MAX_MS (${pollMaxMs}) must not be below SEGMIND_POLL_MIN_MS (${pollMinMs}).`);
  }
  const production = env.NODE_ENV === 'production';
  const developmentKey = oneOf(env, 'DEVELOPMENT_KEY', ['auto', 'on', 'off'] as const, 'auto');
  const developmentKeyDailyBudgetUsd = usd(env, 'DEVELOPMENT_KEY_DAILY_BUDGET_USD') ?? 2;
  // A key's budget is stored as numeric(10, 2).
  if (developmentKeyDailyBudgetUsd >= 1e8) {
    throw new ConfigError(`DEVELOPMENT_KEY_DAILY_BUDGET_USD must be below 100000000; got "${env.DEVELOPMENT_KEY_DAILY_BUDGET_USD}".`);
  }
  if (production && developmentKey === 'on') {
    throw new ConfigError('DEVELOPMENT_KEY=on cannot be used with NODE_ENV=production: create keys with `npm run keys -- create <name>`.');
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR || './.data'),
    publicUrl: url(env, 'PUBLIC_URL'),
    segmindApiKey: env.SEGMIND_API_KEY || undefined,
    segmindBaseUrl: url(env, 'SEGMIND_BASE_URL', 'https://api.segmind.com'),
    pollMinMs,
    pollMaxMs,
    segmindOutputHosts: outputHosts(env),
    segmindUploadUrl: url(env, 'SEGMIND_UPLOAD_URL', 'https://workflows-api.segmind.com/upload-asset'),
    maxVideoMb: int(env, 'MAX_VIDEO_MB', 200, 1),
    segmindRequestTimeoutMs: int(env, 'SEGMIND_REQUEST_TIMEOUT_MS', 30000, 100),
    segmindMaxInFlight: int(env, 'SEGMIND_MAX_IN_FLIGHT', 20, 1),
    segmindSubmitsPerMinute: int(env, 'SEGMIND_SUBMITS_PER_MINUTE', 50, 1),
    generationDeadlineMs: int(env, 'GENERATION_DEADLINE_MS', 900000, 1000),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 30000, 0),
    production,
    dailyBudgetUsd: usd(env, 'DAILY_BUDGET_USD'),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    developmentKey,
    developmentKeyDailyBudgetUsd,
    videoUrlTtlSeconds: int(env, 'VIDEO_URL_TTL_SECONDS', 86400, 1),
    maxSubscriptionsPerKey: int(env, 'MAX_SUBSCRIPTIONS_PER_KEY', 100, 1),
    metricsToken: env.METRICS_TOKEN || undefined,
    videoRetentionDays: int(env, 'VIDEO_RETENTION_DAYS', 30, 0),
    eventRetentionDays: int(env, 'EVENT_RETENTION_DAYS', 90, 0),
    simulatorProcessingMs: int(env, 'SIMULATOR_PROCESSING_MS', 15000, 0),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 10, 1, 1000),
    leaseMs: int(env, 'LEASE_MS', 30000, 1000),
    commitPatienceMs: int(env, 'COMMIT_PATIENCE_MS', 120000, 0),
    role: oneOf(env, 'ROLE', ['all', 'api', 'worker'] as const, 'all'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
  };
}
