import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { readSampleVideo } from './helpers/videos.js';
import { generations } from '../src/db/schema.js';
import { revokeApiKey } from '../src/auth/keys.js';
import { createLocalStorage } from '../src/storage/local.js';
import { applyRetention } from '../src/worker/retention.js';
import { sweepStaleStillsDirectories } from '../src/media/stills.js';
import { createLogger, lineDestination } from '../src/logger.js';

// ffprobe from the registry package, so `npm test` needs no system ffmpeg; FFPROBE_PATH picks another.
const FFPROBE = process.env.FFPROBE_PATH || ffprobeInstaller.path;
// The bundled ffmpeg (what the server uses without FFMPEG_PATH), so the test needs no system one.
const FFMPEG = ffmpegInstaller.path;

const GENERATE = /* GraphQL */ `
  mutation Generate($input: GenerateVideoInput!) {
    generateVideo(input: $input) {
      __typename
      ... on GenerateVideoSuccess { generation { id } }
    }
  }
`;

const MEDIA = /* GraphQL */ `
  query Media($id: ID!) {
    generation(id: $id) {
      id
      status
      video { url sizeBytes durationSeconds width height hasAudio posterUrl lastFrameUrl stillsError }
      events { type message createdAt }
    }
  }
`;

interface MediaGeneration {
  id: string;
  status: string;
  video: {
    url: string;
    sizeBytes: number;
    durationSeconds: number;
    width: number;
    height: number;
    hasAudio: boolean;
    posterUrl: string | null;
    lastFrameUrl: string | null;
    stillsError: string | null;
  } | null;
  events: { type: string; message: string; createdAt: string }[];
}

async function generate(server: TestApp, input: Record<string, unknown>, headers?: Record<string, string>): Promise<string> {
  const created = await server.graphql<{ generateVideo: { __typename: string; generation: { id: string } } }>(GENERATE, { input }, headers);
  expect(created.errors).toBeUndefined();
  expect(created.data!.generateVideo.__typename).toBe('GenerateVideoSuccess');
  return created.data!.generateVideo.generation.id;
}

async function untilFinal(server: TestApp, id: string, headers?: Record<string, string>): Promise<MediaGeneration> {
  return waitFor(
    `generation ${id} to finish`,
    async () => {
      const { data } = await server.graphql<{ generation: MediaGeneration }>(MEDIA, { id }, headers);
      const g = data?.generation;
      return g && ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(g.status) ? g : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}

/** ffprobe's word on a file: the first video stream's size and duration, and whether an audio stream exists. */
function ffprobe(file: string): { width: number; height: number; durationSeconds: number; hasAudio: boolean; codec: string } {
  const out = JSON.parse(
    execFileSync(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,duration', '-of', 'json', file], {
      encoding: 'utf8',
    }),
  ) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number; duration?: string }[] };
  const video = out.streams.find((s) => s.codec_type === 'video')!;
  return {
    width: video.width!,
    height: video.height!,
    durationSeconds: Number(video.duration),
    hasAudio: out.streams.some((s) => s.codec_type === 'audio'),
    codec: video.codec_name,
  };
}

/** The image's mean brightness (0-255) in its bottom tenth, decoded by the system ffmpeg at 10×10 pixels. */
function bottomBrightness(file: string): number {
  const gray = execFileSync(FFMPEG, ['-v', 'error', '-i', file, '-vf', 'scale=10:10,format=gray', '-f', 'rawvideo', '-'], { maxBuffer: 1024 });
  expect(gray.length).toBe(100);
  return gray.subarray(90).reduce((sum, value) => sum + value, 0) / 10;
}

describe.skipIf(!hasPostgres)('probed facts and stills of stored videos', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'reelql-media-test-'));
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function download(url: string, name: string): Promise<{ file: string; response: Response; bytes: Buffer }> {
    const response = await fetch(url);
    const bytes = Buffer.from(await response.arrayBuffer());
    const file = path.join(scratch, name);
    await writeFile(file, bytes);
    return { file, response, bytes };
  }

  it.each([
    { aspectRatio: 'RATIO_16_9', resolution: 'RES_720P', durationSeconds: 4, generateAudio: true, size: [1280, 720] },
    { aspectRatio: 'RATIO_9_16', resolution: 'RES_720P', durationSeconds: 6, generateAudio: false, size: [720, 1280] },
  ])('reports the duration, size and audio of the stored file, as ffprobe reads it ($aspectRatio, $durationSeconds s, audio $generateAudio)', async ({ size, ...input }) => {
    const id = await generate(server, { prompt: 'a lighthouse in fog', ...input });
    const final = await untilFinal(server, id);
    expect(final.status).toBe('SUCCEEDED');
    const video = final.video!;
    const { file } = await download(video.url, `${id}.mp4`);
    const probed = ffprobe(file);
    expect([video.width, video.height]).toEqual([probed.width, probed.height]);
    expect([video.width, video.height]).toEqual(size);
    expect(video.durationSeconds).toBeCloseTo(probed.durationSeconds, 1);
    expect(video.durationSeconds).toBeCloseTo(input.durationSeconds, 1);
    expect(video.hasAudio).toBe(probed.hasAudio);
    expect(video.hasAudio).toBe(input.generateAudio);
    // A clip that is what was asked has a plain timeline.
    expect(final.events.map((e) => e.type)).not.toContain('video_differs');
    expect(final.events.map((e) => e.type)).not.toContain('stills_failed');
  });

  it('makes the stills of a 1080p 8 s clip between Segmind’s completion and SUCCEEDED (the time is measured)', async () => {
    const id = await generate(server, { prompt: 'a long take', aspectRatio: 'RATIO_16_9', resolution: 'RES_1080P', durationSeconds: 8, generateAudio: true });
    const final = await untilFinal(server, id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.video).toMatchObject({ width: 1920, height: 1080, hasAudio: true, stillsError: null });
    expect(ffprobe((await download(final.video!.lastFrameUrl!, 'long-last.jpg')).file)).toMatchObject({ width: 1920, height: 1080 });
    const at = (type: string) => Date.parse(final.events.find((e) => e.type === type)!.createdAt);
    const storingToSucceededMs = at('succeeded') - at('storing');
    expect(storingToSucceededMs).toBeGreaterThan(0);
    console.log(`[media] 1080p 8 s clip (${final.video!.sizeBytes} bytes): storing → succeeded ${storingToSucceededMs} ms (download, probe, stills)`);
  });

  it('serves the first and last frame as JPEGs of the video’s size through signed links, and refuses links without the token', async () => {
    const id = await generate(server, { prompt: 'a red kite over the sea', aspectRatio: 'RATIO_16_9', resolution: 'RES_720P', durationSeconds: 4 });
    const video = (await untilFinal(server, id)).video!;
    expect(video.stillsError).toBeNull();
    expect(video.posterUrl).toMatch(new RegExp(`/videos/${id}\\.poster\\.jpg\\?expires=\\d+&token=`));
    expect(video.lastFrameUrl).toMatch(new RegExp(`/videos/${id}\\.last\\.jpg\\?expires=\\d+&token=`));

    const poster = await download(video.posterUrl!, 'poster.jpg');
    const last = await download(video.lastFrameUrl!, 'last.jpg');
    for (const still of [poster, last]) {
      expect(still.response.status).toBe(200);
      expect(still.response.headers.get('content-type')).toBe('image/jpeg');
      expect(still.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      const probed = ffprobe(still.file);
      expect(probed.codec).toBe('mjpeg');
      expect([probed.width, probed.height]).toEqual([1280, 720]);
    }
    // The simulator's clip has a white bar along the bottom that grows from nothing to the full width.
    expect(bottomBrightness(poster.file)).toBeLessThan(150);
    expect(bottomBrightness(last.file)).toBeGreaterThan(180);

    const bare = new URL(video.posterUrl!);
    expect((await fetch(`${bare.origin}${bare.pathname}`)).status).toBe(403);
    const forged = new URL(video.lastFrameUrl!);
    forged.searchParams.set('token', 'A'.repeat(43));
    expect((await fetch(forged)).status).toBe(403);
  });

  it('refuses one generation’s token on another’s stills, and every still link of a revoked key', async () => {
    const first = (await untilFinal(server, await generate(server, { prompt: 'dunes at noon', resolution: 'RES_720P', durationSeconds: 4 }))).video!;
    const owner = await createKeyIn(database.url);
    const asOwner = { authorization: `Bearer ${owner.key}` };
    const second = (await untilFinal(server, await generate(server, { prompt: 'dunes at night', resolution: 'RES_720P', durationSeconds: 4 }, asOwner), asOwner)).video!;
    const borrowed = new URL(second.posterUrl!);
    borrowed.search = new URL(first.posterUrl!).search;
    const answer = await fetch(borrowed);
    expect(answer.status).toBe(403);
    expect(await answer.text()).toMatch(/invalid or expired/);

    expect((await fetch(second.lastFrameUrl!)).status).toBe(200);
    expect(await revokeApiKey(dbOf(database), owner.apiKey.name)).not.toBeNull();
    // The revocation reaches the server with its NOTIFY, milliseconds after the commit; from then on every link fails.
    await waitFor('the server to hear of the revocation', async () => (await fetch(second.posterUrl!)).status === 403, { timeoutMs: 5000, intervalMs: 20 });
    for (const link of [second.posterUrl!, second.lastFrameUrl!]) {
      const refused = await fetch(link);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toMatch(/revoked/);
    }
    expect((await fetch(first.posterUrl!)).status).toBe(200);
  });

  it('keeps a clip far from what was asked, says so on its timeline with what was asked and what came, and succeeds', async () => {
    // The next result download gets the 2-second 320×180 sample instead of the job's own clip.
    sim.simulator.injectFault({ endpoint: 'file', serveSample: true });
    const id = await generate(server, { prompt: 'a wide shot of a city at night', aspectRatio: 'RATIO_16_9', resolution: 'RES_1080P', durationSeconds: 8 });
    const final = await untilFinal(server, id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.video).toMatchObject({ width: 320, height: 180, hasAudio: true });
    expect(final.video!.durationSeconds).toBeCloseTo(2, 1);
    const differs = final.events.filter((e) => e.type === 'video_differs');
    expect(differs).toHaveLength(1);
    expect(differs[0]!.message).toBe(
      'The video is 320×180 instead of 1920×1080 (16:9 1080p) and 2 s long instead of 8 s. It is kept as it was made; durationSeconds, width and height tell what it is.',
    );
    expect(final.events.map((e) => e.type).slice(-3)).toEqual(['storing', 'video_differs', 'succeeded']);
    const [row] = await dbOf(database)
      .select({ type: sql<string>`type`, data: sql<unknown>`data` })
      .from(sql`generation_events`)
      .where(sql`generation_id = ${id} and type = 'video_differs'`);
    expect(row!.data).toEqual({
      asked: { durationSeconds: 8, width: 1920, height: 1080 },
      got: { durationSeconds: expect.closeTo(2, 1) as unknown, width: 320, height: 180 },
    });
    // Its stills are made from what came.
    const poster = await download(final.video!.posterUrl!, 'sample-poster.jpg');
    expect(ffprobe(poster.file)).toMatchObject({ width: 320, height: 180 });
  });

  it('answers for videos stored before probing with the request’s facts and no stills, saying why', async () => {
    const id = await generate(server, { prompt: 'an old video', resolution: 'RES_720P', durationSeconds: 6, generateAudio: false, aspectRatio: 'RATIO_9_16' });
    expect((await untilFinal(server, id)).status).toBe('SUCCEEDED');
    await dbOf(database)
      .update(generations)
      .set({ videoDurationSeconds: null, videoWidth: null, videoHeight: null, videoHasAudio: null, posterKey: null, lastFrameKey: null, stillsError: null })
      .where(eq(generations.id, id));
    const video = (await untilFinal(server, id)).video!;
    expect(video).toMatchObject({ durationSeconds: 6, width: 720, height: 1280, hasAudio: false, posterUrl: null, lastFrameUrl: null });
    expect(video.stillsError).toBe('This video was stored before posters and last frames were made, so it has none.');
  });

  it('deletes the stills with the video when retention expires it', async () => {
    const id = await generate(server, { prompt: 'a video to expire', resolution: 'RES_720P', durationSeconds: 4 });
    expect((await untilFinal(server, id)).status).toBe('SUCCEEDED');
    const videos = path.join(server.dataDir, 'videos');
    expect((await readdir(videos)).filter((name) => name.startsWith(id)).sort()).toEqual([`${id}.last.jpg`, `${id}.mp4`, `${id}.poster.jpg`]);
    await dbOf(database)
      .update(generations)
      .set({ completedAt: new Date(Date.now() - 40 * 24 * 3600 * 1000) })
      .where(eq(generations.id, id));
    const result = await applyRetention({
      db: dbOf(database),
      storage: await createLocalStorage(videos),
      log: createLogger('silent', lineDestination(() => {})),
      videoRetentionDays: 30,
      eventRetentionDays: 0,
      partialFileMaxAgeMs: 3600 * 1000,
    });
    expect(result.videos).toBe(1);
    expect((await readdir(videos)).filter((name) => name.startsWith(id))).toEqual([]);
    const final = await untilFinal(server, id);
    expect(final.video).toBeNull();
  });
});

describe.skipIf(!hasPostgres)('when the stills cannot be made', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let bin: string;

  beforeAll(async () => {
    bin = await mkdtemp(path.join(os.tmpdir(), 'reelql-broken-ffmpeg-'));
    // An ffmpeg that fails like one given a file it cannot read, or hangs when told to.
    const script = path.join(bin, 'ffmpeg');
    await writeFile(
      script,
      `#!/bin/sh\nif [ -e "${bin}/hang" ]; then exec sleep 30; fi\necho 'video.mp4: Invalid data found when processing input' >&2\nexit 1\n`,
    );
    await chmod(script, 0o755);
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, FFMPEG_PATH: script, FFMPEG_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    await rm(bin, { recursive: true, force: true });
  });

  it('still succeeds with the probed facts, no still links, stillsError and a stills_failed event', async () => {
    const id = await generate(server, { prompt: 'stills will fail', resolution: 'RES_720P', durationSeconds: 4 });
    const final = await untilFinal(server, id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.video).toMatchObject({ width: 1280, height: 720, posterUrl: null, lastFrameUrl: null });
    expect(final.video!.stillsError).toBe(
      'The poster and last frame could not be made: the frame extractor (ffmpeg) failed on this video. The video itself is complete and playable.',
    );
    expect(final.events.map((e) => e.type).slice(-3)).toEqual(['storing', 'stills_failed', 'succeeded']);
    expect(final.events.find((e) => e.type === 'stills_failed')!.message).toBe(final.video!.stillsError);
    expect((await fetch(final.video!.url)).status).toBe(200);
    // No still was left behind, and the link a client might guess is a plain 404.
    expect((await readdir(path.join(server.dataDir, 'videos'))).filter((name) => name.endsWith('.jpg'))).toEqual([]);
    const guessed = final.video!.url.replace('.mp4?', '.poster.jpg?');
    expect((await fetch(guessed)).status).toBe(404);
    expect(server.logs.some((line) => line.includes('could not extract the poster and last frame') && line.includes('Invalid data found'))).toBe(true);
  });

  it('kills an ffmpeg that runs past FFMPEG_TIMEOUT_MS and still succeeds, saying it took too long', async () => {
    await writeFile(path.join(bin, 'hang'), '');
    try {
      const started = Date.now();
      const id = await generate(server, { prompt: 'stills will hang', resolution: 'RES_720P', durationSeconds: 4 });
      const final = await untilFinal(server, id);
      expect(final.status).toBe('SUCCEEDED');
      expect(final.video!.stillsError).toBe(
        'The poster and last frame could not be made: extracting them took too long. The video itself is complete and playable.',
      );
      // The hanging run sleeps 30 s; the generation did not wait for it.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.trim() === 'sleep 30')).toEqual([]);
    } finally {
      await rm(path.join(bin, 'hang'), { force: true });
    }
  });
});

describe('temporary copies of extractions that died with their process', () => {
  it('are swept once older than the partial-file age, while fresh ones stay', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'reelql-sweep-stills-'));
    try {
      for (const name of ['reelql-stills-dead', 'reelql-stills-live', 'something-else']) {
        await mkdir(path.join(directory, name));
        await writeFile(path.join(directory, name, 'video.mp4'), 'bytes');
      }
      const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
      for (const name of ['reelql-stills-dead', 'something-else']) await utimes(path.join(directory, name), twoHoursAgo, twoHoursAgo);
      expect(await sweepStaleStillsDirectories(3600 * 1000, directory)).toBe(1);
      expect((await readdir(directory)).sort()).toEqual(['reelql-stills-live', 'something-else']);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('the simulator’s clips', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'reelql-sim-clips-test-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  /** Submits a job over HTTP, waits for it, and saves its result file. */
  async function clipOf(sim: Awaited<ReturnType<typeof startSimulator>>, input: Record<string, unknown>, name: string): Promise<string> {
    const submitted = await fetch(`${sim.simulator.url}/v2/veo-3.1-fast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sim-key' },
      body: JSON.stringify({ prompt: 'a test shot', ...input }),
    });
    const { request_id: id } = (await submitted.json()) as { request_id: string };
    const file = await waitFor('the clip', async () => {
      const response = await fetch(`${sim.simulator.url}/files/${id}.mp4`);
      return response.ok ? Buffer.from(await response.arrayBuffer()) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    const target = path.join(scratch, name);
    await writeFile(target, file);
    return target;
  }

  /** The mean colour (RGB) of a frame's upper half at `seconds`, decoded by the system ffmpeg at 4×4 pixels. */
  function colourAt(file: string, seconds: number): number[] {
    const rgb = execFileSync(FFMPEG, ['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', '-vf', 'scale=4:4', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-']);
    return [0, 1, 2].map((channel) => Math.round([0, 1, 2, 3, 4, 5, 6, 7].reduce((sum, pixel) => sum + rgb[pixel * 3 + channel]!, 0) / 8));
  }

  it('makes each job a clip of the asked length, size and sound, in a colour of its own', async () => {
    const sim = await startSimulator({ processingMs: 50 });
    try {
      const first = await clipOf(sim, { duration: 4, resolution: '720p', aspect_ratio: '9:16', generate_audio: true }, 'first.mp4');
      const second = await clipOf(sim, { duration: 6, resolution: '720p', aspect_ratio: '16:9', generate_audio: false }, 'second.mp4');
      expect(ffprobe(first)).toMatchObject({ width: 720, height: 1280, hasAudio: true });
      expect(ffprobe(first).durationSeconds).toBeCloseTo(4, 1);
      expect(ffprobe(second)).toMatchObject({ width: 1280, height: 720, hasAudio: false });
      expect(ffprobe(second).durationSeconds).toBeCloseTo(6, 1);
      // Shots stitched one after the other are told apart by their colour.
      const distance = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i]!)));
      expect(distance(colourAt(first, 1), colourAt(second, 1))).toBeGreaterThan(40);
    } finally {
      await sim.simulator.stop();
    }
  });

  it('serves the shipped sample, and says so, when its ffmpeg fails', async () => {
    const script = path.join(scratch, 'broken-ffmpeg');
    await writeFile(script, '#!/bin/sh\necho broken >&2\nexit 1\n');
    await chmod(script, 0o755);
    const warnings: string[] = [];
    // A cache of its own: a clip some other simulator already rendered would be served without running ffmpeg.
    const sim = await startSimulator({
      processingMs: 50,
      ffmpegPath: script,
      clipCacheDir: path.join(scratch, 'clips'),
      warn: (message) => warnings.push(message),
    });
    try {
      const file = await clipOf(sim, { duration: 8, resolution: '1080p' }, 'fallback.mp4');
      expect((await readFile(file)).equals(await readSampleVideo())).toBe(true);
      expect(warnings.some((w) => w.includes('serving the sample video instead') && w.includes('broken'))).toBe(true);
    } finally {
      await sim.simulator.stop();
    }
  });
});
