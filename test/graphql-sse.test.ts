import { createClient, NetworkError, type Client, type ExecutionResult } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../src/auth/keys.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, WATCH, type TestGeneration } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';

type Mode = { name: string; path: string; singleConnection: boolean };
/** The graphql-sse client's modes: single connection on the protocol's path; distinct connections there and on /graphql. */
const MODES: Mode[] = [
  { name: 'single connection on /graphql/stream', path: '/graphql/stream', singleConnection: true },
  { name: 'distinct connections on /graphql/stream', path: '/graphql/stream', singleConnection: false },
  { name: 'distinct connections on /graphql', path: '/graphql', singleConnection: false },
];

/** Every result of one operation, until it completes, fails or `timeoutMs` passes. */
function run<T>(client: Client<boolean>, query: string, variables: Record<string, unknown>, timeoutMs = 20_000) {
  return new Promise<{ results: ExecutionResult<T, unknown>[]; error?: unknown; completed: boolean }>((resolve) => {
    const results: ExecutionResult<T, unknown>[] = [];
    const timer = setTimeout(() => {
      cancel();
      resolve({ results, completed: false });
    }, timeoutMs);
    const cancel = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => results.push(value),
        error: (error) => {
          clearTimeout(timer);
          resolve({ results, error, completed: false });
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ results, completed: true });
        },
      },
    );
  });
}

describe.skipIf(!hasPostgres)('the graphql-sse client', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  const clients: Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    clients.forEach((c) => c.dispose());
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const sseClient = (mode: Mode, authorization: string | undefined) => {
    const client = createClient({
      url: `${server.url}${mode.path}`,
      singleConnection: mode.singleConnection,
      headers: authorization ? { authorization } : {},
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  it.each(MODES)('runs generateVideo and follows generationStatus to SUCCEEDED ($name)', async (mode) => {
    const client = sseClient(mode, `Bearer ${server.key}`);
    const created = await run<{ generateVideo: { __typename: string; generation: TestGeneration } }>(client, GENERATE, {
      input: { prompt: `over graphql-sse, ${mode.name}`, durationSeconds: 4 },
    });
    expect(created.completed, JSON.stringify(created)).toBe(true);
    const generation = created.results[0]?.data?.generateVideo.generation;
    expect(generation?.status).toBe('QUEUED');

    const watched = await run<{ generationStatus: TestGeneration }>(client, WATCH, { id: generation!.id });
    expect(watched.completed, JSON.stringify(watched.error ?? watched.results.at(-1))).toBe(true);
    const versions = watched.results.map((r) => r.data!.generationStatus.version);
    expect(versions).toEqual(versions.map((_, i) => versions[0]! + i));
    expect(watched.results.at(-1)?.data?.generationStatus.status).toBe('SUCCEEDED');
    expect(watched.results.at(-1)?.data?.generationStatus.video?.url).toMatch(/\/videos\/.+\.mp4\?/);
  });

  it.each(MODES.filter((mode) => mode.path === '/graphql/stream'))(
    'is refused with 401 UNAUTHENTICATED and an error saying how to send the key ($name)',
    async (mode) => {
      for (const [authorization, says] of [
        [undefined, 'Authentication required: send your API key as "Authorization: Bearer <key>"'],
        ['Bearer rql_not-a-key', 'The API key is invalid or has been revoked.'],
      ] as const) {
        const refused = await run(sseClient(mode, authorization), WATCH, { id: '00000000-0000-4000-8000-000000000000' });
        expect(refused.completed).toBe(false);
        // The client reports a refused request with its status and status text.
        expect(refused.error).toBeInstanceOf(NetworkError);
        expect((refused.error as NetworkError).response?.status).toBe(401);
        expect((refused.error as NetworkError).message).toContain(`Server responded with 401: ${says}`);
      }
    },
  );

  it('answers a refused stream reservation with a GraphQL error body', async () => {
    for (const method of ['PUT', 'POST']) {
      const response = await fetch(`${server.url}/graphql/stream`, {
        method,
        headers: { accept: method === 'PUT' ? 'text/plain' : 'text/event-stream', 'content-type': 'application/json' },
        ...(method === 'POST' && { body: JSON.stringify({ query: '{ __typename }' }) }),
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as ExecutionResult;
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it("answers another key's requests with a reserved stream's token as if the stream did not exist", async () => {
    const other = await createKeyIn(database.url, { name: 'other-over-sse' });
    const reserved = await fetch(`${server.url}/graphql/stream`, { method: 'PUT', headers: { authorization: `Bearer ${server.key}` } });
    expect(reserved.status).toBe(201);
    const token = await reserved.text();
    const operate = (key: string, operationId: string) =>
      fetch(`${server.url}/graphql/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-graphql-event-stream-token': token },
        body: JSON.stringify({ query: '{ __typename }', extensions: { operationId } }),
      });
    const foreign = await operate(other.key, '1');
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as ExecutionResult).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // The key that reserved it may run operations on it (their results wait for the stream to be opened).
    expect((await operate(server.key, '2')).status).toBe(202);
  });

  it('refuses a body over the JSON limit on the SSE path before reading it', async () => {
    const response = await fetch(`${server.url}/graphql/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1024 * 1024)}` }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as ExecutionResult).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('ends a single-connection stream and its subscriptions when their key is revoked', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { name: 'revoked-over-sse' });
    const client = sseClient(MODES[0]!, `Bearer ${key}`);
    // [sim:slow] takes ten times as long: the generation is still running when the key is revoked.
    const created = await run<{ generateVideo: { generation: TestGeneration } }>(client, GENERATE, {
      input: { prompt: 'slow [sim:slow]', durationSeconds: 4 },
    });
    const id = created.results[0]!.data!.generateVideo.generation.id;
    const results: string[] = [];
    const ended = new Promise<string>((resolve) => {
      client.subscribe<{ generationStatus: TestGeneration }>(
        { query: WATCH, variables: { id } },
        {
          next: (value) => {
            results.push(value.data?.generationStatus.status ?? 'errors');
            if (results.length === 1) void revokeApiKey(dbOf(database), apiKey.name);
          },
          error: () => resolve('error'),
          complete: () => resolve('complete'),
        },
      );
    });
    expect(await ended).toBeOneOf(['complete', 'error']);
    expect(results).not.toContain('SUCCEEDED');
    // The key is refused from now on, on the same client.
    const after = await run(client, '{ __typename }', {}, 5000);
    expect(after.results.flatMap((r) => r.errors ?? []).length + (after.error ? 1 : 0)).toBeGreaterThan(0);
  });
});
