import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Logger } from './logger.js';
import { requestIdOf } from './request-id.js';
import type { AppContext } from './schema/context.js';
import { schema } from './schema/index.js';

export const GRAPHQL_PATH = '/graphql';

const exampleOperations = `# Ask for a video: the answer comes at once with a QUEUED generation.
mutation Generate {
  generateVideo(input: { prompt: "A paper boat sails across a puddle after the rain, macro shot", durationSeconds: 4 }) {
    __typename
    ... on GenerateVideoSuccess { generation { id status cost { amount currency } provider } }
    ... on Error { message }
    ... on InputError { field }
  }
}

# Paste the id from above and run this to watch it live until it is done.
subscription Watch($id: ID! = "paste-an-id") {
  generationStatus(id: $id) {
    status progress etaSeconds
    video { url sizeBytes }
    error { code message }
  }
}

query Recent {
  generations(first: 10) { edges { node { id status prompt video { url } createdAt } } pageInfo { hasNextPage endCursor } }
}
`;

export interface GraphqlServerOptions {
  server: Server;
  /** Builds the context of one operation; `requestId` identifies the HTTP request or WebSocket connection. */
  context: (request: { requestId: string }) => AppContext;
  /** False once the server is shutting down: new WebSocket connections are refused. */
  isAccepting: () => boolean;
  log: Logger;
  /** Show GraphiQL at the GraphQL path. @default true */
  graphiql?: boolean;
}

export interface GraphqlServer {
  yoga: YogaServerInstance<Record<string, unknown>, AppContext>;
  /** Open graphql-ws connections. */
  readonly connections: number;
  /** Closes every WebSocket connection with `code` and stops accepting new ones. */
  closeSockets(code: number, reason: string): Promise<void>;
}

/**
 * GraphQL over HTTP and SSE (yoga) and over WebSocket (graphql-ws) on one server and one path. WebSocket
 * operations go through yoga's envelop pipeline, so the same plugins, context and masking apply.
 */
export function createGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const yoga = createYoga<Record<string, unknown>, AppContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Node's request arrives as `req` over HTTP (yoga's node adapter) and over WebSocket (see onSubscribe).
    context: (initial) => {
      const req = initial.req as IncomingMessage | undefined;
      return options.context({ requestId: req ? requestIdOf(req) : randomUUID() });
    },
    landingPage: false,
    graphiql: options.graphiql === false ? false : { title: 'reelql', subscriptionsProtocol: 'WS', defaultQuery: exampleOperations },
    logging: {
      debug: (...args: unknown[]) => options.log.debug('yoga', { args }),
      info: (...args: unknown[]) => options.log.info('yoga', { args }),
      warn: (...args: unknown[]) => options.log.warn('yoga', { args }),
      error: (...args: unknown[]) => options.log.error('yoga', { args: args.map(String) }),
    },
  });

  const wss = new WebSocketServer({
    server: options.server,
    path: GRAPHQL_PATH,
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
  useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args),
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.request.socket,
          params: payload,
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
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
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
