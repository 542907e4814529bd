import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type TypePolicies } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { Kind, OperationTypeNode } from 'graphql';
import { filter, firstValueFrom, lastValueFrom, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloTypePolicies, possibleTypes } from '../../src/contract/cache-config.js';
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

// Apollo's warnings are numbered in its build; these load their text, so a warning says what it is.
loadDevMessages();
loadErrorMessages();

/**
 * The client an app builds: queries and mutations over HttpLink, subscriptions over GraphQLWsLink (graphql-ws's
 * createClient), split by operation type. `contract` says which parts of src/contract/cache-config.ts the cache
 * gets, so the controls can leave one out.
 */
function createApollo(server: PeerServer, contract: { possibleTypes: boolean; typePolicies: boolean }) {
  const ws = createWsClient(server.app.url, { key: server.app.key });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: server.endpoint, headers: { authorization: `Bearer ${server.app.key}` } }),
  );
  const typePolicies: TypePolicies = {
    ...(contract.typePolicies ? apolloTypePolicies : {}),
    Query: { fields: { generations: relayStylePagination(['status']) } },
  };
  const cache = new InMemoryCache({ possibleTypes: contract.possibleTypes ? possibleTypes : {}, typePolicies });
  const client = new ApolloClient({ link, cache });
  return {
    client,
    async dispose() {
      client.stop();
      await ws.dispose();
    },
  };
}

type Apollo = ReturnType<typeof createApollo>['client'];

async function generate(client: Apollo) {
  const { data } = await client.mutate({ mutation: GENERATE, variables: { input: GOOD_INPUT } });
  const result = data!.generateVideo;
  if (result.__typename !== 'GenerateVideoSuccess') throw new Error(`generateVideo answered ${JSON.stringify(result)}`);
  return result.generation;
}

/** Every result of generationStatus until the server completes it (bounded by rxjs' timeout). */
const follow = (client: Apollo, id: string) =>
  lastValueFrom(client.subscribe({ query: WATCH, variables: { id } }).pipe(timeout(followTimeoutMs), toArray()));

/** Pages `generations` PAGE_SIZE at a time with fetchMore, and returns what relayStylePagination merged. */
async function pageAll(client: Apollo) {
  const list = client.watchQuery({ query: LIST, variables: { first: PAGE_SIZE } });
  const first = await firstValueFrom(list.pipe(filter((result) => result.dataState === 'complete'), timeout(followTimeoutMs)));
  let pageInfo = first.data.generations.pageInfo;
  let pages = 1;
  for (; pageInfo.hasNextPage && pages < MAX_PAGES; pages++) {
    const more = await list.fetchMore({ variables: { after: pageInfo.endCursor } });
    pageInfo = more.data.generations.pageInfo;
  }
  const merged = client.readQuery({ query: LIST, variables: { first: PAGE_SIZE } })!.generations;
  return { ids: merged.edges.map((edge) => edge.node.id), pages };
}

/** What an app does: make videos, follow one to the end, then show the list. */
async function generateFollowAndPage(client: Apollo): Promise<FollowedAndPaged> {
  const generations = [await generate(client), await generate(client), await generate(client)];
  const results = await follow(client, generations[0]!.id);
  return {
    versions: results.map((result) => result.data?.generationStatus.version),
    last: results.at(-1)?.data?.generationStatus,
    paged: await pageAll(client),
  };
}

describe.skipIf(!hasPostgres)('Apollo Client 4 (HttpLink + GraphQLWsLink, InMemoryCache with src/contract/cache-config.ts)', () => {
  let server: PeerServer;

  beforeAll(async () => {
    server = await startPeerServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads `... on Error { message }` and `field` on an InputError, which a cache without possibleTypes drops', async () => {
    const withContract = createApollo(server, { possibleTypes: true, typePolicies: true });
    const without = createApollo(server, { possibleTypes: false, typePolicies: true });
    try {
      const { result, warnings } = await consoleWarningsDuring(() => withContract.client.mutate({ mutation: GENERATE, variables: { input: BAD_INPUT } }));
      expect(result.data?.generateVideo).toEqual({
        __typename: 'InputError',
        message: expect.stringMatching(/durationSeconds must be 4, 6 or 8; got 5/),
        field: 'durationSeconds',
      });
      expect(warnings).toEqual([]);

      const control = await consoleWarningsDuring(() => without.client.mutate({ mutation: GENERATE, variables: { input: BAD_INPUT } }));
      expect(control.result.data?.generateVideo).toEqual({ __typename: 'InputError', field: 'durationSeconds' });
      expect(control.warnings.join('\n')).toMatch(/missing `possibleTypes` entry/);
    } finally {
      await withContract.dispose();
      await without.dispose();
    }
  });

  it('follows generationStatus over graphql-ws to SUCCEEDED and pages generations with relayStylePagination and fetchMore, printing no warning', async () => {
    const apollo = createApollo(server, { possibleTypes: true, typePolicies: true });
    try {
      const { result, warnings } = await consoleWarningsDuring(() => generateFollowAndPage(apollo.client));
      await expectFollowedAndPaged(server, result);
      expect(warnings).toEqual([]);
    } finally {
      await apollo.dispose();
    }
  });

  it('warns "Cache data may be lost" on the same steps when the type policies are left out (the control for the test above)', async () => {
    const apollo = createApollo(server, { possibleTypes: true, typePolicies: false });
    try {
      const { result, warnings } = await consoleWarningsDuring(() => generateFollowAndPage(apollo.client));
      expect(result.last?.status).toBe('SUCCEEDED');
      expect(warnings.join('\n')).toMatch(/Cache data may be lost when replacing the cost field of a Generation object/);
    } finally {
      await apollo.dispose();
    }
  });
});
