import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectSse, collectWs, createWsClient, GENERATE, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';

describe.skipIf(!hasPostgres)('a generation from mutation to stored video', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('streams every status over graphql-ws, in order and once each, and completes with a playable video', async () => {
    const created = await server.graphql(GENERATE, { input: { prompt: 'a red kite over the sea', durationSeconds: 4 } });
    const generation = created.data?.generateVideo.generation;
    expect(generation.status).toBe('QUEUED');

    const client = createWsClient(server.url, { key: server.key });
    const { results, completed } = await collectWs(client, WATCH, { id: generation.id });
    await client.dispose();

    expect(completed).toBe(true);
    const versions = results.map((r) => r.data!.generationStatus.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    const statuses = [...new Set(results.map((r) => r.data!.generationStatus.status as string))];
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    expect(statuses).toContain('STORING');
    const final = results.at(-1)!.data!.generationStatus;
    expect(final.video.contentType).toBe('video/mp4');
    const video = await fetch(final.video.url);
    expect(video.status).toBe(200);
    expect(Number(video.headers.get('content-length'))).toBe(final.video.sizeBytes);
    expect(Buffer.from(await video.arrayBuffer()).subarray(4, 8).toString()).toBe('ftyp');
    expect(sim.simulator.submissions()).toBe(1);
  });

  it('streams the same generation over SSE', async () => {
    const created = await server.graphql(GENERATE, { input: { prompt: 'waves on rocks', durationSeconds: 6, generateAudio: false } });
    const id = created.data?.generateVideo.generation.id as string;
    const { results, completed } = await collectSse(server.url, WATCH, { id }, { key: server.key });
    expect(completed).toBe(true);
    expect(results.at(-1)!.data!.generationStatus.status).toBe('SUCCEEDED');
  });
});
