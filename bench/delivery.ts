/**
 * Scenarios 2 and 3: event delivery over graphql-ws. Generations change through the server's own `transition()`
 * (row UPDATE + event INSERT + NOTIFY in one transaction) on the app's database handle; each client records when
 * each version reaches it. The baseline LISTENs on the same NOTIFY channel with postgres.js and forwards the payload
 * to raw `ws` sockets, with no database read and no GraphQL. Everything runs in this process, clients included.
 */

import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket, { WebSocketServer } from 'ws';
import { generationUpdates } from '../src/events/channels.js';
import { transition } from '../src/events/timeline.js';
import { latencyStats, pacedLoop, type LatencyStats } from './load.js';
import { createBenchWsClient, within, type BenchApp } from './support.js';

export interface DeliveryOptions {
  bench: BenchApp;
  databaseUrl: string;
  /** QUEUED generations owned by the bench key: one per subscriber, plus one for the fan-out. */
  ids: string[];
  subscribers: number;
  /** MAX_SUBSCRIPTIONS_PER_KEY the server runs with (all subscribers share the bench key). */
  subscriptionCapPerKey: number;
  /** Stop adding subscribers after this long and run with those connected. */
  connectBudgetMs?: number;
  rate?: number;
  durationMs?: number;
  fanoutRounds?: number;
  /** Also measure GraphQL over SSE. @default true */
  sse?: boolean;
  log: (message: string) => void;
}

export interface StreamResult {
  subscribers: number;
  connectSeconds: number;
  updates: number;
  delivered: number;
  missing: number;
  /** Time the transition() call took (begin → commit acknowledged). */
  commitMs: LatencyStats;
  /** commit acknowledged → client received (0 when the client had it first: see `beforeAck`). */
  latencyMs: LatencyStats;
  /** transition() called → client received: an upper bound that includes the commit itself. */
  fromCallMs: LatencyStats;
  /** Deliveries that reached the client before the committing code saw its commit acknowledged. */
  beforeAck: number;
}

export interface FanoutResult {
  subscribers: number;
  rounds: number;
  /** Per round: commit → the last subscriber has it. */
  allHaveItMs: number[];
  missing: number;
  /** Every delivery of every round. */
  latencyMs: LatencyStats;
}

export interface DeliveryResult {
  scenario: 'delivery';
  parameters: { subscriptionCapPerKey: number; subscribersWanted: number; rate: number; durationSeconds: number };
  app: { stream: StreamResult; fanout: FanoutResult };
  /** The same over GraphQL-over-SSE; absent when it failed (see sseError). */
  sse?: { stream: StreamResult; fanout: FanoutResult };
  sseError?: string;
  baseline: { stream: StreamResult; fanout: FanoutResult };
  targets: { subscribersWanted: number; subscribersMet: boolean };
}

const WATCH = 'subscription Watch($id: ID!) { generationStatus(id: $id) { id version } }';

/** id:version → arrival time (performance.now()). */
type Arrivals = Map<string, number>;

interface Transport {
  /** Connects one subscriber watching `id`; resolves once it holds the current version. */
  watch(index: number, id: string): Promise<void>;
  /** Stops watching the per-subscriber generations (the fan-out ones stay). */
  dropOwn(): void;
  close(): Promise<void>;
}

async function appTransport(bench: BenchApp, arrivals: Arrivals): Promise<Transport> {
  const clients: Client[] = [];
  const own: (() => void)[] = [];
  return {
    watch(index, id) {
      const client = (clients[index] ??= createBenchWsClient(bench));
      return new Promise<void>((resolve, reject) => {
        let first = true;
        const unsubscribe = client.subscribe<{ generationStatus: { id: string; version: number } }>(
          { query: WATCH, variables: { id } },
          {
            next: (result) => {
              const g = result.data?.generationStatus;
              if (!g) return reject(new Error(`subscription error: ${JSON.stringify(result.errors)}`));
              arrivals.set(`${g.id}:${g.version}`, performance.now());
              if (first) {
                first = false;
                resolve();
              }
            },
            error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
            complete: () => {},
          },
        );
        own[index] ??= unsubscribe;
      });
    },
    dropOwn() {
      for (const unsubscribe of own.splice(0)) unsubscribe();
    },
    async close() {
      await Promise.all(clients.map(async (client) => client.dispose()));
    },
  };
}

/** GraphQL over SSE (yoga's distinct-connections mode): one streaming POST per watched generation. */
async function sseTransport(bench: BenchApp, arrivals: Arrivals): Promise<Transport> {
  const own: AbortController[] = [];
  const all: AbortController[] = [];
  return {
    async watch(index, id) {
      const controller = new AbortController();
      all.push(controller);
      own[index] ??= controller;
      const response = await fetch(`${bench.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bench.key}` },
        body: JSON.stringify({ query: WATCH, variables: { id } }),
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`SSE: HTTP ${response.status}: ${await response.text()}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let first: (() => void) | undefined;
      let failed: ((error: Error) => void) | undefined;
      const gotFirst = new Promise<void>((resolve, reject) => {
        first = resolve;
        failed = reject;
      });
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return failed?.(new Error(`SSE stream for ${id} ended before its first event: ${buffer.slice(0, 200)}`));
            buffer += value;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const event = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = event.split('\n').find((line) => line.startsWith('data:'));
              if (!data) continue;
              const g = (JSON.parse(data.slice(5)) as { data?: { generationStatus?: { id: string; version: number } } }).data
                ?.generationStatus;
              if (!g) continue;
              arrivals.set(`${g.id}:${g.version}`, performance.now());
              first?.();
            }
          }
        } catch (error) {
          // Aborted at the end of the run (or failed before the first event).
          failed?.(error instanceof Error ? error : new Error(String(error)));
        }
      })();
      await gotFirst;
    },
    dropOwn() {
      for (const controller of own.splice(0)) controller.abort();
    },
    async close() {
      for (const controller of all) controller.abort();
      await sleep(200);
    },
  };
}

/** The baseline: one LISTEN, a map id → sockets, the NOTIFY payload (snapshot included) forwarded as is. */
async function baselineTransport(databaseUrl: string, arrivals: Arrivals): Promise<Transport> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const watchers = new Map<string, Set<WebSocket>>();
  const listener = await sql.listen(generationUpdates.name, (payload) => {
    const id = payload.slice(0, payload.indexOf(':'));
    for (const socket of watchers.get(id) ?? []) socket.send(payload);
  });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const id = (data as Buffer).toString('utf8');
      let set = watchers.get(id);
      if (!set) watchers.set(id, (set = new Set()));
      set.add(socket);
      socket.send(`ok:${id}`);
    });
    socket.on('close', () => {
      for (const set of watchers.values()) set.delete(socket);
    });
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sockets: WebSocket[] = [];
  const owns: string[] = [];
  const waiting = new Map<string, () => void>();
  const open = (index: number) => {
    if (sockets[index]) return Promise.resolve(sockets[index]);
    const socket = new WebSocket(url);
    sockets[index] = socket;
    socket.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      if (text.startsWith('ok:')) {
        waiting.get(`${index}:${text.slice(3)}`)?.();
        return;
      }
      // The payload is `<id>:<version>`, followed by the version's snapshot when it fits (forwarded as it came).
      const newline = text.indexOf('\n');
      arrivals.set(newline < 0 ? text : text.slice(0, newline), performance.now());
    });
    return new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
  };
  return {
    async watch(index, id) {
      const socket = await open(index);
      owns[index] ??= id;
      await new Promise<void>((resolve) => {
        waiting.set(`${index}:${id}`, resolve);
        socket.send(id);
      });
    },
    dropOwn() {
      for (const id of owns) watchers.delete(id);
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      await new Promise((resolve) => server.close(resolve));
      await listener.unlisten();
      await sql.end({ timeout: 1 });
    },
  };
}

/** Adds subscribers in batches until `wanted` or the time budget; returns how many are watching. */
async function connect(transport: Transport, ids: string[], wanted: number, budgetMs: number): Promise<number> {
  const started = Date.now();
  const batch = 50;
  let connected = 0;
  while (connected < wanted && Date.now() - started < budgetMs) {
    const size = Math.min(batch, wanted - connected);
    await within(
      Promise.all(Array.from({ length: size }, (_, i) => transport.watch(connected + i, ids[connected + i]!))),
      30_000,
      `subscribers ${connected}–${connected + size}`,
    );
    connected += size;
  }
  return connected;
}

async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(20);
}

async function measure(
  label: string,
  transport: Transport,
  arrivals: Arrivals,
  times: Map<string, number[]>,
  options: DeliveryOptions,
  subscribers: number,
): Promise<{ stream: StreamResult; fanout: FanoutResult }> {
  const { bench, log } = options;
  const db = bench.app.database.db;
  const rate = options.rate ?? 100;
  const durationMs = options.durationMs ?? 10_000;
  const started = performance.now();
  const count = await connect(transport, options.ids, subscribers, options.connectBudgetMs ?? 60_000);
  const connectSeconds = (performance.now() - started) / 1000;
  log(`delivery: ${label}: ${count} subscribers in ${connectSeconds.toFixed(1)} s; ${rate} updates/s for ${durationMs / 1000} s`);

  const commits = new Map<string, number>();
  const calls = new Map<string, number>();
  let next = 0;
  const commit = async (id: string) => {
    const called = performance.now();
    const row = await transition(db, id, { set: { progress: Math.random() } });
    if (!row) throw new Error(`transition of ${id} did not apply`);
    commits.set(`${id}:${row.version}`, performance.now());
    calls.set(`${id}:${row.version}`, called);
  };
  const paced = await pacedLoop(rate, durationMs, () => commit(options.ids[next++ % count]!), 500);
  if (paced.errors) throw new Error(`${label}: ${paced.errors} commits failed: ${paced.firstError}`);
  await waitFor(() => [...commits.keys()].every((k) => arrivals.has(k)), 10_000);
  const latencies: number[] = [];
  const fromCall: number[] = [];
  let beforeAck = 0;
  for (const [k, at] of commits) {
    const got = arrivals.get(k);
    if (got === undefined) continue;
    if (got < at) beforeAck += 1;
    latencies.push(Math.max(0, got - at));
    fromCall.push(got - calls.get(k)!);
  }
  const stream: StreamResult = {
    subscribers: count,
    connectSeconds,
    updates: commits.size,
    delivered: latencies.length,
    missing: commits.size - latencies.length,
    commitMs: paced.latencyMs,
    latencyMs: latencyStats(latencies),
    fromCallMs: latencyStats(fromCall),
    beforeAck,
  };
  log(`delivery: ${label}: stream p50 ${stream.latencyMs.p50.toFixed(1)} ms, p99 ${stream.latencyMs.p99.toFixed(1)} ms, ${stream.missing} missing`);

  // Fan-out: every subscriber also watches one generation, then stops watching its own.
  const fanId = options.ids[options.ids.length - 1]!;
  await within(Promise.all(Array.from({ length: count }, (_, i) => transport.watch(i, fanId))), 60_000, 'fan-out subscribers');
  transport.dropOwn();
  await sleep(500);
  const rounds = options.fanoutRounds ?? 3;
  const allHaveItMs: number[] = [];
  const fanLatencies: number[] = [];
  let missing = 0;
  for (let round = 0; round < rounds; round += 1) {
    const row = await transition(db, fanId, { set: { progress: Math.random() } });
    const at = performance.now();
    if (!row) throw new Error('fan-out transition did not apply');
    const key = `${fanId}:${row.version}`;
    // Every subscriber receives the same id:version: `times` keeps each arrival.
    await waitFor(() => (times.get(key)?.length ?? 0) >= count, 15_000);
    const got = times.get(key) ?? [];
    for (const t of got) fanLatencies.push(Math.max(0, t - at));
    missing += count - got.length;
    allHaveItMs.push(got.length ? Math.max(...got) - at : Number.NaN);
    await sleep(500);
  }
  const fanout: FanoutResult = { subscribers: count, rounds, allHaveItMs, missing, latencyMs: latencyStats(fanLatencies) };
  log(`delivery: ${label}: fan-out to ${count}: all have it in ${allHaveItMs.map((m) => m.toFixed(0)).join(' / ')} ms`);
  return { stream, fanout };
}

/** An Arrivals map that also keeps every arrival time per key (for the fan-out rounds). */
function recordingArrivals(): { arrivals: Arrivals; times: Map<string, number[]> } {
  const times = new Map<string, number[]>();
  const arrivals = new Map<string, number>();
  const set = arrivals.set.bind(arrivals);
  arrivals.set = (key: string, value: number) => {
    let list = times.get(key);
    if (!list) times.set(key, (list = []));
    list.push(value);
    return set(key, value);
  };
  return { arrivals, times };
}

export async function runDeliveryScenario(options: DeliveryOptions): Promise<DeliveryResult> {
  const subscribers = Math.min(options.subscribers, options.ids.length - 1);
  const subscriptionCapPerKey = options.subscriptionCapPerKey;
  const run = async (label: string, make: (arrivals: Arrivals) => Promise<Transport>) => {
    const { arrivals, times } = recordingArrivals();
    const transport = await make(arrivals);
    try {
      return await measure(label, transport, arrivals, times, options, subscribers);
    } finally {
      await transport.close();
    }
  };
  const app = await run('graphql-ws', (arrivals) => appTransport(options.bench, arrivals));
  await sleep(1000);
  let sse: DeliveryResult['sse'];
  let sseError: string | undefined;
  if (options.sse !== false) {
    try {
      sse = await run('graphql-sse', (arrivals) => sseTransport(options.bench, arrivals));
    } catch (error) {
      sseError = String(error).split('\n')[0];
      options.log(`delivery: SSE failed: ${sseError}`);
    }
    await sleep(1000);
  }
  const baseline = await run('baseline ws', (arrivals) => baselineTransport(options.databaseUrl, arrivals));
  return {
    scenario: 'delivery',
    parameters: { subscriptionCapPerKey, subscribersWanted: options.subscribers, rate: options.rate ?? 100, durationSeconds: (options.durationMs ?? 10_000) / 1000 },
    app,
    ...(sse && { sse }),
    ...(sseError && { sseError }),
    baseline,
    targets: { subscribersWanted: 1000, subscribersMet: app.stream.subscribers >= 1000 },
  };
}
