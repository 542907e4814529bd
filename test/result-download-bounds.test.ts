import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_FORMATS, BufferSource, BufferTarget, Conversion, Input, Mp4OutputFormat, Output } from 'mediabunny';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyRetention } from '../src/worker/retention.js';
import { createLogger, lineDestination } from '../src/logger.js';
import { createSegmindClient } from '../src/segmind/api.js';
import { SegmindError } from '../src/segmind/errors.js';
import { hostAllowed } from '../src/segmind/upstream-text.js';
import { createSegmindSimulator, type SegmindSimulator } from '../src/segmind/simulator/index.js';
import { createLocalStorage } from '../src/storage/local.js';
import { assertDownloadable, UnsafeDownloadError } from '../src/storage/safe-download.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, GENERATE, GET, type TestGeneration as Generation } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { fetchSimulatedVideo } from './helpers/videos.js';
import { since, waitFor } from './helpers/wait.js';

type Simulator = Awaited<ReturnType<typeof startSimulator>>;

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];
const MiB = 1024 * 1024;
const sampleVideo = readFile(new URL('../src/segmind/simulator/assets/sample.mp4', import.meta.url));

async function create(server: TestApp, prompt: string, headers: Record<string, string> = {}): Promise<Generation> {
  const created = await server.graphql(GENERATE, { input: { prompt, durationSeconds: 4, generateAudio: false } }, headers);
  const generation = created.data?.generateVideo.generation as Generation | undefined;
  expect(generation, JSON.stringify(created)).toBeDefined();
  return generation!;
}

async function fetchGeneration(server: TestApp, id: string, headers: Record<string, string> = {}): Promise<Generation> {
  const body = await server.graphql(GET, { id }, headers);
  expect(body.errors).toBeUndefined();
  return body.data!.generation as Generation;
}

async function untilFinal(server: TestApp, id: string, timeoutMs = 15_000, headers: Record<string, string> = {}): Promise<Generation> {
  return waitFor(
    `generation ${id} to be final`,
    async () => {
      const generation = await fetchGeneration(server, id, headers);
      return FINAL.includes(generation.status) ? generation : undefined;
    },
    { timeoutMs, intervalMs: 30 },
  );
}

/** Files in the app's video directory: stored videos and partial downloads. */
async function videoFiles(server: TestApp): Promise<string[]> {
  return readdir(path.join(server.dataDir, 'videos')).catch(() => []);
}

/** Log lines since `from` that contain `text`. */
const logLines = (server: TestApp, from: number, text: string) => server.logs.slice(from).filter((line) => line.includes(text));

/** An HTTP server on loopback answering each path with the bytes the test put there; counts what it was asked. */
async function startFileHost(): Promise<{ url: string; host: string; files: Map<string, Buffer>; hits: string[]; stop(): Promise<void> }> {
  const files = new Map<string, Buffer>();
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    files,
    hits,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Makes the next result answer of the simulator point at `output`, as a hostile or broken Segmind would. */
function pointResultAt(sim: Simulator, output: string, contentType = 'video/mp4'): void {
  const body = JSON.stringify({ status: 'COMPLETED', output, video: { url: output, content_type: contentType }, metrics: {} });
  sim.simulator.injectFault({ endpoint: 'result', status: 200, body });
}

/** The sample's audio only, in a valid MP4: a file with a moov but no video track. */
async function audioOnlyMp4(): Promise<Buffer> {
  const input = new Input({ source: new BufferSource(await sampleVideo), formats: ALL_FORMATS });
  const output = new Output({ format: new Mp4OutputFormat(), target: new BufferTarget() });
  const conversion = await Conversion.init({ input, output, video: { discard: true } });
  await conversion.execute();
  return Buffer.from(output.target.buffer!);
}

interface AppContext {
  database: TestDatabase;
  sim: Simulator;
  server: TestApp;
}

/**
 * For one describe block: a test database, a simulator and the app on them, started before its tests and
 * stopped after them; the simulator forgets its jobs and faults before each test. `env` adds settings, and
 * may build on the simulator's.
 */
function appOnSimulator(processingMs: number, env: (simEnv: Record<string, string>) => Record<string, string> = () => ({})): AppContext {
  const context = {} as AppContext;
  beforeAll(async () => {
    context.database = await createTestDatabase();
    context.sim = await startSimulator({ processingMs });
    context.server = await startTestApp({ DATABASE_URL: context.database.url, ...context.sim.env, ...env(context.sim.env) });
  });
  afterAll(async () => {
    await context.server?.stop();
    await context.sim?.simulator.stop();
    await context.database?.drop();
  });
  beforeEach(() => context.sim.simulator.reset());
  return context;
}

describe('Segmind answers larger than any real answer', () => {
  let sim: SegmindSimulator;
  let baseUrl: string;
  const client = () => createSegmindClient({ baseUrl, apiKey: 'sim-key', uploadUrl: `${baseUrl}/upload-asset` });

  beforeAll(async () => {
    sim = createSegmindSimulator({ processingMs: 50 });
    baseUrl = await sim.start();
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  it('make a 2xx submit answer over 1 MiB the same unusable-answer error as a cut-off one, without reading it whole', async () => {
    sim.injectFault({ endpoint: 'submit', status: 200, acceptThenFail: true, body: '{"request_id": "cut-off"' });
    const cutOff = await client().submit({ prompt: 'a', aspect_ratio: '16:9', duration: 4, resolution: '720p', generate_audio: false, seed: 1 }).catch((e: unknown) => e);
    // Valid JSON with a request id, padded to 200 MB: nothing in it may be trusted, and it is never read whole.
    sim.injectFault({ endpoint: 'submit', status: 200, acceptThenFail: true, body: '{"request_id": "padded"}', padding: 200 * MiB });
    const started = Date.now();
    const oversized = await client().submit({ prompt: 'b', aspect_ratio: '16:9', duration: 4, resolution: '720p', generate_audio: false, seed: 1 }).catch((e: unknown) => e);

    expect(oversized).toBeInstanceOf(SegmindError);
    expect(cutOff).toBeInstanceOf(SegmindError);
    const shape = (e: SegmindError) => ({ kind: e.kind, message: e.message, httpStatus: e.httpStatus, requestSent: e.requestSent });
    expect(shape(oversized as SegmindError)).toEqual(shape(cutOff as SegmindError));
    expect((oversized as SegmindError).message).toMatch(/unexpected answer to a submit/);
    expect((oversized as SegmindError).upstreamMessage).toMatch(/larger than 1048576 bytes/);
    expect(since(started), 'ms to refuse the 200 MB answer').toBeLessThan(2000);
    expect(sim.submissions()).toBe(2);
  });

  it('refuse a status answer whose Content-Length is over 1 MiB as a bad answer that is worth asking again', async () => {
    const segmindRequestId = (await client().submit({ prompt: 'c', aspect_ratio: '16:9', duration: 4, resolution: '720p', generate_audio: false, seed: 1 })).segmindRequestId;
    const body = '{"status": "PROCESSING"}';
    const length = String(body.length + 200 * MiB);
    sim.injectFault({ endpoint: 'status', status: 200, body, padding: 200 * MiB, headers: { 'content-length': length } });
    const started = Date.now();
    const error = await client().status(segmindRequestId).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SegmindError);
    expect((error as SegmindError).transient).toBe(true);
    expect((error as SegmindError).message).toMatch(/unexpected answer to a status poll/);
    expect(since(started)).toBeLessThan(2000);
    // The next, normal answer is read as usual.
    expect((await client().status(segmindRequestId)).status).toMatch(/QUEUED|PROCESSING|COMPLETED/);
  });

  it('refuse oversized result and upload answers too', async () => {
    const segmindRequestId = (await client().submit({ prompt: 'd', aspect_ratio: '16:9', duration: 4, resolution: '720p', generate_audio: false, seed: 1 })).segmindRequestId;
    sim.injectFault({ endpoint: 'result', status: 200, body: `{"status": "COMPLETED", "output": "${baseUrl}/files/${segmindRequestId}.mp4"}`, padding: 2 * MiB });
    await expect(client().result(segmindRequestId)).rejects.toThrow(/unexpected answer to a result fetch/);
    sim.injectFault({ endpoint: 'upload', status: 200, body: '{"file_urls": ["https://x.example/a.png"]}', padding: 2 * MiB });
    await expect(client().upload(['data:image/png;base64,iVBORw0KGgo='])).rejects.toThrow(/unexpected answer to an upload/);
  });
});

/** The peak resident memory of a process so far, in bytes (Linux's high-water mark, so no peak is missed). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

describe.skipIf(!hasPostgres || process.platform !== 'linux')('a server whose Segmind sends a 200 MB status answer', () => {
  let database: TestDatabase;
  let sim: Simulator;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 600 });
    // Its own process, so that its memory is measured alone.
    server = await spawnServer({ DATABASE_URL: database.url, ...sim.env, SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '300', LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('reads at most about 1 MiB of it, treats it as a failed poll, keeps answering /healthz and finishes the generation', async () => {
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: Record<string, any> };
    };
    const generateToEnd = async (prompt: string) => {
      const created = await gql(GENERATE, { input: { prompt, durationSeconds: 4, generateAudio: false } });
      const id = created.data?.generateVideo.generation.id as string;
      return waitFor('the generation to end', async () => {
        const generation = (await gql(GET, { id })).data?.generation as Generation;
        return FINAL.includes(generation.status) ? generation : undefined;
      }, { timeoutMs: 20_000, intervalMs: 50 });
    };
    // A first generation warms the process up, so that what grows afterwards is the answer's doing.
    expect((await generateToEnd('a lighthouse, to warm up')).status).toBe('SUCCEEDED');
    // Valid JSON, streamed lazily without a Content-Length: only reading it whole would show it is too big.
    sim.simulator.injectFault({ endpoint: 'status', status: 200, body: '{"status": "PROCESSING"}', padding: 200 * MiB, times: 2 });
    const pid = server.process.pid!;
    const before = await peakRss(pid);
    let slowestHealthMs = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const started = Date.now();
        await (await fetch(`${server.url}/healthz`)).text();
        slowestHealthMs = Math.max(slowestHealthMs, since(started));
        await sleep(20);
      }
    })();
    let final: Generation | undefined;
    try {
      final = await generateToEnd('a lighthouse, polled through a flood');
    } finally {
      probing = false;
      await prober;
    }
    const growthMb = ((await peakRss(pid)) - before) / MiB;
    console.log(`[result-download-bounds] 2 × 200 MB status answers: peak RSS grew ${growthMb.toFixed(1)} MB, slowest /healthz ${slowestHealthMs} ms`);
    expect(final.status).toBe('SUCCEEDED');
    expect(server.output().match(/status poll failed/g)).toHaveLength(2);
    expect(growthMb, 'peak RSS growth in MB').toBeLessThan(32);
    // Reading such answers whole stalled /healthz for seconds; the bound leaves room for a busy test machine.
    expect(slowestHealthMs, 'slowest /healthz in ms').toBeLessThan(2000);
    expect(sim.simulator.submissions()).toBe(2);
  });
});

describe.skipIf(!hasPostgres)('result downloads that stall', () => {
  // Headers must come, and bytes keep coming, within 600 ms.
  const context = appOnSimulator(200, () => ({ SEGMIND_REQUEST_TIMEOUT_MS: '600' }));

  it.each([
    ['never sends its headers', { hang: true }],
    ['stops sending bytes halfway', { stallAfterBytes: 20_000 }],
  ] as const)('gives up on a download whose server %s, and the retry stores the whole video', async (_what, fault) => {
    const { sim, server } = context;
    sim.simulator.injectFault({ endpoint: 'file', ...fault });
    const logsBefore = server.logs.length;
    const generation = await create(server, `a download that ${_what}`);
    const final = await untilFinal(server, generation.id);

    expect(final.status).toBe('SUCCEEDED');
    expect(logLines(server, logsBefore, 'video download failed')).toHaveLength(1);
    // The whole clip the simulator rendered for this job, byte for byte.
    const job = sim.simulator.jobs().find((j) => j.input.prompt === `a download that ${_what}`)!;
    const clip = await fetchSimulatedVideo(sim.simulator.url, job.requestId);
    expect(final.video?.sizeBytes).toBe(clip.length);
    expect(Buffer.from(await (await fetch(final.video!.url)).arrayBuffer()).equals(clip)).toBe(true);
    expect((await videoFiles(server)).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(sim.simulator.submissions()).toBe(1);
  });
});

describe.skipIf(!hasPostgres)('a hung result download on a one-slot worker', () => {
  const DEADLINE_MS = 3000;
  // The default 30 s download timeouts are far beyond the deadline: only the deadline can end the hang.
  const context = appOnSimulator(200, () => ({ WORKER_CONCURRENCY: '1', GENERATION_DEADLINE_MS: String(DEADLINE_MS) }));

  it('fails as TIMEOUT at the deadline, removes the partial file and frees the slot for another key’s job', async () => {
    const { database, sim, server } = context;
    sim.simulator.injectFault({ endpoint: 'file', stallAfterBytes: 20_000 });
    const stuck = await create(server, 'a download that hangs forever');
    await waitFor('the download to hang', async () =>
      (await fetchGeneration(server, stuck.id)).status === 'STORING' && (await videoFiles(server)).some((f) => f.endsWith('.part')) ? true : undefined,
    );
    const other = await createKeyIn(database.url, { name: 'another-key' });
    const otherHeaders = { authorization: `Bearer ${other.key}` };
    // Created 2 s after the stuck one, so it has 2 s of its own left once the stuck one's deadline passes.
    await sleep(Math.max(0, Date.parse(stuck.createdAt) + 2000 - Date.now()));
    const waiting = await create(server, 'another key’s job', otherHeaders);

    const failed = await untilFinal(server, stuck.id, 10_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error?.code).toBe('TIMEOUT');
    expect(failed.error?.message).toMatch(/charge may still apply/);
    const lateMs = Date.parse(failed.completedAt!) - (Date.parse(failed.createdAt) + DEADLINE_MS);
    expect(lateMs, 'ms past the deadline').toBeLessThan(1500);

    const next = await untilFinal(server, waiting.id, 10_000, otherHeaders);
    expect(next.status).toBe('SUCCEEDED');
    expect((await videoFiles(server)).sort()).toEqual([`${waiting.id}.last.jpg`, `${waiting.id}.mp4`, `${waiting.id}.poster.jpg`]);
  });

  it('stops a hung download at once when the generation is canceled, and frees the slot', async () => {
    const { sim, server } = context;
    sim.simulator.injectFault({ endpoint: 'file', hang: true });
    const generation = await create(server, 'a download canceled while it hangs');
    await waitFor('the download to start', async () => ((await fetchGeneration(server, generation.id)).status === 'STORING' ? true : undefined));
    const canceledAt = Date.now();
    const canceled = await server.graphql(CANCEL, { id: generation.id });
    expect(canceled.data?.cancelGeneration.__typename).toBe('CancelGenerationSuccess');
    await waitFor('the worker to let go', () => (server.app.worker!.inFlight === 0 ? true : undefined), { timeoutMs: 2000 });
    expect(since(canceledAt)).toBeLessThan(2000);
    expect((await fetchGeneration(server, generation.id)).status).toBe('CANCELED');
    expect((await videoFiles(server)).filter((f) => f.startsWith(generation.id))).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)('result files that are not an MP4 video', () => {
  let files: Awaited<ReturnType<typeof startFileHost>>;
  beforeAll(async () => {
    files = await startFileHost();
    const sample = await sampleVideo;
    files.files.set('/page.mp4', Buffer.from('<!doctype html><html><body><h1>Not Found</h1></body></html>'));
    files.files.set('/empty.mp4', Buffer.alloc(0));
    files.files.set('/truncated.mp4', sample.subarray(0, Math.floor(sample.length / 2)));
    files.files.set('/audio-only.mp4', await audioOnlyMp4());
    files.files.set('/video.mp4', sample);
  });
  afterAll(() => files?.stop());
  const context = appOnSimulator(150, (simEnv) => ({ SEGMIND_OUTPUT_HOSTS: `${simEnv.SEGMIND_OUTPUT_HOSTS},${files.host}` }));

  it.each([
    ['an HTML page', '/page.mp4'],
    ['an empty body', '/empty.mp4'],
    ['the first half of an MP4', '/truncated.mp4'],
    ['an MP4 without a video track', '/audio-only.mp4'],
  ])('fails as INVALID_RESULT when the result is %s, and keeps no file', async (_what, file) => {
    const { sim, server } = context;
    pointResultAt(sim, `${files.url}${file}`);
    const generation = await create(server, `a result that is ${_what}`);
    const final = await untilFinal(server, generation.id);

    expect(final.status).toBe('FAILED');
    expect(final.error).toMatchObject({ code: 'INVALID_RESULT', retryable: true });
    expect(final.error!.message).toMatch(/not a playable MP4/);
    expect(final.video).toBeNull();
    expect(files.hits).toContain(file);
    expect((await videoFiles(server)).filter((f) => f.startsWith(generation.id))).toEqual([]);
  });

  it('fails as INVALID_RESULT when the result is a page of the simulator itself, on an allowed host and port', async () => {
    const { sim, server } = context;
    pointResultAt(sim, `${sim.simulator.url}/__sim/stats`);
    const final = await untilFinal(server, (await create(server, 'a result that is a JSON page')).id);
    expect(final.error?.code).toBe('INVALID_RESULT');
  });

  it('never downloads from a listed host on another port, such as this server’s own /metrics', async () => {
    const { sim, server } = context;
    const logsBefore = server.logs.length;
    pointResultAt(sim, `${server.url}/metrics`);
    const final = await untilFinal(server, (await create(server, 'a result that is our own metrics')).id);

    expect(final.status).toBe('FAILED');
    expect(final.error?.code).toBe('STORAGE_FAILED');
    expect(logLines(server, logsBefore, '"path":"/metrics"')).toEqual([]);
  });

  it('serves the verified type, not what Segmind claimed', async () => {
    const { sim, server } = context;
    pointResultAt(sim, `${files.url}/video.mp4`, 'text/html');
    const final = await untilFinal(server, (await create(server, 'a video Segmind calls a web page')).id);

    expect(final.status).toBe('SUCCEEDED');
    expect(final.video?.contentType).toBe('video/mp4');
    const served = await fetch(final.video!.url);
    expect(served.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await served.arrayBuffer()).equals(await sampleVideo)).toBe(true);
  });

  it('compares host and port: an entry without a port means the default port of the scheme', () => {
    const policy = { allowedHosts: ['*.segmind.com', 'storage.googleapis.com', '127.0.0.1:9000', '[::1]:8080', 'cdn.example:8443'] };
    const allowed = [
      'https://a.segmind.com/v.mp4',
      'https://a.segmind.com:443/v.mp4',
      'https://storage.googleapis.com/b/v.mp4',
      'http://127.0.0.1:9000/v.mp4',
      'http://2130706433:9000/v.mp4',
      'http://[::1]:8080/v.mp4',
      'https://cdn.example:8443/v.mp4',
    ];
    const refused = [
      'https://a.segmind.com:8443/v.mp4',
      'https://storage.googleapis.com:444/b/v.mp4',
      'http://127.0.0.1/v.mp4',
      'http://127.0.0.1:9001/v.mp4',
      'http://[::1]/v.mp4',
      'https://cdn.example/v.mp4',
    ];
    for (const url of allowed) expect(() => assertDownloadable(new URL(url), policy), url).not.toThrow();
    for (const url of refused) expect(() => assertDownloadable(new URL(url), policy), url).toThrow(UnsafeDownloadError);
    expect(hostAllowed(new URL('http://127.0.0.1:80/'), ['127.0.0.1'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:4000/'), ['127.0.0.1'])).toBe(false);
  });
});

describe.skipIf(!hasPostgres)('partial files of downloads that died', () => {
  let database: TestDatabase;
  let sim: Simulator;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 150 });
  });
  afterAll(async () => {
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('are removed when a worker killed mid-download is replaced and the download is retried', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-partial-'));
    const videos = path.join(dataDir, 'videos');
    let killed: ServerProcess | undefined;
    let api: TestApp | undefined;
    let resumer: TestApp | undefined;
    try {
      const env = { DATABASE_URL: database.url, DATA_DIR: dataDir, ...sim.env };
      api = await startTestApp({ ...env, ROLE: 'api' });
      killed = await spawnServer({ ...env, ROLE: 'worker', LEASE_MS: '1000', SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' });
      sim.simulator.injectFault({ endpoint: 'file', stallAfterBytes: 20_000 });
      const generation = await create(api, 'a download cut by SIGKILL');
      await waitFor('a partial file', async () => ((await readdir(videos).catch(() => [])).some((f) => f.endsWith('.part')) ? true : undefined));
      expect(await killed.stop('SIGKILL')).toBeNull();
      expect((await readdir(videos)).filter((f) => f.endsWith('.part'))).toHaveLength(1);

      resumer = await startTestApp({ ...env, ROLE: 'worker' });
      const final = await untilFinal(api, generation.id);
      expect(final.status).toBe('SUCCEEDED');
      expect((await readdir(videos)).sort()).toEqual([`${generation.id}.last.jpg`, `${generation.id}.mp4`, `${generation.id}.poster.jpg`]);
    } finally {
      await killed?.stop('SIGKILL');
      await resumer?.stop();
      await api?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('are swept by retention once stale, while fresh ones and videos stay', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'reelql-sweep-'));
    try {
      const storage = await createLocalStorage(directory);
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      const stale = 'gen-a.mp4.0b0e3c9e-6a8f-4d3a-9a51-3f0e7c1d2b4a.part';
      const fresh = 'gen-b.mp4.5d2f1a7c-1e4b-4c8d-8f3e-2a6b9c0d1e2f.part';
      const video = 'gen-c.mp4';
      for (const name of [stale, fresh, video]) await writeFile(path.join(directory, name), 'bytes');
      await utimes(path.join(directory, stale), twoDaysAgo, twoDaysAgo);
      await utimes(path.join(directory, video), twoDaysAgo, twoDaysAgo);

      const result = await applyRetention({
        db: dbOf(database),
        storage,
        log: createLogger('silent', lineDestination(() => {})),
        videoRetentionDays: 0,
        eventRetentionDays: 0,
        partialFileMaxAgeMs: 3600 * 1000,
      });
      expect(result.partialFiles).toBe(1);
      expect((await readdir(directory)).sort()).toEqual([fresh, video].sort());
      expect(existsSync(path.join(directory, stale))).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
