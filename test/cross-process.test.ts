import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, collectWs, createWsClient, GENERATE, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';

describe.skipIf(!hasPostgres)('two server processes on one Postgres', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let apiOnly: ServerProcess;
  let withWorker: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 400 });
    const env = { DATABASE_URL: database.url, ...sim.env, SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' };
    [apiOnly, withWorker] = await Promise.all([spawnServer({ ...env, ROLE: 'api' }), spawnServer({ ...env, ROLE: 'all' })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([apiOnly?.stop(), withWorker?.stop()]);
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('delivers every update of a generation created through one process to a subscriber on the other', async () => {
    const response = await fetch(`${withWorker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(withWorker.key) },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'two processes, one story', durationSeconds: 4 } } }),
    });
    const body = (await response.json()) as { data: { generateVideo: { generation: { id: string } } } };
    const id = body.data.generateVideo.generation.id;

    const client = createWsClient(apiOnly.url, { key: apiOnly.key });
    const { results, completed } = await collectWs(client, WATCH, { id }, 20_000);
    await client.dispose();

    expect(completed).toBe(true);
    const versions = results.map((r) => r.data!.generationStatus.version as number);
    const first = versions[0]!;
    expect(versions).toEqual(versions.map((_, i) => first + i));
    expect(results.at(-1)!.data!.generationStatus.status).toBe('SUCCEEDED');
    const statuses = results.map((r) => r.data!.generationStatus.status as string);
    expect(statuses).toEqual(expect.arrayContaining(['PROCESSING', 'STORING', 'SUCCEEDED']));
  });

  it('answers SIGTERM by shutting down cleanly with exit code 0', async () => {
    const extra = await spawnServer({ DATABASE_URL: database.url, ...sim.env, ROLE: 'api' });
    const code = await extra.stop('SIGTERM');
    expect(code, extra.output()).toBe(0);
    expect(extra.output()).toContain('shutting down');
  });
});
