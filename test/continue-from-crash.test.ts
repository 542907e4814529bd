import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

const LEASE_MS = 1500;
const GET = `query Get($id: ID!) { generation(id: $id) { id status image attempts error { code message } video { lastFrameUrl } } }`;

interface Generation {
  id: string;
  status: string;
  image: string | null;
  attempts: number;
  error: { code: string; message: string } | null;
}

describe.skipIf(!hasPostgres)('a worker killed with SIGKILL while it uploads a continuation’s first frame', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let proxy: RecordingProxy;
  let api: TestApp;
  let dataDir: string;
  const workers: ServerProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-continue-crash-'));
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    // Uploads go through a proxy that counts them, so the test knows when worker A is inside the upload.
    proxy = await startRecordingProxy(sim.simulator.url);
    api = await startTestApp({ ROLE: 'api', DATABASE_URL: database.url, DATA_DIR: dataDir, ...sim.env });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await api?.stop();
    await proxy?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const startWorker = async () => {
    const worker = await spawnServer({
      ROLE: 'worker',
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      ...sim.env,
      SEGMIND_UPLOAD_URL: `${proxy.url}/upload-asset`,
      LEASE_MS: String(LEASE_MS),
      SEGMIND_POLL_MIN_MS: '50',
      SEGMIND_POLL_MAX_MS: '200',
    });
    workers.push(worker);
    return worker;
  };

  const generate = async (input: Record<string, unknown>) => {
    const body = await api.graphql(GENERATE, { input });
    const id = body.data?.generateVideo.generation?.id as string | undefined;
    expect(id, JSON.stringify(body)).toBeTruthy();
    return id!;
  };

  const final = (id: string) =>
    waitFor(
      `${id} to be final`,
      async () => {
        const generation = (await api.graphql<{ generation: Generation }>(GET, { id })).data?.generation;
        return generation && ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(generation.status) ? generation : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );

  it('uploads again from the next worker and submits only once, with the frame as image', async () => {
    const workerA = await startWorker();
    const sourceId = await generate({ prompt: 'a harbour at dawn', durationSeconds: 4 });
    expect((await final(sourceId)).status).toBe('SUCCEEDED');

    // Worker A's upload never gets an answer; it dies inside it.
    sim.simulator.injectFault({ endpoint: 'upload', hang: true });
    const id = await generate({ prompt: 'the boats leave', continueFrom: sourceId, durationSeconds: 4 });
    const [workerB] = await Promise.all([
      startWorker(),
      waitFor('worker A to be inside the upload', () => proxy.count('POST', /^\/upload-asset/) === 1, { timeoutMs: 15_000 }),
    ]);
    const [atKill] = await database.sql<{ image: string | null; status: string; lease_owner: string | null }[]>`
      select image, status, lease_owner from generations where id = ${id}`;
    expect(atKill).toMatchObject({ image: null, status: 'QUEUED' });
    expect(atKill?.lease_owner).toContain(`:${workerA.process.pid}:`);
    await workerA.stop('SIGKILL');

    const done = await final(id).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- worker B:\n${workerB.output()}`);
    });
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(proxy.count('POST', /^\/upload-asset/)).toBe(2);
    // The hung upload stored nothing; the one that did is the image Segmind got, in the only submit.
    const [upload] = sim.simulator.uploads();
    expect(sim.simulator.uploads()).toHaveLength(1);
    expect(done.image).toBe(upload!.url);
    const jobs = sim.simulator.jobs().filter((job) => job.input.prompt === 'the boats leave');
    expect(jobs.map((job) => job.input.image)).toEqual([upload!.url]);
    expect(done.attempts).toBe(1);
  });
});
