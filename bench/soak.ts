/**
 * Soak (BENCH_ONLY=soak; not in the default run): one server (ROLE=all, Postgres, the simulator over HTTP with
 * 2 s jobs) under steady load for BENCH_SOAK_MINUTES (default 30): a generation asked for every
 * BENCH_SOAK_INTERVAL_MS (default 1000: each stored video's poster and last frame cost about 0.3 CPU-seconds, so
 * one every 250 ms overloads two cores and measures the backlog rather than the server), each
 * watched over graphql-ws until it ends, and a GraphQL read of it. Every 10 s the server's own /metrics is read:
 * resident memory, event-loop delay p99 (since the previous read) and open handles. Reports each series' first
 * and last value and its slope per 10 minutes, fitted after the first fifth (start-up and warm-up).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createSegmindSimulator } from '../src/segmind/simulator/index.js';
import { pickupServerEnv } from './pickup.js';
import { createBenchDatabase, liftKeyLimits, spawnServer } from './support.js';

interface Series {
  first: number;
  last: number;
  max: number;
  /** Least-squares slope per 10 minutes, after the first fifth of the run. */
  slopePer10Minutes: number;
}

export interface SoakResult {
  scenario: 'soak';
  parameters: { minutes: number; intervalMs: number; jobMs: number };
  generations: number;
  failedRequests: number;
  samples: number;
  rssMb: Series;
  eventLoopDelayP99Ms: Series;
  openHandles: Series;
  markdown: string;
}

const GENERATE = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id } } ... on Error { message } }
}`;
const WATCH = `subscription W($id: ID!) { generationStatus(id: $id) { id version status progress } }`;
const READ = `query R($id: ID!) { generation(id: $id) { id status events { type } } }`;

function series(points: { minutes: number; value: number }[]): Series {
  const values = points.map((p) => p.value);
  const fitted = points.slice(Math.floor(points.length / 5));
  const n = fitted.length;
  const mx = fitted.reduce((sum, p) => sum + p.minutes, 0) / Math.max(1, n);
  const my = fitted.reduce((sum, p) => sum + p.value, 0) / Math.max(1, n);
  const sxx = fitted.reduce((sum, p) => sum + (p.minutes - mx) ** 2, 0);
  const sxy = fitted.reduce((sum, p) => sum + (p.minutes - mx) * (p.value - my), 0);
  return { first: values[0] ?? NaN, last: values.at(-1) ?? NaN, max: Math.max(...values), slopePer10Minutes: sxx > 0 ? (10 * sxy) / sxx : 0 };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

/** Streams open at once; under the per-key subscription limit. */
const MAX_OPEN_STREAMS = 80;

export async function runSoakScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  minutes?: number;
  intervalMs?: number;
}): Promise<SoakResult> {
  const minutes = options.minutes ?? 30;
  const intervalMs = options.intervalMs ?? 1000;
  const jobMs = 2000;
  const { log } = options;
  const database = await createBenchDatabase(options.adminUrl);
  options.defer(() => database.drop());
  const simulator = createSegmindSimulator({ processingMs: jobMs });
  const simulatorUrl = await simulator.start();
  options.defer(() => simulator.stop());
  // A development key, though the simulator is reached as if it were Segmind (SEGMIND_API_KEY set).
  const server = await spawnServer({ env: { ...pickupServerEnv(database.url, simulatorUrl), DEVELOPMENT_KEY: 'on' }, readyTimeoutMs: 120_000 });
  options.defer(() => server.stop());
  await liftKeyLimits(database.url);
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${server.key}` },
    retryAttempts: 0,
  });
  options.defer(async () => {
    await client.dispose();
  });
  log(`soak: ${minutes} min, a generation every ${intervalMs} ms (jobs of ${jobMs} ms), /metrics every 10 s`);

  const endAt = Date.now() + minutes * 60_000;
  const startedAt = Date.now();
  let generations = 0;
  let failedRequests = 0;
  let firstFailure: string | undefined;
  const open = new Set<Promise<void>>();
  const one = async () => {
    try {
      const made = await server.graphql<{ generateVideo: { __typename: string; generation?: { id: string }; message?: string } }>(GENERATE, {
        input: { prompt: `soak #${generations}: clouds over a ridge`, durationSeconds: 4 },
      });
      const id = made.generateVideo.generation?.id;
      if (!id) throw new Error(`generateVideo answered ${made.generateVideo.__typename}: ${made.generateVideo.message ?? ''}`);
      generations += 1;
      await new Promise<void>((resolve, reject) =>
        client.subscribe({ query: WATCH, variables: { id } }, { next: () => {}, error: reject, complete: resolve }),
      );
      await server.graphql(READ, { id });
    } catch (error) {
      failedRequests += 1;
      // graphql-ws rejects with the GraphQL errors (an array of objects), a close event, or an Error.
      firstFailure ??= (error instanceof Error ? error.message : JSON.stringify(error)).slice(0, 300);
    }
  };
  const load = (async () => {
    while (Date.now() < endAt) {
      // Bounded below the key's MAX_SUBSCRIPTIONS_PER_KEY (100): past 80 open streams (the server far behind) no more
      // are started, instead of being refused as RATE_LIMITED and counted as failures.
      if (open.size < MAX_OPEN_STREAMS) {
        const running = one().finally(() => open.delete(running));
        open.add(running);
      }
      await sleep(intervalMs);
    }
    await Promise.all(open);
  })();

  const samples: { minutes: number; rss: number; delay: number; handles: number }[] = [];
  const metricsUrl = `${server.url}/metrics`;
  while (Date.now() < endAt) {
    await sleep(Math.min(10_000, Math.max(0, endAt - Date.now())));
    const text = await (await fetch(metricsUrl)).text();
    samples.push({
      minutes: (Date.now() - startedAt) / 60_000,
      rss: metric(text, 'reelql_process_process_resident_memory_bytes') / 1e6,
      delay: metric(text, 'reelql_process_nodejs_eventloop_lag_p99_seconds') * 1000,
      handles: metric(text, 'reelql_process_nodejs_active_handles_total'),
    });
  }
  await load;
  const rssMb = series(samples.map((s) => ({ minutes: s.minutes, value: s.rss })));
  const eventLoopDelayP99Ms = series(samples.map((s) => ({ minutes: s.minutes, value: s.delay })));
  const openHandles = series(samples.map((s) => ({ minutes: s.minutes, value: s.handles })));
  log(
    `soak: ${generations} generations, ${failedRequests} failed${firstFailure ? ` (${firstFailure})` : ''}; RSS ${rssMb.first.toFixed(0)} → ${rssMb.last.toFixed(0)} MB ` +
      `(${rssMb.slopePer10Minutes.toFixed(1)} MB per 10 min), event-loop p99 ${eventLoopDelayP99Ms.last.toFixed(1)} ms, handles ${openHandles.first} → ${openHandles.last}`,
  );
  const row = (name: string, s: Series, unit: string, digits: number) =>
    `| ${name} | ${s.first.toFixed(digits)} ${unit} | ${s.last.toFixed(digits)} ${unit} | ${s.max.toFixed(digits)} ${unit} | ${s.slopePer10Minutes >= 0 ? '+' : ''}${s.slopePer10Minutes.toFixed(digits + 1)} ${unit} |`;
  const markdown = [
    `## Soak: ${minutes} minutes of steady load`,
    '',
    `${generations} generations (one every ${intervalMs} ms, ${jobMs / 1000} s jobs, each watched to its end and read once), ` +
      `${failedRequests} failed${firstFailure ? ` (the first: ${firstFailure})` : ''}; ${samples.length} samples of the server's /metrics.`,
    '',
    '| series | first | last | max | slope per 10 min (after the first fifth) |',
    '|---|---|---|---|---|',
    row('RSS', rssMb, 'MB', 0),
    row('event-loop delay p99 (per 10 s)', eventLoopDelayP99Ms, 'ms', 1),
    row('open handles', openHandles, '', 0),
    '',
  ].join('\n');
  return {
    scenario: 'soak',
    parameters: { minutes, intervalMs, jobMs },
    generations,
    failedRequests,
    samples: samples.length,
    rssMb,
    eventLoopDelayP99Ms,
    openHandles,
    markdown,
  };
}
