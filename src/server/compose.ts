import { createServer, type Server } from 'node:http';
import type { Config } from '../config/index.js';
import { openKeyCommandChannel } from '../auth/key-command-channel.js';
import { createSessions, findActiveKey, keyFromAuthorization } from '../auth/keys.js';
import { openDatabase, type Database } from '../db/open.js';
import { createEventBus } from '../events/bus.js';
import { MAX_MULTIPART_BODY_BYTES } from '../generations/frames.js';
import type { Provider } from '../generations/charges.js';
import type { Logger } from '../logger.js';
import { createSegmindClient } from '../segmind/api.js';
import { startEmbeddedSimulator } from '../segmind/simulator/embedded.js';
import type { SegmindSimulator } from '../segmind/simulator/index.js';
import { openVideoStorage } from '../storage/open.js';
import { loadVideoSigningSecret } from '../storage/video-route.js';
import type { Worker } from '../worker/worker.js';
import { loadWebAssets } from '../web/bundle.js';
import { createApiRole } from './api-role.js';
import { createHealthHandler } from './health.js';
import { serveRoutes, type Route } from './http.js';
import { createMetrics, instrumentedFetch } from './metrics.js';
import { createWorkerRole, type SegmindTarget } from './worker-role.js';

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
  /** Listens on `config.http.port` (0 picks a free one) and starts the worker; returns the base URL. */
  start(): Promise<string>;
  /** Graceful: stops claiming, lets work reach a safe point, closes sockets and the database. */
  stop(): Promise<void>;
}

export interface AppOptions {
  log: Logger;
}

/** A process started with ROLE=worker answers health checks and metrics, and nothing else. */
const WORKER_ONLY: Route = {
  name: 'worker only',
  handle: (_req, res) => (res.writeHead(404, { 'content-type': 'text/plain' }).end('This process runs only the worker.\n'), true),
};

/**
 * Without a Segmind key, a process that runs the worker starts the built-in simulator and sends jobs there.
 * An API-only process needs no target of its own: the workers submit.
 */
async function segmindTargetFor(config: Config, runWorker: boolean, log: Logger) {
  const { apiKey, baseUrl } = config.segmind;
  if (apiKey || !runWorker) return { target: { baseUrl, apiKey: apiKey ?? '', simulated: false }, simulator: undefined };
  const simulator = await startEmbeddedSimulator({
    dataDir: config.storage.dataDir,
    processingMs: config.segmind.simulatorProcessingMs,
    ffmpegPath: config.media.ffmpegPath,
    log,
  });
  log.warn('SEGMIND_API_KEY is not set: using the built-in Segmind simulator. Videos are SIMULATED samples.', {
    simulatorUrl: simulator.url,
  });
  return { target: { baseUrl: simulator.url, apiKey: 'sim-key', simulated: true } satisfies SegmindTarget, simulator };
}

/** Builds the whole server from its configuration: the services once, then the roles `config.server.role` asks for. */
export async function createApp(config: Config, { log }: AppOptions): Promise<App> {
  const serveApi = config.server.role !== 'worker';
  const runWorker = config.server.role !== 'api';
  const metrics = createMetrics();
  // First: a bucket that is missing or refuses the credentials stops start-up before anything else is opened.
  const { storage, description: storageDescription } = await openVideoStorage(config.storage);
  log.info(`storage checked: ${storageDescription}`, { driver: storage.driver });
  const { target, simulator } = await segmindTargetFor(config, runWorker, log);
  const provider: Provider = config.segmind.apiKey ? 'SEGMIND' : 'SIMULATOR';

  // Bundled (or read, when prebuilt) while the database opens.
  const webAssets = serveApi ? loadWebAssets() : undefined;
  const { dataDir } = config.storage;
  const database = await openDatabase({ url: config.database.url, dataDir });
  const db = database.db;
  // `npm run keys` goes through this process while it holds the embedded database.
  const keyCommands = await openKeyCommandChannel(database, log);
  const bus = await createEventBus(database);
  const sessions = await createSessions(database, { subscriptionsPerKey: config.limits.maxSubscriptionsPerKey });
  const videoSigningSecret = await loadVideoSigningSecret(db);
  const segmindFetch = instrumentedFetch(metrics);
  const segmind = createSegmindClient({
    baseUrl: target.baseUrl,
    apiKey: target.apiKey,
    requestTimeoutMs: config.segmind.requestTimeoutMs,
    uploadUrl: target.simulated ? `${target.baseUrl}/upload-asset` : config.segmind.uploadUrl,
    fetch: segmindFetch,
  });
  // Looked up on every request (one indexed query), so a revocation takes effect at once.
  const authenticate = async (authorization: unknown) => {
    const key = keyFromAuthorization(authorization);
    return key ? findActiveKey(db, key) : null;
  };

  let shuttingDown = false;
  const server = createServer();
  const api =
    webAssets &&
    (await createApiRole({
      config,
      log,
      server,
      database,
      bus,
      sessions,
      storage,
      metrics,
      provider,
      videoSigningSecret,
      webAssets,
      authenticate,
      uploadFrames: (dataUrls) => segmind.upload(dataUrls),
      isAccepting: () => !shuttingDown,
    }));
  const workerRole = runWorker
    ? createWorkerRole({
        config,
        log,
        database,
        bus,
        storage,
        metrics,
        provider,
        segmind,
        segmindTarget: target,
        download: segmindFetch,
        videoSigningSecret,
      })
    : undefined;
  const worker = workerRole?.worker;

  metrics.bind({ db, inFlight: () => worker?.inFlight ?? 0, webSockets: () => api?.connections ?? 0 });
  const health = createHealthHandler({
    db,
    worker,
    metrics,
    metricsToken: config.http.metricsToken,
    isShuttingDown: () => shuttingDown,
    workerStaleMs: config.http.readinessWorkerStaleMs,
  });
  const http = serveRoutes(server, {
    log,
    routes: [{ name: 'health', handle: health }, ...(api ? api.routes : [WORKER_ONLY])],
    bodyLimits: { jsonBytes: config.limits.jsonBodyBytes, multipartBytes: MAX_MULTIPART_BODY_BYTES },
  });

  return {
    server,
    database,
    simulator,
    worker,
    provider,
    developmentKey: api?.developmentKey,
    async start() {
      const { host } = config.http;
      const port = await http.listen(config.http.port, host);
      const url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
      await workerRole?.start(url);
      api?.start(url);
      return url;
    },
    async stop() {
      // Readiness answers 503 and new WebSocket connections are refused from here on, so load balancers
      // drain this replica while HTTP keeps answering until the worker is done.
      shuttingDown = true;
      // In-flight work reaches a safe point and hands its leases back, so another worker resumes it at once.
      await workerRole?.stop();
      await http.close(async () => api?.stop());
      await bus.close();
      await sessions.close();
      await keyCommands?.close();
      await database.close();
      await simulator?.stop();
    },
  };
}
