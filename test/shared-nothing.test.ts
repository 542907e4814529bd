import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { fetchSimulatedVideo } from './helpers/videos.js';
import { waitFor } from './helpers/wait.js';

describe.skipIf(!hasPostgres)('an api process and a worker process sharing only Postgres and a bucket', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let s3: S3Server;
  let api: ServerProcess;
  let worker: ServerProcess;
  const dataDirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 400 });
    s3 = await startS3Server();
    const env = { DATABASE_URL: database.url, ...sim.env, ...s3.env, SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' };
    // A data directory of its own for each, as on two machines.
    dataDirs.push(await mkdtemp(path.join(os.tmpdir(), 'reelql-api-')), await mkdtemp(path.join(os.tmpdir(), 'reelql-worker-')));
    [api, worker] = await Promise.all([
      spawnServer({ ...env, ROLE: 'api', DATA_DIR: dataDirs[0]! }),
      spawnServer({ ...env, ROLE: 'worker', DATA_DIR: dataDirs[1]! }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('takes a generation from generateVideo to a video downloaded through the api', async () => {
    const gql = async <T,>(query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(api.key) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data: T };
    };
    const created = await gql<{ generateVideo: { generation: Generation } }>(GENERATE, {
      input: { prompt: 'two machines, one bucket', durationSeconds: 4 },
    });
    const id = created.data.generateVideo.generation.id;
    const final = await waitFor(
      'the generation to succeed',
      async () => {
        const { generation } = (await gql<{ generation: Generation }>(GET, { id })).data;
        return generation.status === 'SUCCEEDED' || generation.status === 'FAILED' ? generation : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(final.status, JSON.stringify(final.error)).toBe('SUCCEEDED');

    const link = new URL(final.video!.url);
    expect(link.origin).toBe(api.url);
    const download = await fetch(link);
    expect(download.status).toBe(200);
    const clip = await fetchSimulatedVideo(sim.simulator.url, sim.simulator.jobs()[0]!.requestId);
    expect(Buffer.from(await download.arrayBuffer()).equals(clip)).toBe(true);

    // The worker wrote the object to the bucket, and neither process kept a video on its own disk.
    expect((await s3.objectKeys('videos/')).sort()).toEqual([`videos/${id}.last.jpg`, `videos/${id}.mp4`, `videos/${id}.poster.jpg`]);
    for (const dir of dataDirs) {
      const videos = path.join(dir, 'videos');
      expect(existsSync(videos) ? await readdir(videos) : [], dir).toEqual([]);
    }
    expect(worker.output()).toContain('storage checked');
    expect(api.output()).toContain('storage checked');
  });
});
