import { CloseCode } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createGraphQLError, createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiKey, Sessions } from '../auth/keys.js';
import { clientGoneFields, isClientGone, requestIdOf } from './http.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../db/open.js';
import { graphiqlTabs } from './graphiql-tabs.js';
import { useCsrfPrevention } from './csrf.js';
import { useEnumValueErrors } from './enum-errors.js';
import { usePersistedQueries } from './persisted-queries.js';
import { useGraphqlSse } from './sse.js';
import { serveGraphqlWs } from './websocket.js';
import type { Logger } from '../logger.js';
import { QUERY_LIMIT_ADVICE, refuseAs } from '../graphql/errors.js';
import { subscriptionsPerKeyMessage, type Config } from '../config/index.js';
import type { AppContext } from '../graphql/builder.js';
import { schema } from '../graphql/index.js';
import { MAX_MULTIPART_BODY_BYTES } from '../generations/frames.js';
import { API_ERROR_CODES } from '../contract/tables.js';

export const GRAPHQL_PATH = '/graphql';

/**
 * GraphiQL lays the editor and the response side by side at every width; on a phone each gets a sliver. Below
 * 700 px they are stacked instead, each the full width.
 */
const PHONE_LAYOUT = `<style>@media (max-width: 700px) {
  .graphiql-sessions > div:not(.graphiql-session-header) { flex-direction: column !important; }
  .graphiql-editors, .graphiql-response { flex: 1 1 auto !important; min-height: 45vh; }
  .graphiql-horizontal-drag-bar { display: none !important; }
}</style>`;
const withPhoneLayout = (html: string) => html.replace('</head>', `${PHONE_LAYOUT}</head>`);

export interface GraphqlServerOptions {
  server: Server;
  /**
   * Builds the context of one operation. `requestId` identifies the HTTP request or WebSocket connection;
   * `authorization` is what the client sent (header or connectionParams); `apiKey` is set when the
   * WebSocket connection was already authenticated.
   */
  context: (request: { requestId: string; authorization: unknown; apiKey?: ApiKey }) => Promise<AppContext>;
  /** Resolves a client's credentials to an active key, or null. */
  authenticate: (authorization: unknown) => Promise<ApiKey | null>;
  sessions: Sessions;
  /** False once the server is shutting down: new WebSocket connections are refused. */
  isAccepting: () => boolean;
  /** Production mode hides field suggestions and error details. */
  production: boolean;
  log: Logger;
  /**
   * What GraphiQL is pre-filled with for one request: the headers (a development key, only for this machine's own
   * requests) and the latest generation of that key, for the Watch tab. Undefined for nothing.
   */
  graphiqlPrefill?: (req: IncomingMessage) => Promise<{ headers: Record<string, string>; latestGenerationId?: string } | undefined>;
  /** With the simulator, GraphiQL gets a tab that shows its switches ([sim:fail], [sim:slow]). */
  simulator: boolean;
  /** Exact origins whose pages may call the API from a browser (CORS); every other origin gets no CORS header. */
  corsOrigins: readonly string[];
  /** Limits that apply identically over HTTP, SSE and WebSocket (they run in the shared envelop pipeline). */
  limits: OperationLimits;
  /** Ping interval of idle WebSockets. */
  webSocketKeepAliveMs: number;
}

export type OperationLimits = Pick<
  Config['limits'],
  | 'queryDepth'
  | 'queryAliases'
  | 'queryTokens'
  | 'queryCost'
  | 'webSocketPayloadBytes'
  | 'connectionInitMs'
  | 'subscriptionsPerConnection'
  | 'persistedQueries'
  | 'persistedQueryBytes'
  | 'sseReservationMs'
>;

export interface GraphqlServer {
  yoga: YogaServerInstance<Record<string, unknown>, AppContext>;
  /** Open graphql-ws connections. */
  readonly connections: number;
  /** Closes every WebSocket connection with `code` and stops accepting new ones. */
  closeSockets(code: number, reason: string): Promise<void>;
}


/**
 * GraphQL over HTTP and SSE (yoga) and over WebSocket (graphql-ws) on one server and one path. WebSocket
 * operations go through yoga's envelop pipeline, so the same plugins, context, limits and masking apply.
 */
export function createGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const { limits } = options;
  const armor = { propagateOnRejection: true, exposeLimits: true } as const;
  const allowedOrigins = new Set(options.corsOrigins);
  const graphiql = {
    title: 'reelql',
    // Over SSE the header editor's Authorization goes with every request, subscriptions included
    // (GraphiQL's WebSocket client sends no connectionParams).
    subscriptionsProtocol: 'SSE',
    // The Watch tab's id is in the variables: show them, not the headers (which need no editing here).
    defaultEditorToolsVisibility: 'variables',
  } as const;
  const yoga = createYoga<Record<string, unknown>, AppContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Node's request arrives as `req` over HTTP (yoga's node adapter) and over WebSocket (see onSubscribe).
    context: (initial) => {
      const req = initial.req as IncomingMessage | undefined;
      return options.context({
        requestId: req ? requestIdOf(req) : randomUUID(),
        authorization: initial.apiKey ? undefined : req?.headers.authorization,
        apiKey: initial.apiKey as ApiKey | undefined,
      });
    },
    landingPage: false,
    // yoga's default reflects any Origin with credentials; here only listed origins get CORS headers, and no
    // credentials (keys travel in the Authorization header, never in cookies).
    cors: (request) => {
      const origin = request.headers.get('origin');
      return origin !== null && allowedOrigins.has(origin) ? { origin: [origin], credentials: false } : false;
    },
    // yoga's own default (25,000,000 bytes) is below two 20 MB frames; the HTTP handler has already refused
    // anything over this by its Content-Length.
    maxRequestBodySize: MAX_MULTIPART_BODY_BYTES,
    // GraphiQL with its assets inlined (no CDN), so it works offline and behind strict networks.
    renderGraphiQL: (graphiqlOptions) => withPhoneLayout(renderGraphiQL(graphiqlOptions)),
    // Unexpected errors reach clients as "Unexpected error." in every mode; the details go to the logs only.
    // A database outage is not unexpected: it gets its own code and a 503 that says when to try again.
    maskedErrors: {
      isDev: false,
      maskError: (error, message, isDev) =>
        isDatabaseUnavailable(error)
          ? createGraphQLError(DATABASE_UNAVAILABLE_MESSAGE, {
              extensions: { code: API_ERROR_CODES.SERVICE_UNAVAILABLE, http: { status: 503, headers: { 'retry-after': '5' } } },
            })
          : maskError(error, message, isDev),
    },
    plugins: [
      // A request a cross-site form or <img> could send (GET, multipart, urlencoded, text/plain) with credentials
      // must carry a header such a page cannot set; JSON bodies are preflighted by browsers anyway.
      useCsrfPrevention(),
      // Before parsing: a persisted query meets every limit below, as a sent one does.
      usePersistedQueries(limits),
      // graphql-sse's protocol (single connection and distinct connections) on its own path.
      useGraphqlSse({ authenticate: options.authenticate, sessions: options.sessions, reservationMs: limits.sseReservationMs }),
      maxTokensPlugin({ n: limits.queryTokens, ...armor, onReject: [refuseAs(QUERY_LIMIT_ADVICE.tokens)] }),
      maxDepthPlugin({
        n: limits.queryDepth,
        ignoreIntrospection: true,
        flattenFragments: true,
        ...armor,
        onReject: [refuseAs(QUERY_LIMIT_ADVICE.depth)],
      }),
      maxAliasesPlugin({ n: limits.queryAliases, ...armor, onReject: [refuseAs(QUERY_LIMIT_ADVICE.aliases)] }),
      costLimitPlugin({
        maxCost: limits.queryCost,
        ignoreIntrospection: true,
        flattenFragments: true,
        ...armor,
        onReject: [refuseAs(QUERY_LIMIT_ADVICE.cost)],
      }),
      ...(options.production ? [blockFieldSuggestionsPlugin()] : []),
      // After the suggestions are hidden: an unknown enum value is answered with the allowed ones.
      useEnumValueErrors(),
    ],
    // Rendered per request: whether the headers and the Watch tab's id are pre-filled depends on who asks.
    graphiql: async (_request, serverContext) => {
      const req = serverContext?.req as IncomingMessage | undefined;
      const prefill = req && (await options.graphiqlPrefill?.(req));
      const headers = prefill && JSON.stringify(prefill.headers, null, 2);
      return {
        ...graphiql,
        defaultTabs: graphiqlTabs({ simulator: options.simulator, latestId: prefill?.latestGenerationId, headers }),
        ...(headers && { headers, defaultHeaders: headers }),
      };
    },
    logging: {
      debug: (...args: unknown[]) => options.log.debug('yoga', { args }),
      info: (...args: unknown[]) => options.log.info('yoga', { args }),
      warn: (...args: unknown[]) => options.log.warn('yoga', { args }),
      // A client that hung up mid-response (SSE, a slow download) is normal: one debug line.
      error: (...args: unknown[]) => {
        const gone = args.find(isClientGone);
        if (gone) options.log.debug('client went away', clientGoneFields(gone));
        else options.log.error('yoga', { args: args.map(String) });
      },
    },
  });

  const wss = new WebSocketServer({
    server: options.server,
    path: GRAPHQL_PATH,
    maxPayload: limits.webSocketPayloadBytes,
    verifyClient: (_info, accept) => (options.isAccepting() ? accept(true) : accept(false, 503, 'Server shutting down')),
  });
  /** The part of yoga's envelop we use; its own typing is loose. */
  interface Enveloped {
    schema: GraphQLSchema;
    parse(source: string): DocumentNode;
    validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
    contextFactory(): Promise<unknown>;
    execute(args: ExecutionArgs): Promise<ExecutionResult>;
    subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  }
  type EnvelopedArgs = ExecutionArgs & { rootValue: Enveloped };
  type Extra = { request: IncomingMessage; apiKey?: ApiKey; untrack?: () => void };
  const limitError = (message: string) => [createGraphQLError(message, { extensions: { code: API_ERROR_CODES.RATE_LIMITED } })];

  serveGraphqlWs<Record<string, unknown>, Extra>(
    {
      connectionInitWaitTimeout: limits.connectionInitMs,
      // A missing or bad key closes the socket with CloseCode.Forbidden, graphql-ws's answer to a false here.
      onConnect: async (ctx) => {
        // Clients that copy their HTTP headers into connectionParams send "Authorization"; accept it too.
        const params = ctx.connectionParams ?? {};
        const apiKey = await options.authenticate(params.authorization ?? params.Authorization);
        if (!apiKey) return false;
        ctx.extra.apiKey = apiKey;
        const socket = (ctx.extra as { socket?: WebSocket }).socket;
        ctx.extra.untrack = options.sessions.track(apiKey.id, () => socket?.close(CloseCode.Forbidden, 'API key revoked'));
        return true;
      },
      onClose: (ctx) => ctx.extra.untrack?.(),
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args),
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const apiKey = ctx.extra.apiKey!;
        // graphql-ws has already registered this operation, so it is included in the count.
        if (Object.keys(ctx.subscriptions).length > limits.subscriptionsPerConnection) {
          return limitError(`At most ${limits.subscriptionsPerConnection} operations may run at once on one connection.`);
        }
        // Checked here too (the resolver checks for SSE), so WebSocket clients get a proper error message.
        if (options.sessions.count(apiKey.id, 'subscription') >= options.sessions.subscriptionsPerKey) {
          return limitError(subscriptionsPerKeyMessage(options.sessions.subscriptionsPerKey));
        }
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.request.socket,
          params: payload,
          apiKey,
        }) as unknown as Enveloped;
        let document: DocumentNode;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const args: EnvelopedArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        // Limit plugins (GraphQL Armor) may throw from validation; answer with the error, keep the socket.
        let errors: readonly GraphQLError[];
        try {
          errors = enveloped.validate(args.schema, args.document);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
    options.log,
    options.webSocketKeepAliveMs,
  );

  return {
    yoga,
    get connections() {
      return wss.clients.size;
    },
    async closeSockets(code, reason) {
      for (const client of wss.clients) client.close(code, reason);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
