/**
 * Scenario 1: `generateVideo` over HTTP against a bare `node:http` handler that does the same writes (the generation
 * INSERT, the event INSERT and both NOTIFYs in one transaction, with postgres.js) and nothing else: no GraphQL, no
 * authentication, no validation, no budget or idempotency checks. Both run in this process, like the load generator.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { closedLoop, mergeLoads, pacedLoop, type LoadResult } from './load.js';

type PacedResult = LoadResult & { skipped: number };
import { createApiKey, findActiveKey } from '../src/auth/keys.js';
import { cpuSecondsOf, createBenchDatabase, spawnBaselineScript, spawnServer, type BenchApp } from './support.js';

export interface MutationOptions {
  bench: BenchApp;
  databaseUrl: string;
  log: (message: string) => void;
  concurrency?: number;
  durationMs?: number;
  pacedRate?: number;
  pacedMs?: number;
}

export interface MutationResult {
  scenario: 'mutation';
  parameters: { concurrency: number; durationSeconds: number; pacedRate: number; pacedSeconds: number };
  app: { closed: LoadResult; paced: PacedResult };
  /** The app at the same concurrency with one key per client loop, so admitGeneration's per-key lock never waits. */
  appKeyPerClient: LoadResult;
  baseline: { closed: LoadResult; paced: PacedResult };
  /** app ÷ baseline requests per second at fixed concurrency. */
  throughputRatio: number;
  targets: { throughputRatioAtLeast: number; throughputMet: boolean; pacedP99AtMostMs: number; pacedP99Met: boolean };
}

const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id } } ... on Error { message } }
}`;

let counter = 0;
const body = () =>
  JSON.stringify({
    query: GENERATE,
    variables: { input: { prompt: `bench mutation #${(counter += 1)}: a lighthouse at dusk, waves, slow dolly in`, durationSeconds: 8 } },
  });

/** One generateVideo request; throws unless it answered GenerateVideoSuccess. */
export async function postGenerate(url: string, key: string | undefined): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(key && { authorization: `Bearer ${key}` }),
    },
    body: body(),
  });
  const text = await response.text();
  if (!response.ok || !text.includes('"GenerateVideoSuccess"')) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
}

/** The bare handler: parse the body, then one transaction with the same two INSERTs and NOTIFYs as the app. */
export async function startBaseline(databaseUrl: string, apiKeyId: string): Promise<{ url: string; stop(): Promise<void> }> {
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables: { input: { prompt: string } } };
          const now = new Date();
          const id = randomUUID();
          await sql.begin(async (tx) => {
            const [row] = await tx`insert into generations ${tx({
              id,
              prompt: parsed.variables.input.prompt,
              aspect_ratio: '16:9',
              duration_seconds: 8,
              resolution: '1080p',
              generate_audio: true,
              seed: Math.floor(Math.random() * 2 ** 31),
              api_key_id: apiKeyId,
              input_hash: id,
              provider: 'SIMULATOR',
              cost_usd: '1.20',
              created_at: now,
              updated_at: now,
              deadline_at: new Date(now.getTime() + 900_000),
            })} returning *`;
            await tx`insert into generation_events ${tx({
              generation_id: id,
              version: 1,
              type: 'created',
              status: 'QUEUED',
              message: 'Accepted and queued.',
              snapshot: tx.json(JSON.parse(JSON.stringify(row)) as postgres.JSONValue),
            })}`;
            await tx`select pg_notify('generation_updates', ${`${id}:1`}), pg_notify('generation_jobs', ${id})`;
          });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data: { generateVideo: { __typename: 'GenerateVideoSuccess', generation: { id } } } }));
        } catch (error) {
          res.writeHead(500);
          res.end(String(error));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await sql.end({ timeout: 1 });
    },
  };
}

/** Issue targets: at least half the baseline's throughput, and p99 ≤ 50 ms at the paced rate with no failures. */
function mutationTargets(throughputRatio: number, paced: PacedResult) {
  return {
    throughputRatioAtLeast: 0.5,
    throughputMet: throughputRatio >= 0.5,
    pacedP99AtMostMs: 50,
    pacedP99Met: paced.errors === 0 && paced.latencyMs.p99 <= 50,
  };
}

export async function runMutationScenario(options: MutationOptions): Promise<MutationResult> {
  const { bench, log } = options;
  const concurrency = options.concurrency ?? 16;
  const durationMs = options.durationMs ?? 10_000;
  const pacedRate = options.pacedRate ?? 200;
  const pacedMs = options.pacedMs ?? 5_000;
  // The baseline's rows belong to the bench key too, so the delivery scenario may use them.
  const apiKeyId = (await findActiveKey(bench.app.database.db, bench.key))?.id;
  if (!apiKeyId) throw new Error('the bench key is not in the database');

  const measure = async (label: string, url: string, key: string | undefined) => {
    const send = () => postGenerate(url, key);
    await closedLoop(concurrency, 1000, send); // warm-up, not recorded
    log(`mutation: ${label}, ${concurrency} concurrent for ${durationMs / 1000} s`);
    const closed = await closedLoop(concurrency, durationMs, send);
    log(`mutation: ${label}: ${closed.requestsPerSecond.toFixed(0)} req/s, p99 ${closed.latencyMs.p99.toFixed(1)} ms; paced at ${pacedRate}/s`);
    const paced = await pacedLoop(pacedRate, pacedMs, send, 500);
    return { closed, paced };
  };

  const app = await measure('app generateVideo', `${bench.url}/graphql`, bench.key);
  const keys: string[] = [];
  for (let i = 0; i < concurrency; i += 1) {
    keys.push((await createApiKey(bench.app.database.db, { name: `bench-mutation-${i}-${Date.now()}` })).key);
  }
  log(`mutation: app generateVideo with ${concurrency} keys, one per client loop, for ${durationMs / 1000} s`);
  const appKeyPerClient = await closedLoop(concurrency, durationMs, (worker) => postGenerate(`${bench.url}/graphql`, keys[worker]));
  const server = await startBaseline(options.databaseUrl, apiKeyId);
  let baseline: MutationResult['baseline'];
  try {
    baseline = await measure('baseline node:http', server.url, undefined);
  } finally {
    await server.stop();
  }
  const throughputRatio = app.closed.requestsPerSecond / baseline.closed.requestsPerSecond;
  return {
    scenario: 'mutation',
    parameters: { concurrency, durationSeconds: durationMs / 1000, pacedRate, pacedSeconds: pacedMs / 1000 },
    app,
    appKeyPerClient,
    baseline,
    throughputRatio,
    targets: mutationTargets(throughputRatio, app.paced),
  };
}

/** The bare baseline as its own process (bench/mutation-baseline-server.ts); `nodeArgs` e.g. to turn the inspector on. */
export const spawnBaseline = (databaseUrl: string, apiKeyId: string, nodeArgs: string[] = []) =>
  spawnBaselineScript('bench/mutation-baseline-server.ts', [databaseUrl, apiKeyId], nodeArgs);

export interface ProcessSide {
  closed: LoadResult;
  paced: PacedResult;
  /** CPU time (user + system, all threads, /proc) of the serving process per answered request, closed loop. */
  cpuMsPerRequest: number;
  /** CPU time of the serving process ÷ wall time during the paced phase: how busy 200 req/s keeps it. */
  pacedBusyShare: number;
}

export interface MutationProcessResult {
  scenario: 'mutation-process';
  parameters: { concurrency: number; durationSeconds: number; pacedRate: number; pacedSeconds: number };
  app: ProcessSide;
  baseline: ProcessSide;
  throughputRatio: number;
  targets: { throughputRatioAtLeast: number; throughputMet: boolean; pacedP99AtMostMs: number; pacedP99Met: boolean };
}

/**
 * Scenario 1 again with each server in its own process (`node --import tsx src/main.ts`, ROLE=api, on a fresh
 * database; the baseline as bench/mutation-baseline-server.ts) and only the clients in this one, as in a deployment.
 * The two take turns in A-B-B-A order (half of each phase per turn) so drifting machine load falls on both.
 */
export async function runMutationProcessScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  concurrency?: number;
  durationMs?: number;
  pacedRate?: number;
  pacedMs?: number;
}): Promise<MutationProcessResult> {
  const { log } = options;
  const concurrency = options.concurrency ?? 16;
  const durationMs = options.durationMs ?? 10_000;
  const pacedRate = options.pacedRate ?? 200;
  const pacedMs = options.pacedMs ?? 5_000;
  const database = await createBenchDatabase(options.adminUrl);
  options.defer(() => database.drop());
  const server = await spawnServer({ env: { DATABASE_URL: database.url, ROLE: 'api' } });
  options.defer(() => server.stop());
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const [key] = await sql<{ id: string }[]>`select id from api_keys limit 1`;
  await sql.end({ timeout: 1 });
  const baseline = await spawnBaseline(database.url, key!.id);
  options.defer(() => baseline.stop());
  const sides = [
    { label: 'app (own process)', url: `${server.url}/graphql`, key: server.key as string | undefined, pid: server.pid },
    { label: 'baseline (own process)', url: baseline.url, key: undefined, pid: baseline.pid },
  ];
  const runs = sides.map(() => ({ closed: [] as LoadResult[], closedLatencies: [] as number[], closedCpu: 0, paced: [] as PacedResult[], pacedLatencies: [] as number[], pacedCpu: 0 }));
  try {
    for (const side of sides) await closedLoop(concurrency, 1000, () => postGenerate(side.url, side.key)); // warm-up
    for (const i of [0, 1, 1, 0]) {
      const side = sides[i]!;
      const run = runs[i]!;
      const send = () => postGenerate(side.url, side.key);
      let cpu = await cpuSecondsOf(side.pid);
      const closed = await closedLoop(concurrency, durationMs / 2, send, run.closedLatencies);
      run.closed.push(closed);
      run.closedCpu += (await cpuSecondsOf(side.pid)) - cpu;
      cpu = await cpuSecondsOf(side.pid);
      run.paced.push(await pacedLoop(pacedRate, pacedMs / 2, send, 500, run.pacedLatencies));
      run.pacedCpu += (await cpuSecondsOf(side.pid)) - cpu;
      log(`mutation: ${side.label}: ${closed.requestsPerSecond.toFixed(0)} req/s for ${durationMs / 2000} s, then paced at ${pacedRate}/s`);
    }
  } finally {
    await baseline.stop();
    await server.stop();
  }
  const [app, base] = runs.map((run): ProcessSide => {
    const closed = mergeLoads(run.closed, run.closedLatencies);
    const paced = mergeLoads(run.paced, run.pacedLatencies);
    return {
      closed,
      paced,
      cpuMsPerRequest: (1000 * run.closedCpu) / Math.max(1, closed.ok),
      pacedBusyShare: run.pacedCpu / Math.max(0.001, paced.seconds),
    };
  }) as [ProcessSide, ProcessSide];
  const throughputRatio = app.closed.requestsPerSecond / base.closed.requestsPerSecond;
  return {
    scenario: 'mutation-process',
    parameters: { concurrency, durationSeconds: durationMs / 1000, pacedRate, pacedSeconds: pacedMs / 1000 },
    app,
    baseline: base,
    throughputRatio,
    targets: mutationTargets(throughputRatio, app.paced),
  };
}
