import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { GENERATE_STORY, GET_STORY, shots } from './helpers/stories.js';
import { waitFor } from './helpers/wait.js';

const LEASE_MS = 1500;

interface ShotRow {
  story_shot: number;
  status: string;
  lease_owner: string | null;
  segmind_request_id: string | null;
}

/** Worker ids are `<host>:<pid>:<random>`. */
const ownedBy = (row: ShotRow | undefined, worker: ServerProcess) => row?.lease_owner?.includes(`:${worker.process.pid}:`) ?? false;

describe.skipIf(!hasPostgres)('a worker killed with SIGKILL in the middle of a story', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let api: TestApp;
  let dataDir: string;
  const workers: ServerProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-story-crash-'));
    database = await createTestDatabase();
    // Long enough that the second shot is still at the simulator when its worker is killed.
    sim = await startSimulator({ processingMs: 4000 });
    api = await startTestApp({ ROLE: 'api', DATABASE_URL: database.url, DATA_DIR: dataDir, ...sim.env });
  });
  // Each test starts its own workers: one left from an earlier test would take the work from the one to be killed.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });
  afterAll(async () => {
    await api?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function startWorker(env: Record<string, string> = {}): Promise<ServerProcess> {
    const worker = await spawnServer({
      ...env,
      ROLE: 'worker',
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      ...sim.env,
      LEASE_MS: String(LEASE_MS),
      SEGMIND_POLL_MIN_MS: '50',
      SEGMIND_POLL_MAX_MS: '200',
    });
    workers.push(worker);
    return worker;
  }

  const shotRows = (storyId: string) =>
    database.sql<ShotRow[]>`select story_shot, status, lease_owner, segmind_request_id from generations
      where story_id = ${storyId} order by story_shot`;

  it('resumes it on another worker: the story SUCCEEDS and no shot is submitted twice', async () => {
    const workerA = await startWorker();
    const asked = (await api.graphql(GENERATE_STORY, { input: { shots: shots(3, 4), resolution: 'RES_720P' } })).data!.generateStory;
    expect(asked.__typename).toBe('GenerateStorySuccess');
    const [latest] = await database.sql<{ id: string }[]>`select id from stories order by created_at desc limit 1`;
    const storyId = latest!.id;

    // A dies as soon as it has the second shot at the simulator; B starts after, and resumes it by polling.
    await waitFor(
      'worker A to have the second shot at the simulator',
      async () => {
        const second = (await shotRows(storyId))[1];
        return second?.segmind_request_id !== null && second?.status === 'PROCESSING' && ownedBy(second, workerA);
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const atKill = (await shotRows(storyId))[1]!;
    expect(ownedBy(atKill, workerA), JSON.stringify(atKill)).toBe(true);
    expect(await workerA.stop('SIGKILL')).toBeNull();
    const workerB = await startWorker();
    expect(sim.simulator.submissions()).toBe(2);

    const story = await waitFor(
      'the story to end on worker B',
      async () => {
        const s = (await api.graphql(GET_STORY, { id: asked.story.id })).data?.story;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
      },
      { timeoutMs: 45_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- worker B:\n${workerB.output()}`);
    });
    expect(story.status, JSON.stringify(story.error)).toBe('SUCCEEDED');
    expect(story.video.durationSeconds).toBeGreaterThan(11);
    // Every shot went to Segmind exactly once: the killed worker's shot was resumed by polling, not sent again.
    expect(sim.simulator.submissions()).toBe(3);
    for (const n of [1, 2, 3]) expect(sim.simulator.jobs().filter((job) => job.input.prompt === `shot ${n}`)).toHaveLength(1);
    expect(story.shots.map((s: { attempts: number }) => s.attempts)).toEqual([1, 1, 1]);
    expect((await shotRows(storyId))[1]!.segmind_request_id).toBe(atKill.segmind_request_id);
  }, 90_000);

  it('stitches again on another worker when the one stitching dies, and the story SUCCEEDS without sending any shot again', async () => {
    // An ffmpeg that takes its time over the join only, so the kill lands inside the stitch.
    const slowFfmpeg = path.join(dataDir, 'slow-concat-ffmpeg.sh');
    await writeFile(slowFfmpeg, `#!/bin/sh\ncase "$*" in *concat*) sleep 20;; esac\nexec ${ffmpegInstaller.path} "$@"\n`);
    await chmod(slowFfmpeg, 0o755);
    sim.simulator.reset();
    const workerA = await startWorker({ FFMPEG_PATH: slowFfmpeg });
    const asked = (await api.graphql(GENERATE_STORY, { input: { shots: shots(2, 4), resolution: 'RES_720P' } })).data!.generateStory;
    expect(asked.__typename).toBe('GenerateStorySuccess');
    const uuid = Buffer.from(asked.story.id as string, 'base64').toString().slice('Story:'.length);
    const storyRow = async () =>
      (await database.sql<{ status: string; lease_owner: string | null }[]>`select status, lease_owner from stories where id = ${uuid}`)[0];
    // Worker B starts only once A is stitching, so A is the one that claims the stitch; the join is slow enough
    // that A is still in it when B is up and A is killed.
    await waitFor(
      'worker A to be stitching',
      async () => {
        const row = await storyRow();
        return row?.status === 'STORING' && (row.lease_owner?.includes(`:${workerA.process.pid}:`) ?? false);
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const workerB = await startWorker();
    expect(await workerA.stop('SIGKILL')).toBeNull();
    const story = await waitFor(
      'the story to end on worker B',
      async () => {
        const s = (await api.graphql(GET_STORY, { id: asked.story.id })).data?.story;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
      },
      { timeoutMs: 45_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- worker B:\n${workerB.output()}`);
    });
    expect(story.status, JSON.stringify(story.error)).toBe('SUCCEEDED');
    expect(story.video.durationSeconds).toBeGreaterThan(7);
    expect(workerB.output()).toMatch(/story stitched/);
    expect(sim.simulator.submissions()).toBe(2);
  }, 90_000);
});
