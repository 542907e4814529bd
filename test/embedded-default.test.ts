import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient, GENERATE, WATCH } from './helpers/clients.js';

describe('the embedded default: PGlite and the built-in simulator, no configuration', () => {
  let server: TestApp;

  beforeAll(async () => {
    server = await startTestApp({ SIMULATOR_PROCESSING_MS: '300' });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('runs a generation to SUCCEEDED with a playable video, marked as simulated', async () => {
    expect(server.app.database.kind).toBe('pglite');
    expect(existsSync(path.join(server.dataDir, 'pglite'))).toBe(true);
    expect(server.logs.join('')).toContain('built-in Segmind simulator');

    const created = await server.graphql(GENERATE, { input: { prompt: 'a lighthouse at dusk', durationSeconds: 4 } });
    const generation = created.data?.generateVideo.generation;
    expect(generation.provider).toBe('SIMULATOR');

    const client = createWsClient(server.url, { key: server.key });
    const { results, completed } = await collectWs(client, WATCH, { id: generation.id }, 20_000);
    await client.dispose();
    expect(completed).toBe(true);
    const final = results.at(-1)!.data!.generationStatus;
    expect(final.status).toBe('SUCCEEDED');
    // A 300 ms job may be over by the worker's first poll, so `processing` may not be on the timeline.
    const types = final.events.map((e: { type: string }) => e.type).filter((type: string) => type !== 'processing');
    expect(types).toEqual(['created', 'submitted', 'storing', 'succeeded']);

    const video = await fetch(final.video.url, { headers: { range: 'bytes=0-7' } });
    expect(video.status).toBe(206);
    expect(Buffer.from(await video.arrayBuffer()).subarray(4, 8).toString()).toBe('ftyp');
  });

  it('serves GraphiQL at /graphql to a browser', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('reelql');
  });
});
