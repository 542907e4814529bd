/**
 * Scenario 7: serving a stored 50 MB video. The real server runs as its own process (`node --import tsx
 * src/main.ts`, ROLE=api, Postgres) so its resident memory is its own; a generation made through the API is marked
 * SUCCEEDED with a 50 MB file written into its storage directory, and the signed URL comes from the API
 * (`generation { video { url } }`), so every request goes through the real `/videos` route and its token check.
 * The baseline is a bare `node:http` server streaming the same file with `fs.createReadStream`
 * (bench/serving-baseline.ts), also its own process. The load generator (`node:http` with keep-alive) runs here.
 *
 * For each: 20 concurrent full downloads while the server's RSS is sampled every 100 ms (before / peak / 2 s
 * after); then full GETs and random 1 MB Range requests at fixed concurrency, in rounds that alternate the two
 * servers so that changes in the shared machine's load fall on both.
 */

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { latencyStats, type LatencyStats } from './load.js';
import { cpuSecondsOf, createBenchDatabase, rssMbOf, spawnBaselineScript, spawnServer, type SpawnedServer } from './support.js';

export interface TransferResult {
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  requestsPerSecond: number;
  /** Body bytes received ÷ seconds, in MB/s (1 MB = 2^20 bytes). */
  mbPerSecond: number;
  /** Request sent → last byte received. */
  latencyMs: LatencyStats;
  /** CPU time (user + system) the serving process used per GB sent. */
  cpuSecondsPerGb: number;
}

export interface MemoryResult {
  concurrency: number;
  seconds: number;
  downloads: number;
  errors: number;
  mbPerSecond: number;
  beforeMb: number;
  peakMb: number;
  /** 2 s after the last download ended. */
  afterMb: number;
  /** Peak − before. */
  growthMb: number;
}

export interface ServingTargetResult {
  memory: MemoryResult;
  full: TransferResult;
  range: TransferResult;
}

export interface ServingResult {
  scenario: 'serving';
  parameters: {
    fileMb: number;
    fullConcurrency: number;
    rangeConcurrency: number;
    rangeBytes: number;
    phaseSeconds: number;
    /** Each target's phaseSeconds is split into this many stretches, alternating with the other target's. */
    rounds: number;
    memoryConcurrency: number;
    memorySeconds: number;
  };
  app: ServingTargetResult;
  baseline: ServingTargetResult;
  targets: { memoryGrowthAtMostMb: number; memoryFlat: boolean };
}

const MB = 1024 * 1024;

/** One GET (optionally of a byte range), body counted and dropped; resolves to the body's length. */
function download(agent: http.Agent, url: URL, range?: { start: number; end: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {} }, (response) => {
      const expected = Number(response.headers['content-length']);
      const status = range ? 206 : 200;
      let bytes = 0;
      response.on('data', (chunk: Buffer) => void (bytes += chunk.length));
      response.on('end', () => {
        if (response.statusCode === status && bytes === expected && (!range || bytes === range.end - range.start + 1)) resolve(bytes);
        else reject(new Error(`HTTP ${response.statusCode}: ${bytes} bytes of ${expected}`));
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** One stretch of requests at fixed concurrency: raw figures, so several stretches can be merged. */
interface Stretch {
  latencies: number[];
  errors: number;
  firstError?: string;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
}

async function stretch(pid: number, concurrency: number, ms: number, fetchOne: (agent: http.Agent) => Promise<number>): Promise<Stretch> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  const cpuBefore = await cpuSecondsOf(pid);
  const started = performance.now();
  const end = started + ms;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            const got = await fetchOne(agent);
            bytes += got;
            latencies.push(performance.now() - t);
          } catch (error) {
            errors += 1;
            firstError ??= String(error);
          }
        }
      }),
    );
    return { latencies, errors, firstError, bytes, seconds: (performance.now() - started) / 1000, cpuSeconds: (await cpuSecondsOf(pid)) - cpuBefore };
  } finally {
    agent.destroy();
  }
}

function merge(concurrency: number, stretches: Stretch[]): TransferResult {
  const latencies = stretches.flatMap((s) => s.latencies);
  const seconds = stretches.reduce((sum, s) => sum + s.seconds, 0);
  const bytes = stretches.reduce((sum, s) => sum + s.bytes, 0);
  const cpu = stretches.reduce((sum, s) => sum + s.cpuSeconds, 0);
  const errors = stretches.reduce((sum, s) => sum + s.errors, 0);
  const firstError = stretches.find((s) => s.firstError)?.firstError;
  return {
    concurrency,
    requests: latencies.length,
    errors,
    ...(firstError && { firstError }),
    seconds,
    requestsPerSecond: latencies.length / seconds,
    mbPerSecond: bytes / MB / seconds,
    latencyMs: latencyStats(latencies),
    cpuSecondsPerGb: bytes ? cpu / (bytes / 1024 / MB) : Number.NaN,
  };
}

/** RSS of `pid` before, during (peak, sampled every 100 ms) and 2 s after `concurrency` full downloads at once. */
async function measureMemory(label: string, pid: number, url: URL, p: ServingResult['parameters'], log: (message: string) => void): Promise<MemoryResult> {
  const beforeMb = await rssMbOf(pid);
  let peakMb = beforeMb;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakMb = Math.max(peakMb, await rssMbOf(pid));
      await sleep(100);
    }
  })();
  const run = await stretch(pid, p.memoryConcurrency, p.memorySeconds * 1000, (agent) => download(agent, url)).finally(() => {
    sampling = false;
  });
  await sampler;
  await sleep(2000);
  const afterMb = await rssMbOf(pid);
  const memory: MemoryResult = {
    concurrency: p.memoryConcurrency,
    seconds: run.seconds,
    downloads: run.latencies.length,
    errors: run.errors,
    mbPerSecond: run.bytes / MB / run.seconds,
    beforeMb,
    peakMb,
    afterMb,
    growthMb: peakMb - beforeMb,
  };
  log(
    `serving: ${label}: ${memory.downloads} downloads by ${p.memoryConcurrency} at once (${memory.mbPerSecond.toFixed(0)} MB/s); ` +
      `RSS ${beforeMb.toFixed(0)} → peak ${peakMb.toFixed(0)} → ${afterMb.toFixed(0)} MB` +
      (run.errors ? `; ${run.errors} failed: ${run.firstError}` : ''),
  );
  return memory;
}

interface Target {
  label: string;
  pid: number;
  url: URL;
}

/**
 * Memory for each target in turn; then full GETs and Range requests in rounds that alternate the two targets
 * (and which goes first), so a change in the machine's load falls on both rather than on one.
 */
async function measureTargets(targets: [Target, Target], size: number, p: ServingResult['parameters'], log: (message: string) => void) {
  for (const target of targets) {
    const warm = new http.Agent({ keepAlive: false });
    await download(warm, target.url);
    await download(warm, target.url, { start: 0, end: p.rangeBytes - 1 });
    warm.destroy();
  }
  await sleep(1000);
  const memory = [await measureMemory(targets[0].label, targets[0].pid, targets[0].url, p, log), await measureMemory(targets[1].label, targets[1].pid, targets[1].url, p, log)];
  const full: Stretch[][] = [[], []];
  const range: Stretch[][] = [[], []];
  const stretchMs = (p.phaseSeconds * 1000) / p.rounds;
  for (let round = 0; round < p.rounds; round += 1) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) full[i]!.push(await stretch(targets[i]!.pid, p.fullConcurrency, stretchMs, (agent) => download(agent, targets[i]!.url)));
    for (const i of order) {
      range[i]!.push(
        await rangeStretch(targets[i]!.pid, targets[i]!.url, size, p.rangeBytes, p.rangeConcurrency, stretchMs),
      );
    }
  }
  return targets.map((target, i): ServingTargetResult => {
    const result = { memory: memory[i]!, full: merge(p.fullConcurrency, full[i]!), range: merge(p.rangeConcurrency, range[i]!) };
    log(
      `serving: ${target.label}: full GETs ${result.full.mbPerSecond.toFixed(0)} MB/s (p99 ${result.full.latencyMs.p99.toFixed(0)} ms); ` +
        `1 MB ranges ${result.range.requestsPerSecond.toFixed(0)} req/s (p99 ${result.range.latencyMs.p99.toFixed(1)} ms)`,
    );
    return result;
  }) as [ServingTargetResult, ServingTargetResult];
}

/** The baseline server as a child process; resolves once it listens. */
export const startBaselineServer = (file: string) => spawnBaselineScript('bench/serving-baseline.ts', [file]);

const GENERATE = `mutation { generateVideo(input: { prompt: "bench serving: a harbour at dawn", durationSeconds: 8 }) {
  ... on GenerateVideoSuccess { generation { id } } } }`;
const VIDEO = 'query Video($id: ID!) { generation(id: $id) { status video { url sizeBytes contentType } } }';

/**
 * A generation of the server's key, finished by hand with a `fileMb` MB file in its storage directory; returns the
 * file and the signed URL the API gives for it.
 */
export async function storeServedVideo(server: SpawnedServer, databaseUrl: string, fileMb: number): Promise<{ file: string; url: URL }> {
  const made = await server.graphql<{ generateVideo: { generation: { id: string } } }>(GENERATE);
  const id = made.generateVideo.generation.id;
  const file = path.join(server.dataDir, 'videos', `${id}.mp4`);
  const size = fileMb * MB;
  const chunk = randomBytes(MB);
  const out = createWriteStream(file);
  for (let i = 0; i < fileMb; i += 1) if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`
      update generations set status = 'SUCCEEDED', progress = 1, video_key = ${`${id}.mp4`}, video_content_type = 'video/mp4',
        video_size_bytes = ${size}, completed_at = now(), updated_at = now(), version = version + 1
      where id = ${id}`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  const { generation } = await server.graphql<{ generation: { status: string; video: { url: string; sizeBytes: number } | null } }>(VIDEO, { id });
  if (!generation.video || generation.video.sizeBytes !== size) throw new Error(`no video URL for the generation: ${JSON.stringify(generation)}`);
  return { file, url: new URL(generation.video.url) };
}

/** `concurrency` loops of random `rangeBytes` Range requests to `url` (a file of `size` bytes) for `ms`. */
export const rangeStretch = (pid: number, url: URL, size: number, rangeBytes: number, concurrency: number, ms: number) =>
  stretch(pid, concurrency, ms, (agent) => {
    const start = Math.floor(Math.random() * (size - rangeBytes));
    return download(agent, url, { start, end: start + rangeBytes - 1 });
  });

export async function runServingScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  fileMb?: number;
  phaseSeconds?: number;
}): Promise<ServingResult> {
  const { log } = options;
  const parameters: ServingResult['parameters'] = {
    fileMb: options.fileMb ?? 50,
    fullConcurrency: 4,
    rangeConcurrency: 16,
    rangeBytes: MB,
    phaseSeconds: options.phaseSeconds ?? 6,
    rounds: 3,
    memoryConcurrency: 20,
    memorySeconds: 8,
  };
  const database = await createBenchDatabase(options.adminUrl);
  options.defer(() => database.drop());
  const server = await spawnServer({ env: { DATABASE_URL: database.url, ROLE: 'api' } });
  options.defer(() => server.stop());

  const { file, url: appUrl } = await storeServedVideo(server, database.url, parameters.fileMb);
  log(`serving: ${parameters.fileMb} MB file at ${appUrl.pathname} (signed URL from the API); server pid ${server.pid}`);

  const baselineServer = await startBaselineServer(file);
  options.defer(() => baselineServer.stop());
  let app: ServingTargetResult;
  let baseline: ServingTargetResult;
  try {
    [app, baseline] = await measureTargets(
      [
        { label: 'reelql /videos', pid: server.pid, url: appUrl },
        { label: 'baseline createReadStream', pid: baselineServer.pid, url: new URL(baselineServer.url) },
      ],
      parameters.fileMb * MB,
      parameters,
      log,
    );
  } finally {
    await baselineServer.stop();
    await server.stop();
  }
  const memoryGrowthAtMostMb = parameters.fileMb;
  return {
    scenario: 'serving',
    parameters,
    app,
    baseline,
    targets: {
      memoryGrowthAtMostMb,
      memoryFlat: app.memory.errors === 0 && app.memory.downloads > 0 && app.memory.growthMb <= memoryGrowthAtMostMb,
    },
  };
}
