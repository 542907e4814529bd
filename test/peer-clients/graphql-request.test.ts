import { ClientError, GraphQLClient, rawRequest } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERROR_CODES } from '../../src/contract/tables.js';
import { PeerGenerateDocument, PeerGetDocument, PeerListDocument, type PeerListQuery } from '../../src/contract/generated/peers/graphql.js';
import { hasPostgres } from '../helpers/database.js';
import { waitFor } from '../helpers/wait.js';
import { BAD_INPUT, followTimeoutMs, GOOD_INPUT, MAX_PAGES, PAGE_SIZE, serverListIds, startPeerServer, type PeerServer } from './peer-server.js';

// graphql-request takes the generated string documents (TypedDocumentString) as they are, typed results included.
describe.skipIf(!hasPostgres)('graphql-request 7 (request and rawRequest with the typed documents of src/contract)', () => {
  let server: PeerServer;
  let client: GraphQLClient;

  beforeAll(async () => {
    server = await startPeerServer();
    client = new GraphQLClient(server.endpoint, { headers: { authorization: `Bearer ${server.app.key}` } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads `... on Error { message }` and `field` on an InputError, answered with HTTP 200 and no errors', async () => {
    const { data, errors, status } = await rawRequest(server.endpoint, PeerGenerateDocument.toString(), { input: BAD_INPUT }, {
      authorization: `Bearer ${server.app.key}`,
    });
    expect({ status, errors }).toEqual({ status: 200, errors: undefined });
    expect(data).toEqual({
      generateVideo: { __typename: 'InputError', message: expect.stringMatching(/durationSeconds must be 4, 6 or 8; got 5/), field: 'durationSeconds' },
    });
  });

  it('runs generateVideo and follows the generation to SUCCEEDED by asking for it, since graphql-request has no subscriptions', async () => {
    const { generateVideo } = await client.request(PeerGenerateDocument, { input: GOOD_INPUT });
    if (generateVideo.__typename !== 'GenerateVideoSuccess') throw new Error(`generateVideo answered ${JSON.stringify(generateVideo)}`);
    const done = await waitFor(
      `${generateVideo.generation.id} to succeed`,
      async () => {
        const { generation } = await client.request(PeerGetDocument, { id: generateVideo.generation.id });
        return generation?.status === 'SUCCEEDED' && generation;
      },
      { timeoutMs: followTimeoutMs, intervalMs: 100 },
    );
    expect(done.video?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/videos\//);
  });

  it('pages generations by endCursor until hasNextPage is false, and gets the whole list in order', async () => {
    await client.request(PeerGenerateDocument, { input: GOOD_INPUT });
    await client.request(PeerGenerateDocument, { input: GOOD_INPUT });
    const ids: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (let hasNextPage = true; hasNextPage && pages < MAX_PAGES; pages++) {
      const { generations }: PeerListQuery = await client.request(PeerListDocument, { first: PAGE_SIZE, after });
      ids.push(...generations.edges.map((edge) => edge.node.id));
      ({ hasNextPage, endCursor: after } = generations.pageInfo);
    }
    const expected = await serverListIds(server);
    expect(expected.length).toBeGreaterThan(PAGE_SIZE);
    expect({ ids, pages }).toEqual({ ids: expected, pages: Math.ceil(expected.length / PAGE_SIZE) });
  });

  it('throws a ClientError carrying extensions.code UNAUTHENTICATED for a bad key', async () => {
    const stranger = new GraphQLClient(server.endpoint, { headers: { authorization: 'Bearer rql_not-a-key' } });
    const error = await stranger.request(PeerListDocument, { first: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).response.errors?.[0]?.extensions).toMatchObject({ code: API_ERROR_CODES.UNAUTHENTICATED });
  });
});
