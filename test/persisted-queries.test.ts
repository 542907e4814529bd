import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { createPersistedQueryStore } from '../src/server/persisted-queries.js';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { GENERATE } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';

const sha256 = (query: string) => createHash('sha256').update(query).digest('hex');
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

/** One request as the server received it: how it was sent and whether it carried the query text. */
interface Sent {
  method: string;
  withQuery: boolean;
  hash: string | undefined;
}

/** A fetch that notes what each request carried, for an Apollo link to send through. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = init?.method ?? 'GET';
    const params =
      method === 'GET'
        ? { query: url.searchParams.get('query'), extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}') as Record<string, any> }
        : (JSON.parse(init?.body as string) as { query?: string; extensions?: Record<string, any> });
    sent.push({ method, withQuery: typeof params.query === 'string', hash: params.extensions?.persistedQuery?.sha256Hash });
    return fetch(input, init);
  };
}

describe.skipIf(!hasPostgres)('automatic persisted queries', () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    const body = await server.graphql(GENERATE, { input: { prompt: 'persisted', durationSeconds: 4 } });
    expect(body.data?.generateVideo?.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  /** Sends one APQ request as JSON (POST) or in the URL (GET), with the key unless `headers` replace it. */
  async function send(method: 'GET' | 'POST', params: { query?: string; extensions: Record<string, unknown> }, headers?: Record<string, string>) {
    const auth = headers ?? { authorization: `Bearer ${server.key}` };
    const url = new URL(`${server.url}/graphql`);
    if (method === 'GET') {
      if (params.query) url.searchParams.set('query', params.query);
      url.searchParams.set('extensions', JSON.stringify(params.extensions));
    }
    const response = await fetch(url, {
      method,
      headers: { accept: 'application/graphql-response+json', ...(method === 'POST' && { 'content-type': 'application/json' }), ...auth },
      ...(method === 'POST' && { body: JSON.stringify(params) }),
    });
    return { status: response.status, body: (await response.json()) as GraphqlBody<Record<string, any>> };
  }

  it.each([{ useGETForHashedQueries: false }, { useGETForHashedQueries: true }])(
    'lets Apollo Client register a query after PERSISTED_QUERY_NOT_FOUND and then send its hash alone (%o)',
    async (options) => {
      const sent: Sent[] = [];
      const client = new ApolloClient({
        cache: new InMemoryCache(),
        link: new PersistedQueryLink({ sha256, ...options }).concat(
          new HttpLink({ uri: `${server.url}/graphql`, headers: { authorization: `Bearer ${server.key}` }, fetch: recordingFetch(sent) }),
        ),
      });
      // A query of its own per case, so the first case's registration does not answer the second's first request.
      const query = gql`query Recent${options.useGETForHashedQueries ? 'ByGet' : 'ByPost'} { generations(first: 5) { edges { node { id prompt } } } }`;
      const first = await client.query({ query, fetchPolicy: 'network-only' });
      const second = await client.query({ query, fetchPolicy: 'network-only' });
      for (const result of [first, second]) {
        expect(result.error).toBeUndefined();
        expect((result.data as { generations: { edges: { node: { prompt: string } }[] } }).generations.edges.map((e) => e.node.prompt)).toEqual(['persisted']);
      }
      const hashed = options.useGETForHashedQueries ? 'GET' : 'POST';
      expect(sent.map(({ method, withQuery }) => ({ method, withQuery }))).toEqual([
        { method: hashed, withQuery: false },
        { method: 'POST', withQuery: true },
        { method: hashed, withQuery: false },
      ]);
      expect(new Set(sent.map((s) => s.hash)).size).toBe(1);
      client.stop();
    },
  );

  it.each(['GET', 'POST'] as const)('answers an unknown hash over %s with PERSISTED_QUERY_NOT_FOUND, then the registered query by its hash', async (method) => {
    const query = `{ generations(first: 1) { edges { node { prompt } } } } # ${method}`;
    const hash = sha256(query);
    const unknown = await send(method, { extensions: persisted(hash) });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
    // Registering is a POST with the query (Apollo's link does the same over GET only for hash-only requests).
    const registered = await send('POST', { query, extensions: persisted(hash) });
    expect(registered.body.data?.generations.edges[0].node.prompt).toBe('persisted');
    const byHash = await send(method, { extensions: persisted(hash) });
    expect(byHash).toEqual({ status: 200, body: registered.body });
  });

  it('refuses a query whose hash does not match it, and keeps nothing under that hash', async () => {
    const query = '{ generations(first: 1) { edges { node { id } } } }';
    const wrong = sha256(`${query} `);
    const mismatch = await send('POST', { query, extensions: persisted(wrong) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toEqual({ errors: [{ message: 'PersistedQueryMismatch', extensions: { code: 'PERSISTED_QUERY_MISMATCH' } }] });
    expect((await send('POST', { extensions: persisted(wrong) })).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('holds a persisted query to the key check and every query limit, as when it is sent in full', async () => {
    const list = '{ generations(first: 1) { edges { node { id } } } } # auth';
    await send('POST', { query: list, extensions: persisted(sha256(list)) });
    const anonymous = await send('POST', { extensions: persisted(sha256(list)) }, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // Valid fields, but more tokens than an operation may have: small enough to be kept, so the hash-only
    // request restores it, and the limit refuses it again.
    const long = `{ generations(first: 1) { edges { node { ${'id '.repeat(DEFAULTS.limits.queryTokens.default)}} } } }`;
    for (const request of [{ query: long, extensions: persisted(sha256(long)) }, { extensions: persisted(sha256(long)) }]) {
      const refused = await send('POST', request);
      expect(refused.body.data ?? null, JSON.stringify(refused.body)).toBeNull();
      expect(refused.body.errors?.map((e) => e.extensions?.code), JSON.stringify(refused.body)).toEqual(['QUERY_TOO_COMPLEX']);
    }
  });

  it('does not keep a query longer than the store allows, but still answers it', async () => {
    const limit = DEFAULTS.limits.persistedQueryBytes.default;
    const query = `{ generations(first: 1) { edges { node { id } } } } # ${'x'.repeat(limit)}`;
    const hash = sha256(query);
    const sentInFull = await send('POST', { query, extensions: persisted(hash) });
    expect(sentInFull.body.data?.generations.edges).toHaveLength(1);
    expect((await send('POST', { extensions: persisted(hash) })).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('the persisted query store', () => {
  it('keeps at most its entry count, dropping the least recently used first', async () => {
    const store = createPersistedQueryStore({ persistedQueries: 2, persistedQueryBytes: 100 });
    await store.set('a', '{ a }');
    await store.set('b', '{ b }');
    expect(await store.get('a')).toBe('{ a }');
    await store.set('c', '{ c }');
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual(['{ a }', undefined, '{ c }']);
  });

  it('keeps no query over its byte limit, counting UTF-8 bytes', async () => {
    const store = createPersistedQueryStore({ persistedQueries: 10, persistedQueryBytes: 8 });
    await store.set('ascii', '{ abcd }');
    await store.set('wide', '{ é€ }');
    expect([await store.get('ascii'), await store.get('wide')]).toEqual(['{ abcd }', undefined]);
  });
});
