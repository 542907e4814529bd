/**
 * `npm run bench`: runs the benchmark scenarios and writes bench/results/latest.md and latest.json.
 * Needs a local Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres); each run creates
 * and drops its own database. Stops by itself: a run that takes longer than DEADLINE_MS is cleaned up and fails.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import postgres from 'postgres';
import { runConnectionsScenario } from './connections.js';
import { runDeliveryScenario } from './delivery.js';
import { runMutationProcessScenario, runMutationScenario } from './mutation.js';
import { runPickupScenario } from './pickup.js';
import { runServingScenario } from './serving.js';
import { pollingMarkdown, runPollingScenario } from './polling.js';
import { scenariosMarkdown, type Scenarios } from './report.js';
import { runStartupScenario } from './startup.js';
import { runScaleOutScenario, type ScaleOutResult } from './scale-out.js';
import { runSoakScenario, type SoakResult } from './soak.js';
import { findActiveKey } from '../src/auth/keys.js';
import { createBenchDatabase, startBenchApp } from './support.js';

/** The long scenarios run only when BENCH_ONLY names them; the watchdog then allows for their length. */
const longOnly = (name: string) => process.env.BENCH_ONLY?.split(',').some((n) => n.trim() === name) ?? false;
const soakMinutes = Number(process.env.BENCH_SOAK_MINUTES) > 0 ? Number(process.env.BENCH_SOAK_MINUTES) : 30;
const DEADLINE_MS = 540_000 + (longOnly('soak') ? soakMinutes * 60_000 : 0) + (longOnly('scale-out') ? 900_000 : 0);
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * Optional overrides: BENCH_SCALE (real ÷ benchmark time, default 10), BENCH_GENERATIONS (per mode, default 20),
 * BENCH_SUBSCRIBERS (graphql-ws subscribers, default 1000), BENCH_ONLY (comma-separated: polling, startup, mutation,
 * mutation-process, delivery, pickup, connections, serving; scale-out and soak run only when named here).
 * BENCH_SCALE_GENERATIONS / BENCH_SCALE_JOB_MS (scale-out, default 2000 / 10000), BENCH_SOAK_MINUTES / BENCH_SOAK_INTERVAL_MS
 * (soak, default 30 minutes, a generation every 1000 ms).
 */
const positive = (name: string) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
};
const resultsDir = new URL('./results/', import.meta.url);

const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  // Last registered first; each at most once.
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.error(`bench: clean-up failed: ${String(error)}`));
  }
}

const log = (message: string) => console.log(`[bench +${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${message}`);
const startedAt = Date.now();
const loadAverageAtStart = os.loadavg().map((load) => Math.round(load * 100) / 100);

const deadline = setTimeout(() => {
  console.error(`bench: still running after ${DEADLINE_MS / 1000} s; cleaning up and giving up.`);
  void cleanUp().finally(() => process.exit(2));
}, DEADLINE_MS);

const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
const wanted = (name: string) => !only || only.includes(name);
const defer = (cleanup: () => Promise<void>) => void cleanups.push(cleanup);
const scenarios: Scenarios = { failed: {} };
/** Runs one scenario; a failure is recorded (and reported) instead of ending the run. */
async function attempt<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) {
    scenarios.failed[name] = 'left out by BENCH_ONLY.';
    return undefined;
  }
  try {
    return await run();
  } catch (error) {
    console.error(`bench: ${name} failed:`, error);
    scenarios.failed[name] = `failed: ${String(error).split('\n')[0]}`;
    return undefined;
  }
}

/** Scenarios 1–3 share one database and one server without a worker (ROLE=api). */
async function runApiScenarios(): Promise<void> {
  const database = await createBenchDatabase(adminUrl);
  defer(() => database.drop());
  const subscribers = Math.round(positive('BENCH_SUBSCRIBERS') ?? 1000);
  // All subscribers share the bench key, so the per-key cap is raised to fit them (WebSocket and SSE rounds).
  const bench = await startBenchApp({
    DATABASE_URL: database.url,
    ROLE: 'api',
    MAX_SUBSCRIPTIONS_PER_KEY: String(2 * subscribers + 10),
  });
  defer(() => bench.stop());
  scenarios.mutation = await attempt('mutation', () => runMutationScenario({ bench, databaseUrl: database.url, log }));
  scenarios.delivery = await attempt('delivery', async () => {
    const apiKeyId = (await findActiveKey(bench.app.database.db, bench.key))?.id ?? '';
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    let ids: string[];
    try {
      // Generations of the app's key: subscriptions only stream generations their key owns.
      const rows = await sql<{ id: string }[]>`
        select id from generations
        where api_key_id = ${apiKeyId} and status = 'QUEUED' order by created_at limit ${subscribers + 1}`;
      ids = rows.map((r) => r.id);
    } finally {
      await sql.end({ timeout: 1 });
    }
    // Only when the mutation scenario did not leave enough: create the rest, 16 at a time.
    const generate = `mutation { generateVideo(input: { prompt: "bench delivery: rain on a window" }) {
      ... on GenerateVideoSuccess { generation { id } } } }`;
    while (ids.length < subscribers + 1) {
      const batch = Math.min(16, subscribers + 1 - ids.length);
      const made = await Promise.all(
        Array.from({ length: batch }, () => bench.graphql<{ generateVideo: { generation: { id: string } } }>(generate)),
      );
      ids.push(...made.map((m) => m.generateVideo.generation.id));
    }
    return runDeliveryScenario({ bench, databaseUrl: database.url, ids, subscribers, subscriptionCapPerKey: 2 * subscribers + 10, log });
  });
}

try {
  const polling = await attempt('polling', () =>
    runPollingScenario({
      adminUrl,
      log,
      defer,
      ...(positive('BENCH_SCALE') && { scale: positive('BENCH_SCALE') }),
      ...(positive('BENCH_GENERATIONS') && { generations: Math.round(positive('BENCH_GENERATIONS')!) }),
    }),
  );
  await cleanUp();
  scenarios.startup = await attempt('startup', () => runStartupScenario({ adminUrl, defer, log }));
  await cleanUp();
  if (wanted('mutation') || wanted('delivery')) {
    await runApiScenarios().catch((error: unknown) => {
      console.error('bench: the API scenarios could not start:', error);
      scenarios.failed['mutation/delivery'] = `failed: ${String(error).split('\n')[0]}`;
    });
  }
  await cleanUp();
  scenarios.mutationProcess = await attempt('mutation-process', () => runMutationProcessScenario({ adminUrl, defer, log }));
  await cleanUp();
  scenarios.pickup = await attempt('pickup', () => runPickupScenario({ adminUrl, defer, log }));
  await cleanUp();
  scenarios.connections = await attempt('connections', () => runConnectionsScenario({ adminUrl, defer, log }));
  await cleanUp();
  scenarios.serving = await attempt('serving', () => runServingScenario({ adminUrl, defer, log }));
  await cleanUp();
  let scaleOut: ScaleOutResult | undefined;
  if (longOnly('scale-out')) {
    scaleOut = await attempt('scale-out', () =>
      runScaleOutScenario({
        adminUrl,
        defer,
        log,
        ...(positive('BENCH_SCALE_GENERATIONS') && { generations: Math.round(positive('BENCH_SCALE_GENERATIONS')!) }),
        ...(positive('BENCH_SCALE_JOB_MS') && { jobMs: positive('BENCH_SCALE_JOB_MS') }),
      }),
    );
    await cleanUp();
  }
  let soak: SoakResult | undefined;
  if (longOnly('soak')) {
    soak = await attempt('soak', () => runSoakScenario({ adminUrl, defer, log, minutes: soakMinutes, intervalMs: positive('BENCH_SOAK_INTERVAL_MS') }));
    await cleanUp();
  }
  const environment = {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    /** Other work on the machine skews the timings; recorded so results can be judged. */
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    loadAverageAtStart,
  };
  const generatedAt = new Date().toISOString();
  const { failed, ...measured } = scenarios;
  const json = {
    generatedAt,
    environment,
    durationSeconds: (Date.now() - startedAt) / 1000,
    scenarios: {
      ...(polling && { polling }),
      ...measured,
      ...(scaleOut && { scaleOut: { ...scaleOut, markdown: undefined } }),
      ...(soak && { soak: { ...soak, markdown: undefined } }),
    },
    notMeasured: failed,
  };
  const markdown = [
    '# reelql benchmarks',
    '',
    `Generated ${generatedAt} by \`npm run bench\` in ${json.durationSeconds.toFixed(1)} s ` +
      `(Node ${environment.node}, ${environment.platform}, ${environment.cpus} × ${environment.cpuModel}, ` +
      `load average ${environment.loadAverage.join(' / ')} at the end, ${loadAverageAtStart.join(' / ')} at the start). ` +
      'The machine is shared and its load varies: compare figures within one run, not across runs.',
    '',
    scenariosMarkdown(scenarios),
    ...(polling ? [pollingMarkdown(polling)] : []),
    ...(scaleOut ? [scaleOut.markdown] : []),
    ...(soak ? [soak.markdown] : []),
  ].join('\n');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(new URL('latest.json', resultsDir), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(new URL('latest.md', resultsDir), markdown);
  console.log(`\n${markdown}`);
  log('wrote bench/results/latest.md and latest.json');
} catch (error) {
  console.error('bench failed:', error);
  await cleanUp();
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
}
