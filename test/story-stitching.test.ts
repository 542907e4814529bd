import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createLogger, lineDestination } from '../src/logger.js';
import { createLocalStorage } from '../src/storage/local.js';
import { applyRetention } from '../src/worker/retention.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { GENERATE_STORY, GET_STORY, shots, WATCH_STORY } from './helpers/stories.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
// ffprobe from the registry package, so `npm test` needs no system ffmpeg; FFPROBE_PATH picks another.
const FFPROBE = process.env.FFPROBE_PATH || ffprobeInstaller.path;
// The bundled ffmpeg (what the server uses without FFMPEG_PATH), so the test needs no system one.
const FFMPEG = ffmpegInstaller.path;

/** The duration of a file's video stream, read by ffprobe (not by our own probe). */
async function probedSeconds(file: string): Promise<number> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

/** The average colour of the frame at `seconds`, as [r, g, b]. */
async function colourAt(file: string, seconds: number): Promise<number[]> {
  const { stdout } = await run(
    FFMPEG,
    ['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer' },
  );
  return [...stdout.subarray(0, 3)];
}

const close = (a: number[], b: number[], tolerance: number) => a.every((value, i) => Math.abs(value - b[i]!) <= tolerance);

describe.skipIf(!hasPostgres)('a three-shot story, stitched', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let app: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'reelql-story-test-'));
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    app = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await app?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const download = async (url: string, name: string) => {
    const response = await fetch(url);
    expect(response.status, `GET ${name}`).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return { file, bytes, contentType: response.headers.get('content-type') };
  };

  it('makes one MP4 as long as its shots, each span showing its shot, each shot starting from the last frame of the one before', async () => {
    const asked = (await app.graphql(GENERATE_STORY, { input: { shots: shots(3, 4), resolution: 'RES_720P', seed: 7 } })).data!.generateStory;
    expect(asked.__typename).toBe('GenerateStorySuccess');
    const id: string = asked.story.id;
    const ws = createWsClient(app.url, { key: app.key });
    const watched = collectWs(ws, WATCH_STORY, { id }, 60_000);
    const story = await waitFor(
      'the story to end',
      async () => {
        const s = (await app.graphql(GET_STORY, { id })).data?.story;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(story.status, JSON.stringify(story.error)).toBe('SUCCEEDED');
    expect(story.shots.map((s: { status: string }) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(sim.simulator.submissions()).toBe(3);

    // storyStatus: the state at subscribe time first, then every version once and in order, completing when final.
    const { results, completed } = await watched;
    await ws.dispose();
    expect(completed).toBe(true);
    const versions = results.map((r) => r.data!.storyStatus.version as number);
    expect(versions.length).toBeGreaterThan(3);
    versions.slice(1).forEach((version, i) => expect(version).toBe(versions[i]! + 1));
    expect(results.at(-1)!.data!.storyStatus).toMatchObject({ status: 'SUCCEEDED', version: story.version, progress: 1 });

    // The stitched file is as long as the shots together, by ffprobe, and the API says what the file holds.
    const film = await download(story.video.url, 'story.mp4');
    expect(film.contentType).toBe('video/mp4');
    const shotFiles = await Promise.all(story.shots.map((s: { video: { url: string } }, i: number) => download(s.video.url, `shot-${i}.mp4`)));
    const shotSeconds = await Promise.all(shotFiles.map((f) => probedSeconds(f.file)));
    const filmSeconds = await probedSeconds(film.file);
    expect(filmSeconds).toBeCloseTo(shotSeconds.reduce((a, b) => a + b, 0), 1);
    expect(story.video.durationSeconds).toBeCloseTo(filmSeconds, 1);
    expect(story.video).toMatchObject({ width: 1280, height: 720, hasAudio: true, sizeBytes: film.bytes.length, stillsError: null });
    expect((await download(story.video.posterUrl, 'story.poster.jpg')).bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

    // Each shot's span of the film shows that shot, and the shots are told apart (the simulator makes each distinct).
    let start = 0;
    const shotColours: number[][] = [];
    for (const [i, shot] of shotFiles.entries()) {
      const middle = shotSeconds[i]! / 2;
      const own = await colourAt(shot.file, middle);
      const inFilm = await colourAt(film.file, start + middle);
      expect(close(inFilm, own, 12), `shot ${i + 1}: film ${inFilm.join(",")} vs shot ${own.join(",")}`).toBe(true);
      shotColours.push(own);
      start += shotSeconds[i]!;
    }
    expect(close(shotColours[0]!, shotColours[1]!, 12) && close(shotColours[1]!, shotColours[2]!, 12)).toBe(false);

    // Shots 2 and 3 started from the last frame of the shot before: what Segmind was sent is byte for byte that frame.
    const uploads = sim.simulator.uploads();
    expect(uploads).toHaveLength(2);
    for (const k of [1, 2]) {
      const previousLast = await download(story.shots[k - 1].video.lastFrameUrl, `shot-${k - 1}.last.jpg`);
      const upload = uploads.find((u) => u.url === story.shots[k].image);
      expect(upload, `the upload shot ${k + 1} starts from`).toBeDefined();
      expect(upload!.bytes.equals(previousLast.bytes)).toBe(true);
      expect(sim.simulator.jobs().find((j) => j.input.prompt === `shot ${k + 1}`)?.input.image).toBe(story.shots[k].image);
    }
    expect(story.shots[0].image).toBeNull();

    // The stitching time, for the record.
    const stitched = app.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'story stitched');
    expect(stitched).toMatchObject({ shots: 3, reencoded: false });
    expect(Buffer.from(id, 'base64').toString()).toBe(`Story:${String(stitched?.storyId)}`);
    console.log(`stitching three 4 s 720p shots took ${String(stitched?.stitchMs)} ms`);
    storyId = id;
    filmUrl = story.video.url;
  });

  let storyId = '';
  let filmUrl = '';

  it("serves the story's video only with its signed token, and only to its own key through node(id)", async () => {
    expect(storyId).not.toBe('');
    const unsigned = filmUrl.replace(/\?.*$/, '');
    expect((await fetch(unsigned)).status).toBe(403);
    expect((await fetch(`${unsigned}?expires=9999999999&token=forged`)).status).toBe(403);
    const node = await app.graphql('query ($id: ID!) { node(id: $id) { __typename id ... on Story { status } } }', { id: storyId });
    expect(node.data?.node).toEqual({ __typename: 'Story', id: storyId, status: 'SUCCEEDED' });
    const { key: otherKey } = await createKeyIn(database.url, {});
    const asOther = { authorization: `Bearer ${otherKey}` };
    expect((await app.graphql('query ($id: ID!) { node(id: $id) { id } }', { id: storyId }, asOther)).data?.node).toBeNull();
    expect((await app.graphql(GET_STORY, { id: storyId }, asOther)).data?.story).toBeNull();
  });

  it("retention deletes the stitched video and its stills like a generation's, keeping the story", async () => {
    expect(storyId).not.toBe('');
    const uuid = Buffer.from(storyId, 'base64').toString().slice('Story:'.length);
    await database.sql`update stories set completed_at = now() - interval '10 days' where id = ${uuid}`;
    const videos = path.join(app.dataDir, 'videos');
    const names = [`story-${uuid}.mp4`, `story-${uuid}.poster.jpg`, `story-${uuid}.last.jpg`];
    expect(names.every((name) => existsSync(path.join(videos, name)))).toBe(true);
    await applyRetention({
      db: dbOf(database),
      storage: await createLocalStorage(videos),
      log: createLogger('silent', lineDestination(() => {})),
      videoRetentionDays: 7,
      eventRetentionDays: 0,
      partialFileMaxAgeMs: 3600 * 1000,
    });
    expect(names.filter((name) => existsSync(path.join(videos, name)))).toEqual([]);
    const story = (await app.graphql(GET_STORY, { id: storyId })).data?.story;
    expect(story).toMatchObject({ status: 'SUCCEEDED', video: null });
    expect(story.shots.every((shot: { video: unknown }) => shot.video !== null)).toBe(true);
  });
});

describe.skipIf(!hasPostgres)('a story whose shots cannot be stitched', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    // An ffmpeg that always fails: the shot still succeeds (its stills say why they are missing), the stitch cannot.
    app = await startTestApp({ DATABASE_URL: database.url, ...sim.env, FFMPEG_PATH: '/bin/false' });
  });
  afterAll(async () => {
    await app?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('is tried three times, then FAILS with STITCH_FAILED, its shot still SUCCEEDED, and no temporary copy left behind', async () => {
    const leftovers = async () => (await readdir(os.tmpdir())).filter((name) => name.startsWith('reelql-stitch-'));
    const asked = (await app.graphql(GENERATE_STORY, { input: { shots: shots(1), resolution: 'RES_720P' } })).data!.generateStory;
    const story = await waitFor(
      'the story to end',
      async () => {
        const s = (await app.graphql(GET_STORY, { id: asked.story.id })).data?.story;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(story.status).toBe('FAILED');
    expect(story.error).toMatchObject({ code: 'STITCH_FAILED', retryable: true });
    expect(story.error.message).toMatch(/after 3 tries\. Every shot is SUCCEEDED/);
    expect(story.video).toBeNull();
    expect(story.shots[0].status).toBe('SUCCEEDED');
    expect(story.shots[0].video.url).toBeTruthy();
    const uuid = Buffer.from(asked.story.id as string, 'base64').toString().slice('Story:'.length);
    const tries = await database.sql`select type from story_events where story_id = ${uuid} and type in ('stitch_retry', 'failed') order by version`;
    expect(tries.map((t) => t.type)).toEqual(['stitch_retry', 'stitch_retry', 'failed']);
    // None of this story's: other tests' stitchers make (and sweep) copies of their own stories meanwhile.
    const storyUuid = Buffer.from(asked.story.id as string, 'base64').toString().slice('Story:'.length);
    expect((await leftovers()).filter((name) => name.includes(storyUuid))).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)('a story whose stitching worker keeps stopping', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let app: TestApp;
  let bin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    // The real ffmpeg for the shot's stills; a join never finishes, so the stitch is still running when its worker "dies".
    bin = await mkdtemp(path.join(os.tmpdir(), 'reelql-hanging-ffmpeg-'));
    const ffmpeg = path.join(bin, 'ffmpeg');
    await writeFile(ffmpeg, `#!/bin/sh\ncase "$*" in *concat*) exec sleep 60;; esac\nexec "${FFMPEG}" "$@"\n`, { mode: 0o755 });
    app = await startTestApp({ DATABASE_URL: database.url, ...sim.env, FFMPEG_PATH: ffmpeg, LEASE_MS: '1500' });
  });
  afterAll(async () => {
    await app?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (bin) await rm(bin, { recursive: true, force: true });
  });

  it('counts each stop as a try and FAILS with STITCH_FAILED at the third, instead of stitching again forever', async () => {
    const asked = (await app.graphql(GENERATE_STORY, { input: { shots: shots(1), resolution: 'RES_720P' } })).data!.generateStory;
    const uuid = Buffer.from(asked.story.id as string, 'base64').toString().slice('Story:'.length);
    const stitching = () =>
      waitFor('a worker to be stitching the story', async () => {
        const [row] = await database.sql`select status, lease_owner from stories where id = ${uuid}`;
        return row?.status === 'STORING' && row.lease_owner && !String(row.lease_owner).startsWith('stopped-') ? row : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100 });
    for (let stop = 1; stop <= 3; stop++) {
      await stitching();
      // What a SIGKILL leaves: the lease names its worker and runs out. The live worker loses it at its next renewal.
      await database.sql`update stories set lease_owner = ${`stopped-${stop}`}, lease_expires_at = now() - interval '1 second' where id = ${uuid}`;
      if (stop < 3) {
        await waitFor(`try ${stop} to be recorded`, async () => {
          const [row] = await database.sql`select count(*)::int as n from story_events where story_id = ${uuid} and type = 'stitch_retry'`;
          return row!.n === stop || undefined;
        }, { timeoutMs: 15_000, intervalMs: 100 });
      }
    }
    const story = await waitFor('the story to end', async () => {
      const s = (await app.graphql(GET_STORY, { id: asked.story.id })).data?.story;
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(story.status).toBe('FAILED');
    expect(story.error).toMatchObject({ code: 'STITCH_FAILED', retryable: true });
    expect(story.error.message).toMatch(/after 3 tries\. Every shot is SUCCEEDED/);
    expect(story.shots[0].status).toBe('SUCCEEDED');
    const events = await database.sql`select type, message from story_events where story_id = ${uuid} and type in ('stitch_retry', 'failed') order by version`;
    expect(events.map((e) => e.type)).toEqual(['stitch_retry', 'stitch_retry', 'failed']);
    expect(events[0]!.message).toMatch(/stopped before it finished \(try 1 of 3\)/);
  });
});
