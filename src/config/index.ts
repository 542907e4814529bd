import path from 'node:path';
import { ConfigError } from '../generations/errors.js';
import { validHostEntry } from '../segmind/upstream-text.js';
import {
  DEFAULTS,
  DEVELOPMENT_KEY_MODES,
  ENV_SETTINGS,
  LOG_LEVELS,
  ROLES,
  S3_SERVE_MODES,
  STORAGE_DRIVERS,
  defaultsOf,
  type Setting,
  type SettingValues,
} from './defaults.js';

export type { DevelopmentKeyMode, LogLevel, Role, S3ServeMode, StorageDriver } from './defaults.js';

/** Everything the server can be told, grouped as in defaults.ts (which documents every value and its default). */
export type Config = { [G in keyof typeof DEFAULTS]: SettingValues<(typeof DEFAULTS)[G]> };

type Env = Record<string, string | undefined>;
/** A setting read from the environment. */
type EnvSetting<T> = Setting<T> & { env: string };



/** Every environment variable {@link loadConfig} reads; `.env.example` and the compose file are checked against it. */
export const CONFIG_VARIABLES: readonly string[] = ENV_SETTINGS.map(({ setting }) => setting.env!);

/** The refusal when a key holds as many generationStatus streams as MAX_SUBSCRIPTIONS_PER_KEY allows. */
export const subscriptionsPerKeyMessage = (limit: number) =>
  `At most ${limit} generationStatus subscriptions may be open at once for one API key; close one first.`;

const envSetting = <T>(s: Setting<T>): EnvSetting<T> => s as EnvSetting<T>;
/** The variable's value, or undefined when it is unset or empty (empty counts as unset). */
const raw = (env: Env, s: Setting<unknown>): string | undefined => env[envSetting(s).env] || undefined;

function int(env: Env, s: Setting<number>, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = raw(env, s);
  if (text === undefined) return s.default;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${envSetting(s).env} must be a whole number from ${min} to ${max}; got "${text}".`);
  }
  return value;
}

function usd(env: Env, s: Setting<number | undefined>): number | undefined {
  const text = raw(env, s);
  if (text === undefined) return s.default;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${envSetting(s).env} must be an amount of US dollars such as 25 or 12.50; got "${text}".`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, s: Setting<T>, allowed: readonly T[]): T {
  const text = raw(env, s);
  if (text === undefined) return s.default;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(`${envSetting(s).env} must be one of ${allowed.join(', ')}; got "${text}".`);
  }
  return text as T;
}

function url<T extends string | undefined>(env: Env, s: Setting<T>): T {
  const text = raw(env, s) ?? s.default;
  if (text === undefined) return text as T;
  try {
    const parsed = new URL(text);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`${envSetting(s).env} must be an absolute http(s) URL; got "${text}".`);
  }
  return text.replace(/\/+$/, '') as T;
}

/** Comma-separated origins, each exactly `scheme://host[:port]` (a trailing slash is tolerated), normalized. */
function origins(env: Env, s: Setting<string[]>): string[] {
  const text = raw(env, s);
  if (text === undefined) return s.default;
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
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
        `${envSetting(s).env} lists exact origins such as https://app.example.com or http://localhost:5173 (scheme, host and ` +
          `port only; no wildcard, no path), comma-separated; got "${entry}".`,
      );
    }
    return parsed!.origin;
  });
}

function bool(env: Env, s: Setting<boolean>): boolean {
  const text = raw(env, s);
  if (text === undefined) return s.default;
  if (text !== 'true' && text !== 'false') throw new ConfigError(`${envSetting(s).env} must be true or false; got "${text}".`);
  return text === 'true';
}

/** Object keys are built as `<prefix><generation id>.mp4`: the prefix must be a plain relative key path. */
const KEY_PREFIX = /^(?:[A-Za-z0-9!_.*'()-]+\/)*[A-Za-z0-9!_.*'()-]*$/;

/**
 * The storage group: the driver, and the bucket settings that only mean something with `s3`. An S3 setting
 * without STORAGE_DRIVER=s3 is refused rather than ignored: it is a deployment that thinks it shares a bucket.
 */
function storageConfig(env: Env): Config['storage'] {
  const { storage } = DEFAULTS;
  const driver = oneOf(env, storage.driver, STORAGE_DRIVERS);
  const s3Settings: Setting<unknown>[] = [storage.s3Bucket, storage.s3Endpoint, storage.s3Region, storage.s3ForcePathStyle, storage.s3Prefix, storage.s3Serve];
  const strayS3 = s3Settings.find((s) => raw(env, s) !== undefined);
  if (driver !== 's3' && strayS3) {
    throw new ConfigError(`${envSetting(strayS3).env} is set but STORAGE_DRIVER is "${driver}": set STORAGE_DRIVER=s3 to use a bucket, or remove ${envSetting(strayS3).env}.`);
  }
  const s3Bucket = raw(env, storage.s3Bucket);
  if (driver === 's3' && !s3Bucket) throw new ConfigError('STORAGE_DRIVER=s3 needs S3_BUCKET, the name of the bucket videos go to.');
  const s3Prefix = raw(env, storage.s3Prefix) ?? storage.s3Prefix.default;
  if (!KEY_PREFIX.test(s3Prefix)) {
    throw new ConfigError(`S3_PREFIX must be a key prefix such as videos/ or prod/reelql/ (letters, digits, !_.*'()- and /, not starting with /); got "${s3Prefix}".`);
  }
  return {
    ...defaultsOf(storage),
    dataDir: path.resolve(raw(env, storage.dataDir) ?? storage.dataDir.default),
    maxVideoMb: int(env, storage.maxVideoMb, 1),
    driver,
    s3Bucket,
    s3Endpoint: url(env, storage.s3Endpoint),
    s3Region: raw(env, storage.s3Region) ?? storage.s3Region.default,
    s3ForcePathStyle: bool(env, storage.s3ForcePathStyle),
    s3Prefix,
    s3Serve: oneOf(env, storage.s3Serve, S3_SERVE_MODES),
  };
}

function outputHosts(env: Env, s: Setting<string[]>): string[] {
  const text = raw(env, s);
  if (text === undefined) return [...s.default];
  const hosts = text.split(',').map((h) => h.trim()).filter(Boolean);
  const bad = hosts.find((host) => !validHostEntry(host));
  if (bad !== undefined) {
    throw new ConfigError(
      `${envSetting(s).env} must list host names such as cdn.example.com, *.segmind.com or 127.0.0.1:9000; got "${bad}".`,
    );
  }
  return hosts;
}

/** Comma-separated whole numbers of milliseconds, e.g. `5000,300000`. */
function delays(env: Env, s: Setting<number[]>): number[] {
  const text = raw(env, s);
  if (text === undefined) return [...s.default];
  const values = text.split(',').map((entry) => Number(entry.trim()));
  if (values.length === 0 || values.length > 50 || values.some((v) => !Number.isInteger(v) || v < 0 || v > 7 * 24 * 3_600_000)) {
    throw new ConfigError(
      `${envSetting(s).env} must list 1 to 50 waits in milliseconds (each at most a week), comma-separated, e.g. 5000,300000; got "${text}".`,
    );
  }
  return values;
}

function webhookSettings(env: Env): Config['webhooks'] {
  const { webhooks } = DEFAULTS;
  const timeoutMs = int(env, webhooks.timeoutMs, 100, 60_000);
  const leaseMs = int(env, webhooks.leaseMs, 1000);
  if (leaseMs <= timeoutMs) {
    throw new ConfigError(`WEBHOOK_LEASE_MS (${leaseMs}) must be longer than WEBHOOK_TIMEOUT_MS (${timeoutMs}), or a slow delivery would be made twice.`);
  }
  return {
    ...defaultsOf(webhooks),
    allowedHosts: outputHosts(env, webhooks.allowedHosts),
    retryDelaysMs: delays(env, webhooks.retryDelaysMs),
    timeoutMs,
    leaseMs,
    secretGraceSeconds: int(env, webhooks.secretGraceSeconds, 0),
    concurrency: int(env, webhooks.concurrency, 1, 1000),
  };
}

/** Reads, validates and defaults every setting. Throws {@link ConfigError} naming the bad variable. */
export function loadConfig(env: Env): Config {
  const { server, http, auth, database, media, segmind, worker, limits, retention } = DEFAULTS;
  const webhooks = webhookSettings(env);
  const pollMinMs = int(env, segmind.pollMinMs, 10);
  const pollMaxMs = int(env, segmind.pollMaxMs, 10);
  if (pollMaxMs < pollMinMs) {
    throw new ConfigError(`SEGMIND_POLL_MAX_MS (${pollMaxMs}) must not be below SEGMIND_POLL_MIN_MS (${pollMinMs}).`);
  }
  const production = env.NODE_ENV === 'production';
  const developmentKey = oneOf(env, auth.developmentKey, DEVELOPMENT_KEY_MODES);
  const developmentKeyDailyBudgetUsd = usd(env, auth.developmentKeyDailyBudgetUsd) ?? auth.developmentKeyDailyBudgetUsd.default;
  // A key's budget is stored as numeric(10, 2).
  if (developmentKeyDailyBudgetUsd >= 1e8) {
    throw new ConfigError(`DEVELOPMENT_KEY_DAILY_BUDGET_USD must be below 100000000; got "${env.DEVELOPMENT_KEY_DAILY_BUDGET_USD}".`);
  }
  if (production && developmentKey === 'on') {
    throw new ConfigError('DEVELOPMENT_KEY=on cannot be used with NODE_ENV=production: create keys with `npm run keys -- create <name>`.');
  }
  return {
    server: {
      role: oneOf(env, server.role, ROLES),
      logLevel: oneOf(env, server.logLevel, LOG_LEVELS),
      production,
      shutdownGraceMs: int(env, server.shutdownGraceMs, 0),
    },
    http: {
      ...defaultsOf(http),
      port: int(env, http.port, 0, 65535),
      host: raw(env, http.host) ?? http.host.default,
      publicUrl: url(env, http.publicUrl),
      corsOrigins: origins(env, http.corsOrigins),
      metricsToken: raw(env, http.metricsToken),
    },
    auth: {
      developmentKey,
      developmentKeyDailyBudgetUsd,
      videoUrlTtlSeconds: int(env, auth.videoUrlTtlSeconds, 1),
    },
    database: { url: raw(env, database.url) },
    storage: storageConfig(env),
    media: {
      ffmpegPath: raw(env, media.ffmpegPath),
      ffmpegTimeoutMs: int(env, media.ffmpegTimeoutMs, 100),
    },
    segmind: {
      ...defaultsOf(segmind),
      apiKey: raw(env, segmind.apiKey),
      baseUrl: url(env, segmind.baseUrl),
      uploadUrl: url(env, segmind.uploadUrl),
      outputHosts: outputHosts(env, segmind.outputHosts),
      requestTimeoutMs: int(env, segmind.requestTimeoutMs, 100),
      maxInFlight: int(env, segmind.maxInFlight, 1),
      submitsPerMinute: int(env, segmind.submitsPerMinute, 1),
      pollMinMs,
      pollMaxMs,
      simulatorProcessingMs: int(env, segmind.simulatorProcessingMs, 0),
    },
    worker: {
      ...defaultsOf(worker),
      concurrency: int(env, worker.concurrency, 1, 1000),
      leaseMs: int(env, worker.leaseMs, 1000),
      commitPatienceMs: int(env, worker.commitPatienceMs, 0),
    },
    limits: {
      ...defaultsOf(limits),
      dailyBudgetUsd: usd(env, limits.dailyBudgetUsd),
      generationDeadlineMs: int(env, limits.generationDeadlineMs, 1000),
      minDeadlineSeconds: int(env, limits.minDeadlineSeconds, 1),
      maxSubscriptionsPerKey: int(env, limits.maxSubscriptionsPerKey, 1),
    },
    webhooks,
    retention: {
      ...defaultsOf(retention),
      videoDays: int(env, retention.videoDays, 0),
      eventDays: int(env, retention.eventDays, 0),
    },
  };
}
