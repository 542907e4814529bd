import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { paddedVideo, readSampleVideo } from './helpers/videos.js';
import { waitFor } from './helpers/wait.js';

const MiB = 1024 * 1024;
const DEADLINE_MS = 5000;

/** A fake upstream on loopback that announces a 20 MB video, sends its first 7 MB (more than a part), then stalls. */
async function startStallingHost(video: Buffer) {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(video.length) });
    res.write(video.subarray(0, 7 * MiB));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stalls.mp4`,
    host: `127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!hasPostgres)('a video stopped while it streams into the bucket', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let s3: S3Server;
  let host: Awaited<ReturnType<typeof startStallingHost>>;
  let server: TestApp;

  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    s3 = await startS3Server();
    host = await startStallingHost(paddedVideo(await readSampleVideo(), 20 * MiB));
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      ...s3.env,
      SEGMIND_OUTPUT_HOSTS: `${sim.env.SEGMIND_OUTPUT_HOSTS},${host.host}`,
      GENERATION_DEADLINE_MS: String(DEADLINE_MS),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await host?.stop();
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    vi.unstubAllEnvs();
  });
  beforeEach(() => {
    sim.simulator.reset();
    const result = JSON.stringify({ status: 'COMPLETED', output: host.url, video: { url: host.url, content_type: 'video/mp4' }, metrics: {} });
    sim.simulator.injectFault({ endpoint: 'result', status: 200, body: result });
  });

  /** Starts a generation and waits until the first part of its video is in the bucket. */
  async function uploading(prompt: string): Promise<string> {
    const created = await server.graphql<{ generateVideo: { generation: Generation } }>(GENERATE, { input: { prompt, durationSeconds: 4 } });
    const id = created.data!.generateVideo.generation.id;
    await waitFor('a part of the video to be uploaded', () => s3.requests.some((r) => r.startsWith(`PUT /${s3.bucket}/videos/${id}.mp4?partNumber`)));
    expect(await s3.pendingUploads()).toEqual([{ key: `videos/${id}.mp4`, uploadId: expect.any(String) as unknown }]);
    return id;
  }
  const statusOf = async (id: string) => (await server.graphql<{ generation: Generation }>(GET, { id })).data!.generation;

  it('aborts the multipart upload when the generation is canceled, leaving no upload pending and no object', async () => {
    const id = await uploading('a video canceled half-way into the bucket');
    const canceled = await server.graphql(CANCEL, { id });
    expect(canceled.data?.cancelGeneration.__typename).toBe('CancelGenerationSuccess');
    await waitFor('the worker to let go', () => server.app.worker!.inFlight === 0, { timeoutMs: 5000 });
    expect((await statusOf(id)).status).toBe('CANCELED');
    // The save returns only once the bucket has dropped the upload.
    expect(await s3.pendingUploads()).toEqual([]);
    expect(s3.requests).toContain(`DELETE /${s3.bucket}/videos/${id}.mp4?uploadId`);
    expect(await s3.objectKeys('videos/')).not.toContain(`videos/${id}.mp4`);
  });

  it('aborts the multipart upload at the generation’s deadline, which fails it with TIMEOUT', { timeout: 20_000 }, async () => {
    const id = await uploading('a video that runs out of time in the bucket');
    const final = await waitFor('the deadline', async () => {
      const generation = await statusOf(id);
      return generation.status === 'FAILED' ? generation : undefined;
    }, { timeoutMs: DEADLINE_MS + 5000, intervalMs: 100 });
    expect(final.error?.code).toBe('TIMEOUT');
    expect(await s3.pendingUploads()).toEqual([]);
    expect(await s3.objectKeys('videos/')).not.toContain(`videos/${id}.mp4`);
  });
});
