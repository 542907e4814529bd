import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { collectSse, collectWs, createWsClient, GENERATE } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';

const LIST = '{ generations(first: 1) { edges { node { id } } } }';
const ALL_STATUSES = 'CANCELED, FAILED, PROCESSING, QUEUED, STORING, SUBMITTED, SUCCEEDED';
const ALL_ASPECT_RATIOS = 'RATIO_9_16, RATIO_16_9';

describe.skipIf(!hasPostgres)('rejections a client can act on', () => {
  let database: TestDatabase;
  let server: TestApp;
  const sockets: Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
  });
  afterAll(async () => {
    await Promise.all(
      sockets.map(async (s) => {
        await s.dispose();
      }),
    );
    await server?.stop();
    await database?.drop();
  });

  const getQuery = async (query: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, { headers });
    return { status: response.status, body: (await response.json()) as GraphqlBody<Record<string, any>> };
  };
  const rows = async () => (await database.sql<[{ n: number }]>`select count(*)::int as n from generations`)[0].n;

  describe('a request without a key', () => {
    it('is answered 401 UNAUTHENTICATED over GET, as over POST', async () => {
      const overGet = await getQuery(LIST);
      const overPost = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: LIST }),
      });
      const postBody = (await overPost.json()) as GraphqlBody<unknown>;
      expect(overGet.status).toBe(401);
      expect(overPost.status).toBe(401);
      for (const body of [overGet.body, postBody]) {
        expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect(body.errors?.[0]?.message).toContain('Authorization: Bearer <key>');
      }
    });

    it('is answered 401 UNAUTHENTICATED as a form post too, and writes nothing', async () => {
      const before = await rows();
      const mutation = `mutation { generateVideo(input: { prompt: "forged" }) { __typename } }`;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `query=${encodeURIComponent(mutation)}`,
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as GraphqlBody<unknown>).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await rows()).toBe(before);
    });

    it('still gets the schema by introspection over GET', async () => {
      expect(await getQuery('{ __schema { queryType { name } } }')).toEqual({ status: 200, body: { data: { __schema: { queryType: { name: 'Query' } } } } });
    });
  });

  describe('a request another website could have made a browser send', () => {
    it.each([
      ['a cookie', { cookie: 'session=abc' }],
      ['HTTP Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }],
    ])('with %s and no CSRF header is refused 403 CSRF_PREVENTED, naming the header to send', async (_what, headers) => {
      const { status, body } = await getQuery(LIST, headers);
      expect(status).toBe(403);
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe('CSRF_PREVENTED');
      expect(body.errors?.[0]?.message).toContain('x-graphql-yoga-csrf');
      expect(body.errors?.[0]?.message).toContain('content-type: application/json');
    });

    it('goes on with the CSRF header or a bearer key', async () => {
      expect((await getQuery(LIST, { cookie: 'session=abc', 'x-graphql-yoga-csrf': '1' })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await getQuery(LIST, { cookie: 'session=abc', authorization: `Bearer ${server.key}` })).toMatchObject({
        status: 200,
        body: { data: { generations: { edges: [] } } },
      });
    });
  });

  describe('an unknown enum value', () => {
    const STATUS_QUERY = 'query($status: [GenerationStatus!]) { generations(first: 1, status: $status) { edges { node { id } } } }';
    const ESTIMATE = 'query($input: GenerateVideoInput!) { estimateCost(input: $input) { amount } }';

    it('in a literal is refused with the allowed values and GRAPHQL_VALIDATION_FAILED', async () => {
      const status = await server.graphql('{ generations(first: 1, status: [DONE]) { edges { node { id } } } }');
      const ratio = await server.graphql('{ estimateCost(input: { prompt: "x", aspectRatio: RATIO_4_3 }) { amount } }');
      expect(status.errors).toEqual([
        expect.objectContaining({
          message: `Value "DONE" does not exist in "GenerationStatus" enum. Allowed values: ${ALL_STATUSES}.`,
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ]);
      expect(ratio.errors).toEqual([
        expect.objectContaining({
          message: `Value "RATIO_4_3" does not exist in "AspectRatio" enum. Allowed values: ${ALL_ASPECT_RATIOS}.`,
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ]);
    });

    it('written as a string literal is refused with the allowed values', async () => {
      const body = await server.graphql('{ estimateCost(input: { prompt: "x", aspectRatio: "RATIO_4_3" }) { amount } }');
      expect(body.errors?.[0]?.message).toBe(`Enum "AspectRatio" cannot represent non-enum value: "RATIO_4_3". Allowed values: ${ALL_ASPECT_RATIOS}.`);
    });

    it('in a variable is refused with the allowed values and BAD_USER_INPUT, and writes nothing', async () => {
      const before = await rows();
      const status = await server.graphql(STATUS_QUERY, { status: ['DONE'] });
      const ratio = await server.graphql(ESTIMATE, { input: { prompt: 'x', aspectRatio: 'RATIO_4_3' } });
      const generate = await server.graphql(GENERATE, { input: { prompt: 'x', aspectRatio: 'RATIO_4_3' } });
      expect(status.errors).toEqual([
        expect.objectContaining({
          message: `Variable "$status" got invalid value "DONE" at "status[0]"; Value "DONE" does not exist in "GenerationStatus" enum. Allowed values: ${ALL_STATUSES}.`,
          extensions: { code: 'BAD_USER_INPUT' },
        }),
      ]);
      for (const body of [ratio, generate]) {
        expect(body.errors).toHaveLength(1);
        expect(body.errors?.[0]?.message).toContain(`Value "RATIO_4_3" does not exist in "AspectRatio" enum. Allowed values: ${ALL_ASPECT_RATIOS}.`);
        expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      expect(await rows()).toBe(before);
    });

    it('lists the allowed values in production too, where field suggestions are hidden', async () => {
      const production = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api', NODE_ENV: 'production' });
      try {
        const body = await production.graphql('{ generations(first: 1, status: [DONE]) { edgez { node { id } } } }');
        expect(body.errors?.map((e) => e.message)).toEqual([
          `Value "DONE" does not exist in "GenerationStatus" enum. Allowed values: ${ALL_STATUSES}.`,
          'Cannot query field "edgez" on type "GenerationConnection". [Suggestion hidden]',
        ]);
      } finally {
        await production.stop();
      }
    });

    it('is answered the same way over WebSocket and SSE', async () => {
      const socket = createWsClient(server.url, { key: server.key });
      sockets.push(socket);
      const literal = '{ generations(first: 1, status: [DONE]) { edges { node { id } } } }';
      const overWs = await collectWs(socket, literal, {});
      const overSse = await collectSse(server.url, literal, {}, { key: server.key });
      for (const { results } of [overWs, overSse]) {
        expect(results.flatMap((r) => r.errors ?? []).map((e) => e.message)).toEqual([
          `Value "DONE" does not exist in "GenerationStatus" enum. Allowed values: ${ALL_STATUSES}.`,
        ]);
      }
      const variable = await collectWs(socket, STATUS_QUERY, { status: ['DONE'] });
      expect(variable.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });
  });
});
