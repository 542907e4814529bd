import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { isLoopbackHost, API_ERROR_CODES } from '../contract/tables.js';
import { developmentKeyPolicy, ensureDevelopmentKey, isLocalSameOriginRequest } from '../auth/development-key.js';
import { findActiveKey, type ApiKey, type Sessions } from '../auth/keys.js';
import type { Database } from '../db/open.js';
import { listGenerations } from '../db/generations.js';
import { createOwnerKeyCheck } from '../storage/owner-key-check.js';
import type { EventBus } from '../events/bus.js';
import { unauthenticatedMessage } from '../graphql/builder.js';
import type { Provider } from '../generations/charges.js';
import type { Logger } from '../logger.js';
import type { VideoStorage } from '../storage/video-storage.js';
import { createVideoHandler } from '../storage/video-route.js';
import type { WebAssets } from '../web/bundle.js';
import { createPageHandler } from '../web/serve.js';
import { createGraphqlServer, GRAPHQL_PATH } from './graphql.js';
import type { Route } from './http.js';
import type { Metrics } from './metrics.js';

export interface ApiRoleOptions {
  config: Config;
  log: Logger;
  /** The HTTP server graphql-ws attaches its WebSocket endpoint to. */
  server: Server;
  database: Database;
  bus: EventBus;
  sessions: Sessions;
  storage: VideoStorage;
  metrics: Metrics;
  provider: Provider;
  videoSigningSecret: Buffer;
  webAssets: Promise<WebAssets>;
  authenticate: (authorization: unknown) => Promise<ApiKey | null>;
  uploadFrames: (dataUrls: string[]) => Promise<string[]>;
  /** False once the server is shutting down: new WebSocket connections are refused. */
  isAccepting: () => boolean;
}

/** The API: the web page, signed video links, GraphQL over HTTP, SSE and WebSocket. */
export interface ApiRole {
  /** In the order they are tried; GraphQL last, since it answers every path it is given. */
  routes: Route[];
  /** The development key, when the policy made or kept one (see ensureDevelopmentKey). */
  developmentKey: string | undefined;
  /** Open graphql-ws connections. */
  readonly connections: number;
  /** `listeningUrl` is what links point at when PUBLIC_URL is unset (port 0 is known only now). */
  start(listeningUrl: string): void;
  /** Closes every WebSocket with 1001 "going away": subscribers reconnect, here or to another replica. */
  stop(): Promise<void>;
}

export async function createApiRole(options: ApiRoleOptions): Promise<ApiRole> {
  const { config, log, database, provider, authenticate } = options;
  const db = database.db;
  let publicUrl = config.http.publicUrl ?? '';
  const ownerKeys = await createOwnerKeyCheck(database);
  const handleVideo = createVideoHandler(options.storage, {
    signingSecret: options.videoSigningSecret,
    // A stored name is a generation's id or `story-<id>`.
    ownerIsActive: (name) => ownerKeys.isActive(name),
    redirectSeconds: config.storage.driver === 's3' && config.storage.s3Serve === 'redirect' ? config.storage.s3PresignSeconds : undefined,
  });
  // First run in development: a key to try the API with. Production requires keys made with `npm run keys`.
  const developmentKey = await ensureDevelopmentKey(db, config.storage.dataDir, developmentKeyPolicy(config));
  // Pre-filled in the page and GraphiQL only on a loopback-only server, and only for this machine's own requests:
  // never for another website, nor for a name rebound to 127.0.0.1 (DNS rebinding).
  const shownKey =
    developmentKey && isLoopbackHost(config.http.host) ? { key: developmentKey, shownTo: isLocalSameOriginRequest } : undefined;
  const expectedJobMs = provider === 'SIMULATOR' ? config.segmind.simulatorProcessingMs : config.segmind.expectedJobMs;
  const handlePage = createPageHandler(await options.webAssets, {
    provider,
    expectedJobSeconds: expectedJobMs / 1000,
    ...(shownKey && { developmentKey: shownKey }),
  });

  const graphql = createGraphqlServer({
    server: options.server,
    log,
    sessions: options.sessions,
    authenticate,
    production: config.server.production,
    isAccepting: options.isAccepting,
    corsOrigins: config.http.corsOrigins,
    limits: config.limits,
    webSocketKeepAliveMs: config.http.webSocketKeepAliveMs,
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
        sessions: options.sessions,
        videoSigningSecret: options.videoSigningSecret,
        videoUrlTtlSeconds: config.auth.videoUrlTtlSeconds,
        db,
        bus: options.bus,
        publicUrl,
        provider,
        metrics: options.metrics,
        serverDailyBudgetUsd: config.limits.dailyBudgetUsd,
        uploadFrames: options.uploadFrames,
        frameUploadWindowMs: config.segmind.requestTimeoutMs + config.segmind.frameUploadSlackMs,
        generationDeadlineMs: config.limits.generationDeadlineMs,
        minDeadlineSeconds: config.limits.minDeadlineSeconds,
        webhookUrlPolicy: { allowedHosts: config.webhooks.allowedHosts },
        webhookSecretGraceSeconds: config.webhooks.secretGraceSeconds,
      };
    },
  });

  return {
    routes: [
      { name: 'page', handle: (req, res) => handlePage(req, res) },
      { name: 'videos', handle: handleVideo },
      { name: 'upload gate', handle: (req, res) => refuseUnauthenticatedUpload(req, res, authenticate, config.http.refusedUploadLingerMs) },
      { name: 'graphql', handle: async (req, res) => (await graphql.yoga(req, res), true) },
    ],
    developmentKey,
    get connections() {
      return graphql.connections;
    },
    start(listeningUrl) {
      publicUrl ||= listeningUrl;
    },
    async stop() {
      await graphql.closeSockets(1001, 'Server shutting down');
      await ownerKeys.close();
    },
  };
}

const isMultipartOperation = (req: IncomingMessage) =>
  req.method === 'POST' &&
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data') &&
  (req.url ?? '').split('?')[0] === GRAPHQL_PATH;

/**
 * Answers a multipart GraphQL request whose key is missing or invalid with 401 before a byte of its body is
 * read: otherwise yoga parses up to 41 MB of frames per request just to refuse it, and anonymous clients could
 * hold that much memory each. The answer is the one the resolver would give (code UNAUTHENTICATED), and the
 * connection closes soon after it, the rest of the body discarded unread. Returns true when it answered.
 */
export async function refuseUnauthenticatedUpload(
  req: IncomingMessage,
  res: ServerResponse,
  authenticate: (authorization: unknown) => Promise<ApiKey | null>,
  /** How long a refused upload's connection stays open for its client to read the answer. */
  lingerMs: number,
): Promise<boolean> {
  if (!isMultipartOperation(req)) return false;
  const authorization = req.headers.authorization;
  let key: ApiKey | null;
  try {
    key = await authenticate(authorization);
  } catch {
    // The database cannot be asked now: yoga answers with its retryable 503.
    return false;
  }
  if (key) return false;
  const body = JSON.stringify({
    errors: [{ message: unauthenticatedMessage(authorization ? 'invalid' : 'missing'), extensions: { code: API_ERROR_CODES.UNAUTHENTICATED } }],
  });
  res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  // A lingering close, as web servers do: what is still coming of the body is read and discarded (never
  // buffered) for a moment, so a client that is still sending reads the 401 instead of a reset connection; a
  // body still arriving after that ends the connection. One that arrived in full keeps it: its client may
  // already be sending its next request on it.
  res.end(body, () => {
    req.resume();
    if (!req.complete) setTimeout(() => !req.complete && req.socket.destroy(), lingerMs).unref();
  });
  return true;
}
