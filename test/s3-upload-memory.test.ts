import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { paddedVideo, readSampleVideo } from './helpers/videos.js';
import { waitFor } from './helpers/wait.js';

const MiB = 1024 * 1024;
// Enough at once that holding whole files (720 MB) and holding a part each (about 17 MB each: 340 MB for 20
// in a run of 2026-12-03) are far apart, and few enough that s3rver writing them does not slow the whole suite.
const UPLOADS = 12;
const VIDEO_BYTES = 60 * MiB;

/** Resident memory of a process now, and its high-water mark, in bytes (Linux). */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * A fake upstream on loopback that serves `body` at any path in 256 KiB chunks a few ms apart, counting open
 * downloads. Bodies start once `together` downloads are open (or after 15 s), so that they all overlap.
 */
async function startSlowFileHost(body: Buffer) {
  let open = 0;
  let mostAtOnce = 0;
  let together = 1;
  let waiting: (() => void)[] = [];
  const server: Server = createServer((_req, res) => {
    open += 1;
    mostAtOnce = Math.max(mostAtOnce, open);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) });
    const allThere = new Promise<void>((resolve) => waiting.push(resolve));
    if (open >= together) for (const release of waiting.splice(0)) release();
    void (async () => {
      await Promise.race([allThere, sleep(15_000)]);
      for (let offset = 0; offset < body.length && !res.destroyed; offset += 256 * 1024) {
        if (!res.write(body.subarray(offset, offset + 256 * 1024))) await new Promise((resolve) => res.once('drain', resolve));
        await sleep(4);
      }
      res.end();
    })();
    res.once('close', () => (open -= 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/result.mp4`,
    host: `127.0.0.1:${port}`,
    mostAtOnce: () => mostAtOnce,
    /** How many downloads the next bodies wait for. */
    startTogether(count: number) {
      together = count;
      waiting = [];
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!hasPostgres || process.platform !== 'linux')(`${UPLOADS} videos of ${VIDEO_BYTES / MiB} MB streaming into a bucket at once`, () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let s3: S3Server;
  let host: Awaited<ReturnType<typeof startSlowFileHost>>;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 1000 });
    s3 = await startS3Server();
    host = await startSlowFileHost(paddedVideo(await readSampleVideo(), VIDEO_BYTES));
    // Its own process, so that its memory is measured alone.
    server = await spawnServer({
      DATABASE_URL: database.url,
      ...sim.env,
      ...s3.env,
      SEGMIND_OUTPUT_HOSTS: `${sim.env.SEGMIND_OUTPUT_HOSTS},${host.host}`,
      WORKER_CONCURRENCY: String(UPLOADS),
      SEGMIND_POLL_MIN_MS: '100',
      SEGMIND_POLL_MAX_MS: '300',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await host?.stop();
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('keeps the server’s memory far below the videos’ size: each upload holds about a part, never the file', { timeout: 120_000 }, async () => {
    const gql = async <T,>(query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(server.key) },
        body: JSON.stringify({ query, variables }),
      });
      return ((await response.json()) as { data: T }).data;
    };
    const generateAll = async (count: number, prompt: string) => {
      const ids = await Promise.all(
        Array.from({ length: count }, async (_, i) => (await gql<{ generateVideo: { generation: Generation } }>(GENERATE, { input: { prompt: `${prompt} ${i}`, durationSeconds: 4 } })).generateVideo.generation.id),
      );
      return Promise.all(
        ids.map((id) =>
          waitFor(
            `generation ${id} to end`,
            async () => {
              const { generation } = await gql<{ generation: Generation }>(GET, { id });
              return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(generation.status) ? generation : undefined;
            },
            { timeoutMs: 100_000, intervalMs: 250 },
          ),
        ),
      );
    };
    const result = JSON.stringify({ status: 'COMPLETED', output: host.url, video: { url: host.url, content_type: 'video/mp4' }, metrics: {} });
    // One upload first, so that what grows afterwards is the concurrent uploads' doing, not the first use of the SDK.
    sim.simulator.injectFault({ endpoint: 'result', status: 200, body: result, times: 1 });
    expect((await generateAll(1, 'a warm-up upload'))[0]!.status).toBe('SUCCEEDED');
    const pid = server.process.pid!;
    const before = await memoryOf(pid);

    sim.simulator.injectFault({ endpoint: 'result', status: 200, body: result, times: UPLOADS });
    host.startTogether(UPLOADS);
    const finals = await generateAll(UPLOADS, 'one of many large videos');
    const after = await memoryOf(pid);

    expect(finals.map((g) => g.status)).toEqual(Array(UPLOADS).fill('SUCCEEDED'));
    expect(finals.every((g) => g.video?.sizeBytes === VIDEO_BYTES)).toBe(true);
    expect(host.mostAtOnce()).toBe(UPLOADS);
    expect(await s3.pendingUploads()).toEqual([]);
    const growthMb = (after.peak - before.peak) / MiB;
    console.log(
      `[s3-upload-memory] ${UPLOADS} × ${VIDEO_BYTES / MiB} MB at once: RSS ${(before.rss / MiB).toFixed(0)} MB before, ` +
        `peak ${(after.peak / MiB).toFixed(0)} MB during (grew ${growthMb.toFixed(0)} MB), RSS ${(after.rss / MiB).toFixed(0)} MB after`,
    );
    // Buffering the videos would take UPLOADS × 60 MB; what each upload holds (a 5 MB part being sent, the next being filled,
    // the probe’s 4 MB range cache) comes to about 15 MB, whatever the size of the video.
    expect(growthMb, 'peak RSS growth in MB').toBeLessThan((UPLOADS * VIDEO_BYTES) / MiB / 2);
  });
});
