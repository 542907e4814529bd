import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, GET, GET_WITH_EVENT_TIMES, type TestGeneration as Generation } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer } from './helpers/process.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';
import { startSimulator } from './helpers/simulator.js';
import { fetchSimulatedVideo } from './helpers/videos.js';
import { waitFor } from './helpers/wait.js';

type Simulator = Awaited<ReturnType<typeof startSimulator>>;
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];

async function generateToEnd(server: TestApp, prompt: string, timeoutMs = 20_000): Promise<Generation> {
  const created = await server.graphql<{ generateVideo: { generation: Generation } }>(GENERATE, { input: { prompt, durationSeconds: 4 } });
  const id = created.data?.generateVideo.generation.id;
  expect(id, JSON.stringify(created)).toBeDefined();
  return waitFor(
    `generation ${id} to be final`,
    async () => {
      const generation = (await server.graphql<{ generation: Generation }>(GET, { id })).data?.generation;
      return generation && FINAL.includes(generation.status) ? generation : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** Milliseconds from the STORING event (Segmind reported the job done) to the SUCCEEDED one. */
async function storingToSucceededMs(server: TestApp, id: string): Promise<number> {
  const body = await server.graphql<{ generation: { events: { status: string; createdAt: string }[] } }>(GET_WITH_EVENT_TIMES, { id });
  const events = body.data!.generation.events;
  const at = (status: string) => Date.parse(events.find((event) => event.status === status)!.createdAt);
  return at('SUCCEEDED') - at('STORING');
}

/** The SDK's default credential chain reads the environment: s3rver's account, for the servers in this process. */
function useS3rverCredentials(): void {
  beforeAll(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
  });
  afterAll(() => void vi.unstubAllEnvs());
}

describe.skipIf(!hasPostgres)('videos kept in an S3 bucket', () => {
  useS3rverCredentials();
  let database: TestDatabase;
  let sim: Simulator;
  let s3: S3Server;
  let redirecting: TestApp;
  let sample: Buffer;
  let video: Generation;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    s3 = await startS3Server();
    redirecting = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env });
    video = await generateToEnd(redirecting, 'a harbour at dawn, stored in a bucket');
    // What the bucket must hold: the clip the simulator rendered for this job.
    sample = await fetchSimulatedVideo(sim.simulator.url, sim.simulator.jobs()[0]!.requestId);
  });
  afterAll(async () => {
    console.log(`[s3-serving] Segmind done → SUCCEEDED (${sample?.length}-byte clip, stills included): ${JSON.stringify(timings)} ms`);
    await redirecting?.stop();
    await s3?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('stores the video as an object under the prefix, verified from the bucket, and nothing on local disk', async () => {
    expect(video.status).toBe('SUCCEEDED');
    expect(video.video).toEqual({ url: expect.any(String) as unknown, contentType: 'video/mp4', sizeBytes: sample.length });
    expect(await s3.objectKeys('videos/')).toEqual(
      expect.arrayContaining([`videos/${video.id}.mp4`, `videos/${video.id}.poster.jpg`, `videos/${video.id}.last.jpg`]),
    );
    expect(existsSync(path.join(redirecting.dataDir, 'videos'))).toBe(false);
    expect(redirecting.logs.some((line) => line.includes('storage checked') && line.includes(`bucket ${s3.bucket}`))).toBe(true);
    timings.s3 = await storingToSucceededMs(redirecting, video.id);
  });

  it('keeps video.url on this server, and redirects a valid link to a presigned GET that expires within a minute', async () => {
    const link = new URL(video.video!.url);
    expect(link.origin).toBe(redirecting.url);
    expect(link.pathname).toBe(`/videos/${video.id}.mp4`);
    const response = await fetch(link, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(s3.endpoint);
    expect(location.pathname).toBe(`/${s3.bucket}/videos/${video.id}.mp4`);
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(60);

    const followed = await fetch(link);
    expect(followed.status).toBe(200);
    expect(Buffer.from(await followed.arrayBuffer()).equals(sample)).toBe(true);
    const ranged = await fetch(link, { headers: { range: 'bytes=100-1099' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(sample.subarray(100, 1100))).toBe(true);
  });

  it('redirects a poster link to the bucket, which serves it as a JPEG', async () => {
    const { data } = await redirecting.graphql<{ generation: { video: { posterUrl: string } } }>(
      `query ($id: ID!) { generation(id: $id) { video { posterUrl } } }`,
      { id: video.id },
    );
    const response = await fetch(data!.generation.video.posterUrl, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).pathname).toBe(`/${s3.bucket}/videos/${video.id}.poster.jpg`);
    const followed = await fetch(data!.generation.video.posterUrl);
    expect(followed.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await followed.arrayBuffer()).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('checks the token before redirecting: a tampered or missing one gets 403 and no presigned URL', async () => {
    const link = new URL(video.video!.url);
    link.searchParams.set('token', 'x'.repeat(43));
    for (const url of [link.href, `${redirecting.url}/videos/${video.id}.mp4`]) {
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  describe('served through the server (S3_SERVE=proxy)', () => {
    let proxying: TestApp;
    let link: string;
    beforeAll(async () => {
      proxying = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, S3_SERVE: 'proxy' });
      const generation = (await proxying.graphql<{ generation: Generation }>(GET, { id: video.id })).data!.generation;
      link = generation.video!.url;
    });
    afterAll(() => proxying?.stop());

    it('streams the whole video with the headers a player needs, and HEAD with no body', async () => {
      const response = await fetch(link, { redirect: 'manual' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(response.headers.get('content-length')).toBe(String(sample.length));
      expect(Buffer.from(await response.arrayBuffer()).equals(sample)).toBe(true);
      const head = await fetch(link, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(sample.length));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });

    it.each([
      ['a closed range', 'bytes=0-99', 0, 99],
      ['an open-ended range', 'bytes=1000-', 1000, -1],
      ['a suffix range', 'bytes=-50', -50, -1],
    ])('answers %s with 206 and exactly those bytes from the bucket', async (_what, range, from, to) => {
      const start = from < 0 ? sample.length + from : from;
      const end = to < 0 ? sample.length - 1 : to;
      const response = await fetch(link, { headers: { range } });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${sample.length}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(sample.subarray(start, end + 1))).toBe(true);
    });

    it('answers a range past the end with 416', async () => {
      const response = await fetch(link, { headers: { range: `bytes=${sample.length}-` } });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${sample.length}`);
    });
  });

  it('deletes the object at retention, and the generation answers video: null with videoExpiredAt', async () => {
    const old = await generateToEnd(redirecting, 'a video past its retention');
    await database.sql`update generations set completed_at = now() - interval '40 days' where id = ${old.id}`;
    // The worker applies retention when it starts.
    const later = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, VIDEO_RETENTION_DAYS: '30' });
    try {
      await waitFor('the objects to be deleted', async () => !(await s3.objectKeys('videos/')).some((key) => key.startsWith(`videos/${old.id}`)));
      const body = await later.graphql<{ generation: { video: unknown; videoExpiredAt: string | null } }>(
        `query ($id: ID!) { generation(id: $id) { video { url } videoExpiredAt } }`,
        { id: old.id },
      );
      expect(body.data!.generation.video).toBeNull();
      expect(Date.parse(body.data!.generation.videoExpiredAt!)).toBeGreaterThan(0);
      expect((await fetch(old.video!.url, { redirect: 'manual' })).status).toBe(404);
      // The younger video is untouched.
      expect(await s3.objectKeys('videos/')).toContain(`videos/${video.id}.mp4`);
    } finally {
      await later.stop();
    }
  });

  it('stores the same video on local disk when the driver is local (the time to SUCCEEDED is measured for comparison)', async () => {
    // Its own database, so that no worker on the bucket takes the job.
    const own = await createTestDatabase();
    const local = await startTestApp({ DATABASE_URL: own.url, ...sim.env });
    try {
      const generation = await generateToEnd(local, 'a harbour at dawn, stored on local disk');
      expect(generation.status).toBe('SUCCEEDED');
      expect(existsSync(path.join(local.dataDir, 'videos', `${generation.id}.mp4`))).toBe(true);
      timings.local = await storingToSucceededMs(local, generation.id);
    } finally {
      await local.stop();
      await own.drop();
    }
  });
});

describe.skipIf(!hasPostgres)('a bucket that goes down while a video is stored', () => {
  useS3rverCredentials();
  let database: TestDatabase;
  let sim: Simulator;
  let s3: S3Server;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    s3 = await startS3Server();
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...s3.env, S3_SERVE: 'proxy' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('retries storing as the retry policy says, then fails typed STORAGE_FAILED, never SUCCEEDED without its object', { timeout: 60_000 }, async () => {
    const stored = await generateToEnd(server, 'a video stored before the bucket went down');
    expect(stored.status).toBe('SUCCEEDED');
    await s3.stop();
    // Links checked as ever, then an honest 503 while the bucket cannot be asked.
    const unavailable = await fetch(stored.video!.url);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('5');
    const logsBefore = server.logs.length;
    const final = await generateToEnd(server, 'a video with nowhere to go', 50_000);

    expect(final.status).toBe('FAILED');
    expect(final.error).toMatchObject({ code: 'STORAGE_FAILED', retryable: true });
    expect(final.video).toBeNull();
    const tries = server.logs.slice(logsBefore).filter((line) => line.includes('video download failed'));
    expect(tries).toHaveLength(5);
    const [row] = await database.sql`select video_key, status from generations where id = ${final.id}`;
    expect(row).toEqual({ video_key: null, status: 'FAILED' });
    expect(final.events.map((event) => event.status)).not.toContain('SUCCEEDED');
    // One paid job each: the failed store was retried from Segmind's copy, never submitted again.
    expect(sim.simulator.submissions()).toBe(2);
  });
});

describe('storage settings', () => {
  it.each([
    [{ STORAGE_DRIVER: 's3' }, /STORAGE_DRIVER=s3 needs S3_BUCKET/],
    [{ STORAGE_DRIVER: 'ftp' }, /STORAGE_DRIVER must be one of local, s3; got "ftp"/],
    [{ S3_SERVE: 'proxy' }, /S3_SERVE is set but STORAGE_DRIVER is "local"/],
    [{ S3_BUCKET: 'videos' }, /S3_BUCKET is set but STORAGE_DRIVER is "local"/],
    [{ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'yes' }, /S3_FORCE_PATH_STYLE must be true or false; got "yes"/],
    [{ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_SERVE: 'stream' }, /S3_SERVE must be one of redirect, proxy; got "stream"/],
    [{ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }, /S3_ENDPOINT must be an absolute http\(s\) URL/],
    [{ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_PREFIX: '/abs/' }, /S3_PREFIX must be a key prefix/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('accepts a complete s3 configuration and keeps local storage the default', () => {
    expect(loadConfig({}).storage.driver).toBe('local');
    const { storage } = loadConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: 'prod/reelql/' });
    expect(storage).toMatchObject({ driver: 's3', s3Bucket: 'b', s3ForcePathStyle: true, s3Prefix: 'prod/reelql/', s3Serve: 'redirect', s3Region: 'us-east-1' });
  });
});

describe.skipIf(!hasPostgres)('starting with a bucket that refuses the credentials', () => {
  it('stops start-up with a message naming the credential variables', async () => {
    const database = await createTestDatabase();
    const s3 = await startS3Server();
    try {
      const starting = spawnServer({ DATABASE_URL: database.url, ...s3.env, AWS_ACCESS_KEY_ID: 'NOT-A-KEY' }, 20_000);
      const error = (await starting.then(
        (server) => server.stop().then(() => new Error('the server started')),
        (refused: unknown) => refused,
      )) as Error;
      expect(error.message).toContain('exited with 1 before it was ready');
      expect(error.message).toContain('reelql cannot start: video storage is not usable');
      expect(error.message).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
      expect(error.message).toContain(`S3_BUCKET "${s3.bucket}"`);
    } finally {
      await s3.stop();
      await database.drop();
    }
  });
});
