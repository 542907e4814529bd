import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

describe.skipIf(!hasPostgres)('a bucket on a service without ListMultipartUploads', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let s3: S3Server;
  let server: TestApp;

  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    s3 = await startS3Server({ listsMultipartUploads: false });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env });
  });
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    vi.unstubAllEnvs();
  });

  it('still stores videos and still deletes them at retention: cleaning partial uploads is best effort', async () => {
    const created = await server.graphql<{ generateVideo: { generation: Generation } }>(GENERATE, { input: { prompt: 'a video on a plain bucket', durationSeconds: 4 } });
    const id = created.data!.generateVideo.generation.id;
    const final = await waitFor('the video', async () => {
      const generation = (await server.graphql<{ generation: Generation }>(GET, { id })).data!.generation;
      return ['SUCCEEDED', 'FAILED'].includes(generation.status) ? generation : undefined;
    }, { timeoutMs: 20_000, intervalMs: 50 });
    expect(final.status).toBe('SUCCEEDED');
    expect(server.logs.some((line) => line.includes('could not remove partial saves'))).toBe(true);

    await database.sql`update generations set completed_at = now() - interval '40 days' where id = ${id}`;
    const later = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, VIDEO_RETENTION_DAYS: '30' });
    try {
      await waitFor('the object to be deleted', async () => !(await s3.objectKeys('videos/')).includes(`videos/${id}.mp4`));
      expect(later.logs.some((line) => line.includes('could not sweep partial saves'))).toBe(true);
      const [row] = await database.sql`select video_expired_at from generations where id = ${id}`;
      expect(row?.video_expired_at).toBeInstanceOf(Date);
    } finally {
      await later.stop();
    }
  });
});
