import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { canRunBrowser, collectPageErrors, launchBrowser } from './helpers/browser.js';
import { GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

describe.skipIf(!hasPostgres || !canRunBrowser)('a video in a bucket, played by a real browser', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let s3: S3Server;
  const apps: Partial<Record<'redirect' | 'proxy', TestApp>> = {};
  let browser: Browser;
  let id: string;

  beforeAll(async () => {
    // The SDK's default credential chain reads the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    s3 = await startS3Server();
    apps.redirect = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, S3_SERVE: 'redirect' });
    apps.proxy = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, S3_SERVE: 'proxy' });
    const created = await apps.redirect.graphql<{ generateVideo: { generation: Generation } }>(GENERATE, {
      input: { prompt: 'a video to seek through', durationSeconds: 4 },
    });
    id = created.data!.generateVideo.generation.id;
    await waitFor('the video', async () => (await apps.redirect!.graphql<{ generation: Generation }>(GET, { id })).data?.generation.status === 'SUCCEEDED', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await apps.redirect?.stop();
    await apps.proxy?.stop();
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    vi.unstubAllEnvs();
  });

  it.each(['redirect', 'proxy'] as const)('plays a plain <video src> and seeks in it with S3_SERVE=%s', async (mode) => {
    const app = apps[mode]!;
    const url = (await app.graphql<{ generation: Generation }>(GET, { id })).data!.generation.video!.url;
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const hosts = new Set<string>();
    page.on('request', (request) => void hosts.add(new URL(request.url()).origin));
    try {
      await page.setContent(`<video id="v" src="${url}" muted preload="auto"></video>`);
      await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#v')!.readyState >= 1, undefined, { timeout: 10_000 });
      const after = await page.evaluate(
        () =>
          new Promise<{ time: number; error: number | null; readyState: number }>((resolve) => {
            const video = document.querySelector<HTMLVideoElement>('#v')!;
            video.addEventListener('seeked', () => resolve({ time: video.currentTime, error: video.error?.code ?? null, readyState: video.readyState }), {
              once: true,
            });
            video.currentTime = 1.5;
          }),
      );
      expect(after.error).toBeNull();
      expect(after.time).toBeCloseTo(1.5, 1);
      expect(after.readyState).toBeGreaterThanOrEqual(2);
      // Redirected, the browser fetched the bytes from the bucket; proxied, only from this server.
      if (mode === 'redirect') expect([...hosts]).toContain(s3.endpoint);
      else expect([...hosts]).not.toContain(s3.endpoint);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
