/**
 * Scale-out (BENCH_ONLY=scale-out; not in the default run): 2 API and 2 worker processes on one Postgres
 * database and one Segmind simulator with 10 s jobs. 2,000 generations are asked for through both APIs, each
 * watched by its own graphql-ws subscriber on one of the two APIs. Checks that every generation SUCCEEDED and
 * every subscriber saw every version from its first one to the last in the database, in order and once;
 * reports the throughput and the CPU time the database's Postgres backends used per generation.
 * BENCH_SCALE_GENERATIONS changes the count (and the subscribers with it), BENCH_SCALE_JOB_MS the job length.
 */

import { readdir, readFile } from 'node:fs/promises';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createSegmindSimulator } from '../src/segmind/simulator/index.js';
import { pickupServerEnv } from './pickup.js';
import { createBenchDatabase, liftKeyLimits, spawnServer, within, type SpawnedServer } from './support.js';

export interface ScaleOutResult {
  scenario: 'scale-out';
  parameters: { generations: number; subscribers: number; jobMs: number; apis: number; workers: number };
  succeeded: number;
  /** Subscribers that missed a version, saw one twice or out of order, or did not end at the final version. */
  subscribersWithGaps: number;
  /** First request → last generation SUCCEEDED. */
  wallSeconds: number;
  generationsPerSecond: number;
  /** CPU (user + system) of the database's Postgres backends at the end, per generation. */
  postgresCpuMsPerGeneration: number;
  markdown: string;
}

const GENERATE = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id } } ... on Error { message } }
}`;
const WATCH = `subscription W($id: ID!) { generationStatus(id: $id) { id version status } }`;

/** CPU seconds of the Postgres backends serving `database` (their process titles name it). */
async function postgresCpuSeconds(database: string): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const title = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (!title.startsWith('postgres: ') || !title.includes(` ${database} `)) continue;
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks / 100;
}

export async function runScaleOutScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  generations?: number;
  jobMs?: number;
}): Promise<ScaleOutResult> {
  const n = options.generations ?? 2000;
  const jobMs = options.jobMs ?? 10_000;
  const { log } = options;
  const database = await createBenchDatabase(options.adminUrl);
  options.defer(() => database.drop());
  const databaseName = new URL(database.url).pathname.slice(1);
  const simulator = createSegmindSimulator({ processingMs: jobMs, processingJitter: 0 });
  const simulatorUrl = await simulator.start();
  options.defer(() => simulator.stop());
  const env = {
    ...pickupServerEnv(database.url, simulatorUrl),
    // 500 jobs at the simulator at once: 2,000 run in four waves of one job length.
    WORKER_CONCURRENCY: String(Math.min(250, Math.ceil(n / 2))),
    SEGMIND_MAX_IN_FLIGHT: String(Math.min(500, n)),
    SEGMIND_SUBMITS_PER_MINUTE: String(60 * n),
    SEGMIND_POLL_MIN_MS: '200',
    SEGMIND_POLL_MAX_MS: '2000',
    MAX_SUBSCRIPTIONS_PER_KEY: String(n + 10),
    // The first API makes a development key though SEGMIND_API_KEY is set (the simulator stands in for Segmind).
    DEVELOPMENT_KEY: 'on',
    LOG_LEVEL: 'warn',
  };
  const servers: SpawnedServer[] = [];
  options.defer(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  const first = await spawnServer({ env: { ...env, ROLE: 'api' }, readyTimeoutMs: 120_000 });
  servers.push(first);
  await liftKeyLimits(database.url);
  const spawnMore = (role: string) => spawnServer({ env: { ...env, ROLE: role, LOG_LEVEL: 'info' }, key: first.key, readyTimeoutMs: 120_000 });
  servers.push(...(await Promise.all([spawnMore('api'), spawnMore('worker'), spawnMore('worker')])));
  const apis = servers.filter((_, i) => i < 2);
  log(`scale-out: 2 API + 2 worker processes up; ${n} generations of ${jobMs} ms jobs, ${n} subscribers`);

  const clients: Client[] = [];
  options.defer(async () => {
    for (const client of clients) await client.dispose();
  });
  const seen = new Map<string, number[]>();
  const finished = new Map<string, Promise<void>>();
  const clientFor = (index: number) => {
    const client = createClient({
      url: `${apis[index % 2]!.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${first.key}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };
  const watch = (index: number, id: string) => {
    const versions: number[] = [];
    seen.set(id, versions);
    const done = new Promise<void>((resolve, reject) => {
      clientFor(index).subscribe<{ generationStatus: { version: number; status: string } }>(
        { query: WATCH, variables: { id } },
        {
          next: (value) => void versions.push(value.data!.generationStatus.version),
          error: (error) => reject(new Error(`subscriber of ${id}: ${JSON.stringify(error)}`)),
          complete: resolve,
        },
      );
    });
    finished.set(id, done);
  };

  const startedAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const index = next++;
        const api = apis[index % 2]!;
        const made = await api.graphql<{ generateVideo: { __typename: string; generation?: { id: string }; message?: string } }>(GENERATE, {
          input: { prompt: `scale-out #${index}: a paper boat on a stream`, durationSeconds: 4 },
        });
        if (!made.generateVideo.generation) throw new Error(`generateVideo: ${made.generateVideo.message ?? made.generateVideo.__typename}`);
        watch(index, made.generateVideo.generation.id);
      }
    }),
  );
  log(`scale-out: ${n} asked for in ${((performance.now() - startedAt) / 1000).toFixed(1)} s; waiting for them to finish`);
  // Every stored video's poster and last frame cost about 0.3 CPU-seconds: on 2 cores, 2,000 of them alone take
  // about 5 minutes, so the wait allows for that besides the job waves.
  const waitMs = Math.max(120_000, 20 * jobMs + 300 * n);
  let ended = 0;
  for (const done of finished.values()) void done.then(() => (ended += 1), () => undefined);
  const progress = setInterval(() => log(`scale-out: ${ended}/${n} subscriptions complete`), 30_000);
  try {
    await within(Promise.all(finished.values()), waitMs, `scale-out: every subscription to complete (${n} asked for)`);
  } catch (error) {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    const statuses = await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from generations group by status`.finally(() => sql.end({ timeout: 1 }));
    throw new Error(`${String(error)}; ${ended} had completed; generations by status: ${statuses.map((row) => `${row.status} ${row.n}`).join(', ')}`, {
      cause: error,
    });
  } finally {
    clearInterval(progress);
  }
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const postgresCpu = await postgresCpuSeconds(databaseName);

  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  let succeeded = 0;
  let subscribersWithGaps = 0;
  try {
    const rows = await sql<{ id: string; status: string; version: number }[]>`select id, status, version from generations`;
    for (const row of rows) {
      if (row.status === 'SUCCEEDED') succeeded += 1;
      const versions = seen.get(row.id) ?? [];
      const contiguous = versions.every((version, i) => i === 0 || version === versions[i - 1]! + 1);
      if (!versions.length || !contiguous || versions.at(-1) !== row.version) subscribersWithGaps += 1;
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
  const result = {
    scenario: 'scale-out' as const,
    parameters: { generations: n, subscribers: n, jobMs, apis: 2, workers: 2 },
    succeeded,
    subscribersWithGaps,
    wallSeconds,
    generationsPerSecond: n / wallSeconds,
    postgresCpuMsPerGeneration: (1000 * postgresCpu) / n,
  };
  log(
    `scale-out: ${succeeded}/${n} SUCCEEDED, ${subscribersWithGaps} subscribers with a gap, ${wallSeconds.toFixed(1)} s, ` +
      `${result.generationsPerSecond.toFixed(1)} generations/s, Postgres ${result.postgresCpuMsPerGeneration.toFixed(1)} ms CPU per generation`,
  );
  const markdown = [
    '## Scale-out: 2 API + 2 worker processes on one Postgres',
    '',
    `| generations (jobs of ${jobMs / 1000} s) | SUCCEEDED | subscribers that saw every version | first request → last SUCCEEDED | throughput | Postgres CPU per generation |`,
    '|---|---|---|---|---|---|',
    `| ${n} | ${succeeded} | ${n - subscribersWithGaps} of ${n} | ${wallSeconds.toFixed(1)} s | ${result.generationsPerSecond.toFixed(1)} generations/s | ${result.postgresCpuMsPerGeneration.toFixed(1)} ms |`,
    '',
    '- Each generation is asked for through one of the two APIs (16 requests at a time) and watched over graphql-ws on ' +
      'one of them; the two workers share the queue (claims with SKIP LOCKED) and the simulator runs every job for the same time. ' +
      '"Saw every version": versions contiguous from the first one received to the one the database ends at. ' +
      "Postgres CPU: user + system time of this database's backends (from /proc, at the end; the WAL writer and checkpointer, shared with other databases, are not counted).",
    '',
  ].join('\n');
  return { ...result, markdown };
}
