/**
 * Every tunable of the server, named once, with its default and what it does. Settings with an `env` are read
 * from that environment variable by `loadConfig` (index.ts); the others are fixed here and reach their consumers
 * through the same `Config`. The README's configuration table is checked against this file.
 */

export const ROLES = ['all', 'api', 'worker'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const DEVELOPMENT_KEY_MODES = ['auto', 'on', 'off'] as const;
export const STORAGE_DRIVERS = ['local', 's3'] as const;
export const S3_SERVE_MODES = ['redirect', 'proxy'] as const;
export type Role = (typeof ROLES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type DevelopmentKeyMode = (typeof DEVELOPMENT_KEY_MODES)[number];
export type StorageDriver = (typeof STORAGE_DRIVERS)[number];
export type S3ServeMode = (typeof S3_SERVE_MODES)[number];

/** One tunable. */
export interface Setting<T> {
  /** The environment variable that sets it; absent for a value fixed in code. */
  env?: string;
  default: T;
  doc: string;
  /** What leaving the variable unset means, when the default is "none" (shown in the README as `unset → …`). */
  unset?: string;
}

const setting = <T>(definition: Setting<T>): Setting<T> => definition;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MB = 1024 * 1024;

export const DEFAULTS = {
  server: {
    role: setting<Role>({ env: 'ROLE', default: 'all', doc: 'Which parts run in this process: `all` (API and worker), `api` or `worker`.' }),
    logLevel: setting<LogLevel>({ env: 'LOG_LEVEL', default: 'info', doc: 'debug, info, warn, error or silent.' }),
    production: setting<boolean>({
      env: 'NODE_ENV',
      default: false,
      unset: 'development',
      doc: 'NODE_ENV=production: keys must be created explicitly, error details and field suggestions are hidden.',
    }),
    shutdownGraceMs: setting({ env: 'SHUTDOWN_GRACE_MS', default: 30_000, doc: 'Time a SIGTERM’d process has to finish in-flight steps before it exits anyway.' }),
  },
  http: {
    port: setting({ env: 'PORT', default: 4000, doc: 'HTTP port for GraphQL, WebSocket, SSE and videos; 0 picks a free one.' }),
    host: setting({ env: 'HOST', default: '127.0.0.1', doc: 'Interface to bind; loopback only by default, containers set 0.0.0.0.' }),
    publicUrl: setting<string | undefined>({
      env: 'PUBLIC_URL',
      default: undefined,
      unset: 'the listening address',
      doc: 'Base URL clients use to reach this server, for video links.',
    }),
    corsOrigins: setting<string[]>({
      env: 'CORS_ORIGINS',
      default: [],
      unset: 'none',
      doc: 'Exact origins (`https://app.example.com`) whose web pages may call the API from a browser.',
    }),
    metricsToken: setting<string | undefined>({ env: 'METRICS_TOKEN', default: undefined, unset: 'open', doc: 'When set, /metrics requires `Authorization: Bearer <token>`.' }),
    readinessWorkerStaleMs: setting({ default: 30_000, doc: 'A worker that has not looked for work for this long makes /readyz answer 503.' }),
    webSocketKeepAliveMs: setting({ default: 12_000, doc: 'Ping interval that keeps idle WebSockets open through proxies and notices dead peers.' }),
    refusedUploadLingerMs: setting({ default: 1000, doc: 'How long a refused upload’s connection stays open for its client to read the answer.' }),
    keyCommandTimeoutMs: setting({ default: 30_000, doc: 'How long `npm run keys` waits for the running server to answer.' }),
  },
  auth: {
    developmentKey: setting<DevelopmentKeyMode>({
      env: 'DEVELOPMENT_KEY',
      default: 'auto',
      doc: 'The first-run key: `auto` only with the simulator, `on` also beside a real SEGMIND_API_KEY, `off` never; never in production.',
    }),
    developmentKeyDailyBudgetUsd: setting({ env: 'DEVELOPMENT_KEY_DAILY_BUDGET_USD', default: 2, doc: 'The development key’s daily budget while a real SEGMIND_API_KEY is set.' }),
    videoUrlTtlSeconds: setting({ env: 'VIDEO_URL_TTL_SECONDS', default: 86_400, doc: 'How long a signed video link stays valid.' }),
  },
  database: {
    url: setting<string | undefined>({ env: 'DATABASE_URL', default: undefined, unset: 'PGlite', doc: 'Postgres connection string; unset → embedded PGlite in DATA_DIR.' }),
  },
  storage: {
    dataDir: setting({ env: 'DATA_DIR', default: './.data', doc: 'Where PGlite, stored videos and the built-in simulator’s jobs live.' }),
    maxVideoMb: setting({ env: 'MAX_VIDEO_MB', default: 200, doc: 'Largest result video accepted, in MB.' }),
    driver: setting<StorageDriver>({
      env: 'STORAGE_DRIVER',
      default: 'local',
      doc: 'Where videos are kept: `local` (DATA_DIR/videos, one machine) or `s3` (an S3-compatible bucket shared by every process).',
    }),
    s3Bucket: setting<string | undefined>({ env: 'S3_BUCKET', default: undefined, unset: 'none', doc: 'The bucket videos go to; required with STORAGE_DRIVER=s3.' }),
    s3Endpoint: setting<string | undefined>({
      env: 'S3_ENDPOINT',
      default: undefined,
      unset: 'AWS',
      doc: 'Endpoint of an S3-compatible service (MinIO, R2, Garage, Ceph, GCS); unset → AWS S3 in S3_REGION.',
    }),
    s3Region: setting({ env: 'S3_REGION', default: 'us-east-1', doc: 'Region of the bucket (S3-compatible services mostly accept any).' }),
    s3ForcePathStyle: setting({ env: 'S3_FORCE_PATH_STYLE', default: false, doc: '`true` for endpoints that address buckets by path (`http://host/bucket/key`), as MinIO does.' }),
    s3Prefix: setting({ env: 'S3_PREFIX', default: 'videos/', doc: 'Prefix of every object key this server writes in the bucket.' }),
    s3Serve: setting<S3ServeMode>({
      env: 'S3_SERVE',
      default: 'redirect',
      doc: 'How /videos/<id>.mp4 answers after its checks: `redirect` (302 to a presigned GET) or `proxy` (streamed from the bucket).',
    }),
    s3PresignSeconds: setting({ default: 60, doc: 'Lifetime of the presigned GET a video link redirects to: a minute, so it cannot outlive a revocation by much.' }),
    s3PartBytes: setting({ default: 5 * MB, doc: 'Size of each part of a multipart upload (S3’s smallest); an upload holds about two in memory (one sent, one filling).' }),
    s3RequestTimeoutMs: setting({ default: 30_000, doc: 'Timeout of one request to the bucket (connecting takes at most a sixth of it).' }),
  },
  media: {
    ffmpegPath: setting<string | undefined>({
      env: 'FFMPEG_PATH',
      default: undefined,
      unset: 'the binary of @ffmpeg-installer/ffmpeg',
      doc: 'The ffmpeg that extracts posters and last frames (and renders the simulator’s clips), e.g. /usr/bin/ffmpeg.',
    }),
    ffmpegTimeoutMs: setting({
      env: 'FFMPEG_TIMEOUT_MS',
      default: 60_000,
      doc: 'Longest one ffmpeg run may take before it is killed; the poster and last frame are then missing and say why.',
    }),
  },
  segmind: {
    apiKey: setting<string | undefined>({ env: 'SEGMIND_API_KEY', default: undefined, unset: 'simulator', doc: 'Segmind key; unset → the built-in simulator is started and used.' }),
    baseUrl: setting({ env: 'SEGMIND_BASE_URL', default: 'https://api.segmind.com', doc: 'Segmind API base URL.' }),
    uploadUrl: setting({ env: 'SEGMIND_UPLOAD_URL', default: 'https://workflows-api.segmind.com/upload-asset', doc: 'Segmind’s asset upload endpoint, for uploaded frames.' }),
    outputHosts: setting<string[]>({
      env: 'SEGMIND_OUTPUT_HOSTS',
      // Segmind's own domains and the buckets behind them.
      default: ['*.segmind.com', '*.amazonaws.com', 'storage.googleapis.com'],
      doc: 'Hosts (`*.` for subdomains, optional `:port`) result videos may be downloaded from.',
    }),
    requestTimeoutMs: setting({
      env: 'SEGMIND_REQUEST_TIMEOUT_MS',
      default: 30_000,
      doc: 'Timeout of one request to Segmind; a download must answer within it and never pause longer between bytes.',
    }),
    maxInFlight: setting({ env: 'SEGMIND_MAX_IN_FLIGHT', default: 20, doc: 'Generations in flight at Segmind at once, across all workers.' }),
    submitsPerMinute: setting({ env: 'SEGMIND_SUBMITS_PER_MINUTE', default: 50, doc: 'Submits per minute per Segmind key, across all workers (the Pro tier allows 50).' }),
    pollMinMs: setting({ env: 'SEGMIND_POLL_MIN_MS', default: 1000, doc: 'Shortest wait between two status requests for one job.' }),
    pollMaxMs: setting({ env: 'SEGMIND_POLL_MAX_MS', default: 10_000, doc: 'Longest wait between two status requests for one job, except the first once recent jobs of its kind show when they end: that one waits straight to their window (unless it equals SEGMIND_POLL_MIN_MS, a fixed interval).' }),
    expectedJobMs: setting({ default: 100_000, doc: 'Segmind’s advertised job length, for progress and ETA until our own history has samples.' }),
    simulatorProcessingMs: setting({ env: 'SIMULATOR_PROCESSING_MS', default: 15_000, doc: 'Length of a simulated job when the simulator is used.' }),
    frameUploadSlackMs: setting({ default: 30_000, doc: 'Frames may be uploaded until the submit request timeout plus this has passed.' }),
  },
  worker: {
    concurrency: setting({ env: 'WORKER_CONCURRENCY', default: 10, doc: 'Generations one worker process drives at once.' }),
    leaseMs: setting({ env: 'LEASE_MS', default: 30_000, doc: 'How long a worker’s claim on a generation lasts without a heartbeat.' }),
    heartbeatsPerLease: setting({ default: 3, doc: 'Lease renewals per lease period, so one failed renewal does not lose it.' }),
    minHeartbeatMs: setting({ default: 100, doc: 'Shortest wait between two lease renewals, however short the lease.' }),
    commitPatienceMs: setting({
      env: 'COMMIT_PATIENCE_MS',
      default: 120_000,
      doc: 'How long a worker retries, through a database outage, a write that must not be lost (a request id, a stored video).',
    }),
    sweepMs: setting({ default: 1000, doc: 'Look for due work this often even without a notification (retries, expired leases).' }),
    backoff: setting({ default: { baseMs: 1000, maxMs: MINUTE_MS }, doc: 'Exponential backoff between retries of a failed Segmind step.' }),
    submitLogPruneMs: setting({ default: MINUTE_MS, doc: 'How often a process clears submit records older than an hour (they only feed the rate limit).' }),
    keyPrefixCacheSize: setting({ default: 10_000, doc: 'Key prefixes (for log lines) one worker remembers before starting over.' }),
    lastWriteSlackMs: setting({ default: 2000, doc: 'Room after the commit patience before another worker may resend an unrecorded submit.' }),
    estimateSampleSize: setting({ default: 20, doc: 'Recent completions the job-length estimate takes the median of.' }),
    estimateCacheMs: setting({ default: 30_000, doc: 'How long one worker reuses a job-length estimate.' }),
    progressIntervalMs: setting({ default: { minMs: 200, maxMs: 2000, perJob: 20 }, doc: 'Progress ticks: a twentieth of the expected job, within the bounds.' }),
  },
  limits: {
    dailyBudgetUsd: setting<number | undefined>({ env: 'DAILY_BUDGET_USD', default: undefined, unset: 'none', doc: 'Server-wide spend limit per UTC day in USD.' }),
    generationDeadlineMs: setting({ env: 'GENERATION_DEADLINE_MS', default: 900_000, doc: 'A generation not finished this long after it was created fails with TIMEOUT.' }),
    minDeadlineSeconds: setting({
      env: 'MIN_DEADLINE_SECONDS',
      default: 30,
      doc: 'The shortest deadlineSeconds a client may ask for; a longer one than GENERATION_DEADLINE_MS is capped to it.',
    }),
    maxSubscriptionsPerKey: setting({ env: 'MAX_SUBSCRIPTIONS_PER_KEY', default: 100, doc: 'generationStatus streams one key may hold open per process; a reserved single-connection SSE stream counts as one.' }),
    jsonBodyBytes: setting({ default: MB, doc: 'Largest JSON request body; multipart bodies have the frame uploads’ own limit.' }),
    queryDepth: setting({ default: 12, doc: 'Deepest selection an operation may have (HTTP, SSE and WebSocket alike).' }),
    queryAliases: setting({ default: 15, doc: 'Most aliases in one operation.' }),
    queryTokens: setting({ default: 2000, doc: 'Most tokens in one operation document.' }),
    queryCost: setting({ default: 20_000, doc: 'Highest cost of one operation; fits a full 100-item page of generations with every field.' }),
    webSocketPayloadBytes: setting({ default: 64 * 1024, doc: 'Largest graphql-ws frame.' }),
    connectionInitMs: setting({ default: 5000, doc: 'Time a new WebSocket has to send ConnectionInit.' }),
    subscriptionsPerConnection: setting({ default: 20, doc: 'Operations one WebSocket connection may run at once.' }),
    persistedQueries: setting({ default: 1000, doc: 'Automatic persisted queries kept per process (least recently used go first).' }),
    persistedQueryBytes: setting({ default: 32 * 1024, doc: 'Longest query kept as a persisted query; a longer one runs but is not kept.' }),
    sseReservationMs: setting({ default: 5000, doc: 'Time a reserved single-connection SSE stream has to be opened before it is dropped.' }),
  },
  webhooks: {
    allowedHosts: setting<string[]>({
      env: 'WEBHOOK_ALLOWED_HOSTS',
      default: [],
      unset: 'none',
      doc: 'Hosts (`name` or `name:port`) a webhook may use although they are not public (loopback, private) or speak plain http.',
    }),
    retryDelaysMs: setting<number[]>({
      env: 'WEBHOOK_RETRY_DELAYS_MS',
      // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 28 hours in all.
      default: [5000, 5 * MINUTE_MS, 30 * MINUTE_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS, 10 * HOUR_MS],
      doc: 'Waits before each retry of a failed webhook delivery, comma-separated, each with up to 20 % jitter; after the last it is failed.',
    }),
    timeoutMs: setting({ env: 'WEBHOOK_TIMEOUT_MS', default: 10_000, doc: 'Time a receiver has to answer a webhook delivery in full.' }),
    secretGraceSeconds: setting({
      env: 'WEBHOOK_SECRET_GRACE_SECONDS',
      default: 86_400,
      doc: 'After rotateWebhookSecret, how long deliveries are also signed with the previous secret.',
    }),
    concurrency: setting({ env: 'WEBHOOK_CONCURRENCY', default: 10, doc: 'Webhook deliveries one worker process makes at once.' }),
    leaseMs: setting({
      env: 'WEBHOOK_LEASE_MS',
      default: 30_000,
      doc: 'A worker’s claim on a delivery; when it dies, another worker makes the delivery after this. Longer than WEBHOOK_TIMEOUT_MS.',
    }),
    maxResponseBytes: setting({ default: 64 * 1024, doc: 'Most of a receiver’s answer that is read; the rest is discarded.' }),
    jitter: setting({ default: 0.2, doc: 'Each retry wait is shortened by up to this fraction at random, so retries of many deliveries spread out.' }),
    sweepMs: setting({ default: 1000, doc: 'Look for due deliveries this often even without a notification (retries, expired leases).' }),
  },
  retention: {
    videoDays: setting({ env: 'VIDEO_RETENTION_DAYS', default: 30, doc: 'Stored videos are deleted this many days after completion; 0 keeps them.' }),
    eventDays: setting({ env: 'EVENT_RETENTION_DAYS', default: 90, doc: 'Timelines of generations finished this many days ago are deleted; 0 keeps them.' }),
    intervalMs: setting({ default: HOUR_MS, doc: 'How often a worker applies retention.' }),
    partialFileMaxAgeMs: setting({
      default: HOUR_MS,
      doc: 'A download’s temporary file untouched this long (and at least the generation deadline) belongs to a dead process.',
    }),
    batchSize: setting({ default: 100, doc: 'Stored videos deleted per retention run; the rest wait for the next run.' }),
  },
};

/** The value type of each setting of a group. */
export type SettingValues<G> = { [K in keyof G]: G[K] extends Setting<infer T> ? T : never };

/** A group's defaults as plain values. */
export function defaultsOf<G extends Record<string, Setting<unknown>>>(group: G): SettingValues<G> {
  return Object.fromEntries(Object.entries(group).map(([key, s]) => [key, s.default])) as SettingValues<G>;
}

/** Every setting read from the environment, with its group and key. */
export const ENV_SETTINGS: { group: string; key: string; setting: Setting<unknown> }[] = Object.entries(DEFAULTS).flatMap(
  ([group, settings]) =>
    Object.entries(settings as Record<string, Setting<unknown>>)
      .filter(([, s]) => s.env !== undefined)
      .map(([key, s]) => ({ group, key, setting: s })),
);
