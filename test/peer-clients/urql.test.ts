// urql's core client. The `urql` package is only its React bindings (hooks over this same Client), so a Node
// integration, and any framework binding underneath, uses @urql/core; graphcache is its normalized cache.
import { Client, fetchExchange, subscriptionExchange, type OperationResult, type SubscriptionForwarder } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphcacheKeys, graphcacheSchema } from '../../src/contract/cache-config.js';
import type { PeerListQuery, PeerWatchSubscription } from '../../src/contract/generated/peers/graphql.js';
import { createWsClient } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/database.js';
import {
  BAD_INPUT,
  consoleWarningsDuring,
  expectFollowedAndPaged,
  followTimeoutMs,
  GENERATE,
  GOOD_INPUT,
  LIST,
  MAX_PAGES,
  PAGE_SIZE,
  startPeerServer,
  WATCH,
  type FollowedAndPaged,
  type PeerServer,
} from './peer-server.js';

type Transport = 'graphql-ws' | 'graphql-sse';
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

/**
 * A transport for urql's subscriptionExchange: graphql-ws over the WebSocket (the key in connectionParams), or
 * graphql-sse in its default distinct-connections mode, one SSE request per subscription (the key as a header).
 */
function createTransport(server: PeerServer, transport: Transport): { forward: SubscriptionForwarder; dispose(): Promise<void> } {
  const client =
    transport === 'graphql-ws'
      ? createWsClient(server.app.url, { key: server.app.key })
      : createSseClient({ url: server.endpoint, headers: { authorization: `Bearer ${server.app.key}` }, retryAttempts: 0 });
  return {
    forward: (request) => ({
      subscribe(sink) {
        const unsubscribe = client.subscribe({ ...request, query: request.query ?? '' }, sink);
        return { unsubscribe };
      },
    }),
    async dispose() {
      await client.dispose();
    },
  };
}

/** The client an app builds: graphcache (with or without src/contract/cache-config.ts), HTTP, and one subscription transport. */
function createUrql(server: PeerServer, transport: Transport, { contract }: { contract: boolean }) {
  const subscriptions = createTransport(server, transport);
  const cache = cacheExchange({
    ...(contract ? { schema: graphcacheSchema, keys: graphcacheKeys } : {}),
    resolvers: { Query: { generations: relayPagination() } },
  });
  const client = new Client({
    url: server.endpoint,
    fetchOptions: { headers: { authorization: `Bearer ${server.app.key}` } },
    exchanges: [cache, fetchExchange, subscriptionExchange({ forwardSubscription: subscriptions.forward })],
  });
  return { client, dispose: () => subscriptions.dispose() };
}

async function generate(client: Client) {
  const { data, error } = await client.mutation(GENERATE, { input: GOOD_INPUT }).toPromise();
  const result = data?.generateVideo;
  if (result?.__typename !== 'GenerateVideoSuccess') throw new Error(`generateVideo answered ${JSON.stringify(result ?? error)}`);
  return result.generation;
}

/** Every generationStatus result until a final status, bounded by followTimeoutMs. */
function follow(client: Client, id: string): Promise<PeerWatchSubscription['generationStatus'][]> {
  return new Promise((resolve, reject) => {
    const seen: PeerWatchSubscription['generationStatus'][] = [];
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`generationStatus did not reach a final status within ${followTimeoutMs} ms; saw ${JSON.stringify(seen)}`));
    }, followTimeoutMs);
    const subscription = client.subscription(WATCH, { id }).subscribe(({ data, error }) => {
      if (error) {
        clearTimeout(timer);
        subscription.unsubscribe();
        reject(error);
        return;
      }
      if (!data) return;
      // graphcache hands each result back from the cache; the same version again is not a new result.
      if (seen.at(-1)?.version !== data.generationStatus.version) seen.push(data.generationStatus);
      if (FINAL.has(data.generationStatus.status)) {
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(seen);
      }
    });
  });
}

/** Pages `generations` PAGE_SIZE at a time; relayPagination merges every page into the field the last query reads. */
async function pageAll(client: Client) {
  let after: string | null = null;
  for (let pages = 1; pages <= MAX_PAGES; pages++) {
    const page: OperationResult<PeerListQuery> = await client.query(LIST, { first: PAGE_SIZE, after }).toPromise();
    if (!page.data) throw new Error(`generations answered ${String(page.error)}`);
    const { edges, pageInfo } = page.data.generations;
    if (!pageInfo.hasNextPage) return { ids: edges.map((edge) => edge.node.id), pages };
    after = pageInfo.endCursor;
  }
  throw new Error(`generations had more than ${MAX_PAGES} pages`);
}

async function generateFollowAndPage(client: Client): Promise<FollowedAndPaged> {
  const generations = [await generate(client), await generate(client), await generate(client)];
  const seen = await follow(client, generations[0]!.id);
  return { versions: seen.map((generation) => generation.version), last: seen.at(-1), paged: await pageAll(client) };
}

describe.skipIf(!hasPostgres)('urql (@urql/core with graphcache and subscriptionExchange)', () => {
  let server: PeerServer;

  beforeAll(async () => {
    server = await startPeerServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads `... on Error { message }` and `field` on an InputError with the generated schema, and graphcache warns of nothing', async () => {
    const urql = createUrql(server, 'graphql-ws', { contract: true });
    try {
      const { result, warnings } = await consoleWarningsDuring(() => urql.client.mutation(GENERATE, { input: BAD_INPUT }).toPromise());
      expect(result.data?.generateVideo).toEqual({
        __typename: 'InputError',
        message: expect.stringMatching(/durationSeconds must be 4, 6 or 8; got 5/),
        field: 'durationSeconds',
      });
      expect(warnings).toEqual([]);
    } finally {
      await urql.dispose();
    }
  });

  for (const transport of ['graphql-ws', 'graphql-sse'] as const) {
    it(`follows generationStatus over ${transport} to SUCCEEDED and pages generations with relayPagination, with no graphcache warning`, async () => {
      const urql = createUrql(server, transport, { contract: true });
      try {
        const { result, warnings } = await consoleWarningsDuring(() => generateFollowAndPage(urql.client));
        await expectFollowedAndPaged(server, result);
        expect(warnings).toEqual([]);
      } finally {
        await urql.dispose();
      }
    });
  }

  // Last: graphcache prints each distinct warning once per process, so a control run first would hide them from the tests above.
  it('warns of heuristic fragment matching and of objects without keys on the same steps without the cache config (the control)', async () => {
    const urql = createUrql(server, 'graphql-ws', { contract: false });
    try {
      const { warnings } = await consoleWarningsDuring(async () => {
        await urql.client.mutation(GENERATE, { input: BAD_INPUT }).toPromise();
        return generateFollowAndPage(urql.client);
      });
      const printed = warnings.join('\n');
      expect(printed).toMatch(/Heuristic Fragment Matching/);
      expect(printed).toMatch(/Invalid key: .*a custom `keys` config for `Money`/s);
    } finally {
      await urql.dispose();
    }
  });
});
