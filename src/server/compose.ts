import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isLoopbackHost, type Config } from '../config/index.js';
import { developmentKeyPolicy, ensureDevelopmentKey, isLocalSameOriginRequest } from '../auth/development-key.js';
import { openKeyCommandChannel } from '../auth/key-command-channel.js';
import { createSessions, findActiveKey, keyFromAuthorization } from '../auth/keys.js';
import { openDatabase, type Database } from '../db/open.js';
import { listGenerations, ownerKeyIsActive } from '../db/generations.js';
import { createEventBus } from '../events/bus.js';
import { createGraphqlServer } from './graphql.js';
import { createHealthHandler } from './health.js';
import { createJobDurationEstimator, type JobDurationEstimator } from '../worker/history.js';
import { applyRetention } from '../worker/retention.js';
import { upstreamNameOf } from '../worker/upstream-name.js';
import { createWorker, type Worker } from '../worker/worker.js';
import type { Logger } from '../logger.js';
import { createMetrics, instrumentedFetch } from './metrics.js';
import { refuseUnauthenticatedUpload } from './multipart-gate.js';
import { requestIdOf } from './request-id.js';
import type { Provider } from '../graphql/context.js';
import { createSegmindClient } from '../segmind/api.js';
import { startEmbeddedSimulator } from '../segmind/simulator/embedded.js';
import type { SegmindSimulator } from '../segmind/simulator/index.js';
import { simulatedDurationFactor } from '../segmind/simulator/jobs.js';
import { createLocalStorage } from '../storage/local.js';
import { MAX_MULTIPART_BODY_BYTES } from '../generations/frames.js';
import { createVideoHandler, loadVideoSigningSecret } from '../storage/video-route.js';
import { loadWebAssets } from '../web/bundle.js';
import { createPageHandler } from '../web/serve.js';

/** Segmind's advertised job length, used for progress and ETA until we have our own history. */
const SEGMIND_EXPECTED_JOB_MS = 100_000;

/** With the built-in simulator, a `[sim:slow]` prompt takes its ten-fold time in the estimate too. */
const simulatedJobEstimate =
  (estimate: ReturnType<typeof createJobDurationEstimator>, simulated: boolean): JobDurationEstimator =>
  async (job) =>
    (await estimate(job)) * (simulated ? simulatedDurationFactor(job.prompt) : 1);
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** A download's temporary file untouched this long belongs to a dead process (see applyRetention). */
const PARTIAL_FILE_MAX_AGE_MS = 60 * 60 * 1000;

export interface App {
  server: Server;
  database: Database;
  /** The built-in simulator, when no Segmind key is configured. */
  simulator: SegmindSimulator | undefined;
  worker: Worker | undefined;
  provider: Provider;
  /**
   * The development key made on first run (never in production; beside a real Segmind key only when asked for), to
   * show the person starting the server.
   */
  developmentKey: string | undefined;
  /** Listens on `config.port` (0 picks a free one) and starts the worker; returns the base URL. */
  start(): Promise<string>;
  /** Graceful: stops claiming, lets work reach a safe point, closes sockets and the database. */
  stop(): Promise<void>;
}

/** Request bodies: JSON operations are small; multipart requests carry up to two 20 MB frames. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Refuses bodies over the limit before reading them (the Content-Length is required for that). */
function bodyRefusal(req: IncomingMessage): { status: number; message: string } | null {
  if (req.method !== 'POST') return null;
  const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/form-data');
  const limit = multipart ? MAX_MULTIPART_BODY_BYTES : MAX_JSON_BODY_BYTES;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'Send a Content-Length with the request body.' } : null;
  }
  if (Number(length) > limit) {
    return { status: 413, message: `The request body is larger than ${Math.round(limit / 1024 / 1024)} MB.` };
  }
  return null;
}

export interface AppOptions {
  log: Logger;
}

/** Builds the whole server from its configuration. Only `main.ts` touches the process. */
export async function createApp(config: Config, { log }: AppOptions): Promise<App> {
  const serveApi = config.role !== 'worker';
  const runWorker = config.role !== 'api';
  const metrics = createMetrics();

  let simulator: SegmindSimulator | undefined;
  let segmindBaseUrl = config.segmindBaseUrl;
  let segmindApiKey = config.segmindApiKey;
  if (!segmindApiKey && runWorker) {
    simulator = await startEmbeddedSimulator({ dataDir: config.dataDir, processingMs: config.simulatorProcessingMs, log });
    segmindBaseUrl = simulator.url;
    segmindApiKey = 'sim-key';
    log.warn('SEGMIND_API_KEY is not set: using the built-in Segmind simulator. Videos are SIMULATED samples.', {
      simulatorUrl: segmindBaseUrl,
    });
  }
  const provider: Provider = config.segmindApiKey ? 'SEGMIND' : 'SIMULATOR';

  // Bundled (or read, when prebuilt) while the database opens.
  const webAssets = serveApi ? loadWebAssets() : undefined;
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const db = database.db;
  // `npm run keys` goes through this process while it holds the embedded database.
  const keyCommands = await openKeyCommandChannel(database, log);
  const bus = await createEventBus(database);
  const sessions = await createSessions(database, { subscriptionsPerKey: config.maxSubscriptionsPerKey });
  const storage = await createLocalStorage(path.join(config.dataDir, 'videos'));
  const videoSigningSecret = await loadVideoSigningSecret(db);
  const handleVideo = createVideoHandler(storage, {
    signingSecret: videoSigningSecret,
    ownerIsActive: (generationId) => ownerKeyIsActive(db, generationId),
  });
  // First run in development: a key to try the API with. Production requires keys made with `npm run keys`.
  const developmentKey = serveApi ? await ensureDevelopmentKey(db, config.dataDir, developmentKeyPolicy(config)) : undefined;
  // Pre-filled in the page and GraphiQL only on a loopback-only server, and only for this machine's own requests:
  // never for another website, nor for a name rebound to 127.0.0.1 (DNS rebinding).
  const shownKey =
    developmentKey && isLoopbackHost(config.host) ? { key: developmentKey, shownTo: isLocalSameOriginRequest } : undefined;
  const handlePage =
    webAssets &&
    createPageHandler(await webAssets, {
      provider,
      expectedJobSeconds: (provider === 'SIMULATOR' ? config.simulatorProcessingMs : SEGMIND_EXPECTED_JOB_MS) / 1000,
      ...(shownKey && { developmentKey: shownKey }),
    });
  // Looked up on every request (one indexed query), so a revocation takes effect at once.
  const authenticate = async (authorization: unknown) => {
    const key = keyFromAuthorization(authorization);
    return key ? findActiveKey(db, key) : null;
  };

  // Known once listening when PUBLIC_URL is unset (port 0 picks a free port).
  let publicUrl = config.publicUrl ?? '';
  let shuttingDown = false;
  const server = createServer();
  const graphql = serveApi
    ? createGraphqlServer({
        server,
        log,
        sessions,
        authenticate,
        production: config.production,
        isAccepting: () => !shuttingDown,
        corsOrigins: config.corsOrigins,
        simulator: provider === 'SIMULATOR',
        ...(shownKey && {
          graphiqlPrefill: async (req: IncomingMessage) => {
            if (!shownKey.shownTo(req)) return undefined;
            const headers = { Authorization: `Bearer ${shownKey.key}` };
            try {
              const key = await findActiveKey(db, shownKey.key);
              const [latest] = key ? await listGenerations(db, { apiKeyId: key.id, limit: 1 }) : [];
              return { headers, latestGenerationId: latest?.id };
            } catch (error) {
              // GraphiQL still opens while the database is away; the Watch tab then asks for an id.
              log.debug('no latest generation for GraphiQL', { err: error });
              return { headers };
            }
          },
        }),
        context: async ({ requestId, authorization, apiKey }) => {
          const key = apiKey ?? (await authenticate(authorization));
          return {
            requestId,
            log: log.child({ requestId, ...(key && { keyPrefix: key.prefix }) }),
            apiKey: key,
            authProblem: key ? null : authorization ? 'invalid' : 'missing',
            sessions,
            videoSigningSecret,
            videoUrlTtlSeconds: config.videoUrlTtlSeconds,
            db,
            bus,
            publicUrl,
            provider,
            metrics,
            serverDailyBudgetUsd: config.dailyBudgetUsd,
            uploadFrames: (dataUrls: string[]) => segmind.upload(dataUrls),
            frameUploadWindowMs: config.segmindRequestTimeoutMs + 30_000,
            generationDeadlineMs: config.generationDeadlineMs,
          };
        },
      })
    : undefined;

  const segmindFetch = instrumentedFetch(metrics);
  const segmind = createSegmindClient({
    baseUrl: segmindBaseUrl,
    apiKey: segmindApiKey ?? '',
    requestTimeoutMs: config.segmindRequestTimeoutMs,
    uploadUrl: simulator ? `${segmindBaseUrl}/upload-asset` : config.segmindUploadUrl,
    fetch: segmindFetch,
  });
  const worker = runWorker
    ? createWorker({
        database,
        bus,
        segmind,
        download: segmindFetch,
        metrics,
        submitLimits: {
          keyId: createHash('sha256').update(segmindApiKey ?? '').digest('hex').slice(0, 16),
          maxInFlight: config.segmindMaxInFlight,
          submitsPerMinute: config.segmindSubmitsPerMinute,
        },
        storage,
        log,
        concurrency: config.workerConcurrency,
        leaseMs: config.leaseMs,
        submitPatience: { requestTimeoutMs: config.segmindRequestTimeoutMs, commitPatienceMs: config.commitPatienceMs },
        pollMinMs: config.pollMinMs,
        pollMaxMs: config.pollMaxMs,
        expectedJobMs: simulatedJobEstimate(
          createJobDurationEstimator(database.db, simulator ? config.simulatorProcessingMs : SEGMIND_EXPECTED_JOB_MS),
          simulator !== undefined,
        ),
        backoff: { baseMs: 1000, maxMs: 60_000 },
        upstreamName: upstreamNameOf(provider),
        maxVideoBytes: config.maxVideoMb * 1024 * 1024,
        downloadPolicy: {
          // The simulator's loopback address and port are allowed only when we started the simulator ourselves:
          // nothing else on loopback (this server's own /metrics, a database) is.
          allowedHosts: simulator ? [...config.segmindOutputHosts, new URL(segmindBaseUrl).host] : config.segmindOutputHosts,
          headersTimeoutMs: config.segmindRequestTimeoutMs,
          idleTimeoutMs: config.segmindRequestTimeoutMs,
        },
      })
    : undefined;

  metrics.bind({ db: database.db, inFlight: () => worker?.inFlight ?? 0, webSockets: () => graphql?.connections ?? 0 });
  const handleHealth = createHealthHandler({
    db: database.db,
    worker,
    metrics,
    metricsToken: config.metricsToken,
    isShuttingDown: () => shuttingDown,
    workerStaleMs: 30_000,
  });

  server.on('request', (req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const started = Date.now();
    res.once('finish', () => {
      const quiet = req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics';
      log[quiet ? 'debug' : 'info']('http request', {
        requestId,
        method: req.method,
        path: req.url?.split('?')[0],
        status: res.statusCode,
        durationMs: Date.now() - started,
      });
    });
    const refusal = bodyRefusal(req);
    if (refusal) {
      res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: 'BAD_REQUEST' } }] }));
      req.resume();
      return;
    }
    void (async () => {
      if (await handleHealth(req, res)) return;
      if (handlePage?.(req, res)) return;
      if (graphql && (await handleVideo(req, res))) return;
      if (graphql && (await refuseUnauthenticatedUpload(req, res, authenticate))) return;
      if (graphql) return graphql.yoga(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This process runs only the worker.\n');
    })().catch((error: unknown) => {
      log.error('request failed', { err: error, requestId, path: req.url?.split('?')[0] });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });

  let retentionTimer: NodeJS.Timeout | undefined;
  const runRetention = () =>
    applyRetention({
      db: database.db,
      storage,
      log,
      videoRetentionDays: config.videoRetentionDays,
      eventRetentionDays: config.eventRetentionDays,
      // Never younger than a generation may live: no download outlasts its generation's deadline.
      partialFileMaxAgeMs: Math.max(PARTIAL_FILE_MAX_AGE_MS, config.generationDeadlineMs),
    }).catch((error: unknown) => log.error('retention failed', { err: error }));

  return {
    server,
    database,
    simulator,
    worker,
    provider,
    developmentKey,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      await worker?.start();
      if (worker) {
        void runRetention();
        retentionTimer = setInterval(() => void runRetention(), RETENTION_INTERVAL_MS);
        retentionTimer.unref();
      }
      const { port } = server.address() as AddressInfo;
      const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
      publicUrl ||= url;
      return url;
    },
    async stop() {
      // Readiness answers 503 and new WebSocket connections are refused from here on, so load balancers
      // drain this replica while HTTP keeps answering until the worker is done.
      shuttingDown = true;
      clearInterval(retentionTimer);
      // In-flight work reaches a safe point and hands its leases back, so another worker resumes it at once.
      await worker?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // 1001 "going away": subscribers should reconnect, to this or another replica, and will get the current state.
      await graphql?.closeSockets(1001, 'Server shutting down');
      server.closeAllConnections();
      await closed;
      await bus.close();
      await sessions.close();
      await keyCommands?.close();
      await database.close();
      await simulator?.stop();
    },
  };
}
