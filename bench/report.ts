/** The Markdown for the scenarios added next to polling: one summary table, then notes per scenario. */

import type { ConnectionsResult } from './connections.js';
import type { DeliveryResult } from './delivery.js';
import type { LatencyStats, LoadResult } from './load.js';
import type { MutationProcessResult, MutationResult } from './mutation.js';
import type { PickupResult } from './pickup.js';
import type { ServingResult, TransferResult } from './serving.js';
import type { StartupResult } from './startup.js';

export interface Scenarios {
  mutation?: MutationResult;
  /** Scenario 1 with each server in its own process. */
  mutationProcess?: MutationProcessResult;
  delivery?: DeliveryResult;
  pickup?: PickupResult;
  startup?: StartupResult;
  connections?: ConnectionsResult;
  serving?: ServingResult;
  /** Scenarios that failed or were skipped in this run, with the reason. */
  failed: Record<string, string>;
}

const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms` : 'n/a');
const pp = (s: LatencyStats) => `${ms(s.p50)} / ${ms(s.p99)}`;
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');
const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
const mbps = (t: TransferResult) =>
  `${t.mbPerSecond.toFixed(0)} MB/s (${t.requestsPerSecond < 100 ? t.requestsPerSecond.toFixed(1) : t.requestsPerSecond.toFixed(0)} req/s), ` +
  `p50 / p99 ${pp(t.latencyMs)}${t.errors ? `, ${t.errors} errors` : ''}`;
const rps = (r: LoadResult) => `${r.requestsPerSecond.toFixed(0)} req/s${r.errors ? ` (${r.errors} errors)` : ''}`;

export function scenariosMarkdown(s: Scenarios): string {
  const rows: string[] = [];
  const { mutation: m, delivery: d, pickup: p, startup: st } = s;
  if (m) {
    const c = m.parameters.concurrency;
    rows.push(
      `| 1 mutation, in process | throughput, ${c} concurrent, ${m.parameters.durationSeconds} s | ${rps(m.app.closed)} | ${rps(m.baseline.closed)} | ${ratio(m.app.closed.requestsPerSecond, m.baseline.closed.requestsPerSecond)} | ≥ 0.5× baseline | ${mark(m.targets.throughputMet)} |`,
      `| 1 mutation, in process | throughput, ${c} concurrent, one key per client loop (diagnostic) | ${rps(m.appKeyPerClient)}, p50 / p99 ${pp(m.appKeyPerClient.latencyMs)} | ${rps(m.baseline.closed)} | ${ratio(m.appKeyPerClient.requestsPerSecond, m.baseline.closed.requestsPerSecond)} | — | — |`,
      `| 1 mutation, in process | latency p50 / p99, ${c} concurrent | ${pp(m.app.closed.latencyMs)} | ${pp(m.baseline.closed.latencyMs)} | p99 ${ratio(m.app.closed.latencyMs.p99, m.baseline.closed.latencyMs.p99)} | — | — |`,
      `| 1 mutation, in process | latency p50 / p99, paced ${m.parameters.pacedRate} req/s for ${m.parameters.pacedSeconds} s (${m.app.paced.ok} answered; ${m.app.paced.skipped} not sent as 500 were already waiting; ${m.app.paced.errors - m.app.paced.skipped} failed) | ${pp(m.app.paced.latencyMs)} | ${pp(m.baseline.paced.latencyMs)} | p99 ${ratio(m.app.paced.latencyMs.p99, m.baseline.paced.latencyMs.p99)} | p99 ≤ 50 ms | ${mark(m.targets.pacedP99Met)} |`,
    );
  }
  const mp = s.mutationProcess;
  if (mp) {
    const c = mp.parameters.concurrency;
    const busy = (v: number) => `${(100 * v).toFixed(0)} % of a core`;
    rows.push(
      `| 1 mutation, own process | throughput, ${c} concurrent, ${mp.parameters.durationSeconds} s (A-B-B-A turns) | ${rps(mp.app.closed)}, p50 / p99 ${pp(mp.app.closed.latencyMs)} | ${rps(mp.baseline.closed)}, p50 / p99 ${pp(mp.baseline.closed.latencyMs)} | ${ratio(mp.app.closed.requestsPerSecond, mp.baseline.closed.requestsPerSecond)} | ≥ 0.5× baseline | ${mark(mp.targets.throughputMet)} |`,
      `| 1 mutation, own process | CPU per request of the serving process (user + system, /proc) | ${mp.app.cpuMsPerRequest.toFixed(2)} ms | ${mp.baseline.cpuMsPerRequest.toFixed(2)} ms | ${ratio(mp.app.cpuMsPerRequest, mp.baseline.cpuMsPerRequest)} | — | — |`,
      `| 1 mutation, own process | latency p50 / p99, paced ${mp.parameters.pacedRate} req/s for ${mp.parameters.pacedSeconds} s (${mp.app.paced.ok} answered, ${mp.app.paced.errors} failed or not sent); serving process busy | ${pp(mp.app.paced.latencyMs)}; ${busy(mp.app.pacedBusyShare)} | ${pp(mp.baseline.paced.latencyMs)}; ${busy(mp.baseline.pacedBusyShare)} | p99 ${ratio(mp.app.paced.latencyMs.p99, mp.baseline.paced.latencyMs.p99)} | p99 ≤ 50 ms | ${mark(mp.targets.pacedP99Met)} |`,
    );
  }
  if (d) {
    const a = d.app.stream;
    const b = d.baseline.stream;
    rows.push(
      `| 2 delivery | subscribers connected (wanted ${d.parameters.subscribersWanted}) | ${a.subscribers} in ${a.connectSeconds.toFixed(1)} s | ${b.subscribers} in ${b.connectSeconds.toFixed(1)} s | — | 1,000 | ${mark(d.targets.subscribersMet)} |`,
      `| 2 delivery | commit acknowledged → client p50 / p99, ${d.parameters.rate} updates/s, ${a.updates} updates (${a.missing} missing) | ${pp(a.latencyMs)} | ${pp(b.latencyMs)} (${b.missing} missing) | p99 ${ratio(a.latencyMs.p99, b.latencyMs.p99)} | — (none set) | — |`,
      `| 2 delivery | transition() called → client p50 / p99 (includes the commit) | ${pp(a.fromCallMs)} | ${pp(b.fromCallMs)} | p99 ${ratio(a.fromCallMs.p99, b.fromCallMs.p99)} | — | — |`,
      `| 2 delivery | transition() call → commit acknowledged p50 / p99 | ${pp(a.commitMs)} | ${pp(b.commitMs)} | — | — | — |`,
    );
    if (d.sse) {
      const c = d.sse.stream;
      rows.push(
        `| 2 delivery over SSE | subscribers connected | ${c.subscribers} in ${c.connectSeconds.toFixed(1)} s | ${b.subscribers} in ${b.connectSeconds.toFixed(1)} s | — | — | — |`,
        `| 2 delivery over SSE | commit acknowledged → client p50 / p99 (${c.missing} missing) | ${pp(c.latencyMs)} | ${pp(b.latencyMs)} | p99 ${ratio(c.latencyMs.p99, b.latencyMs.p99)} | — | — |`,
        `| 2 delivery over SSE | transition() called → client p50 / p99 | ${pp(c.fromCallMs)} | ${pp(b.fromCallMs)} | p99 ${ratio(c.fromCallMs.p99, b.fromCallMs.p99)} | — | — |`,
        `| 3 fan-out over SSE | all have it (worst of ${d.sse.fanout.rounds}) / per-subscriber p99 (${d.sse.fanout.missing} missing) | ${ms(Math.max(...d.sse.fanout.allHaveItMs))} / ${ms(d.sse.fanout.latencyMs.p99)} | ${ms(Math.max(...d.baseline.fanout.allHaveItMs))} / ${ms(d.baseline.fanout.latencyMs.p99)} | — | — | — |`,
      );
    } else if (d.sseError) {
      rows.push(`| 2 delivery over SSE | not measured: ${d.sseError.replaceAll('|', '/')} | — | — | — | — | — |`);
    }
    const fa = d.app.fanout;
    const fb = d.baseline.fanout;
    const worst = (f: typeof fa) => Math.max(...f.allHaveItMs);
    rows.push(
      `| 3 fan-out | one generation, ${fa.subscribers} subscribers: all have it (worst of ${fa.rounds} rounds) | ${ms(worst(fa))} | ${ms(worst(fb))} | ${ratio(worst(fa), worst(fb))} | — (none set) | — |`,
      `| 3 fan-out | per-subscriber p50 / p99 (${fa.missing} missing) | ${pp(fa.latencyMs)} | ${pp(fb.latencyMs)} (${fb.missing} missing) | p99 ${ratio(fa.latencyMs.p99, fb.latencyMs.p99)} | — | — |`,
    );
  }
  if (p) {
    rows.push(
      `| 5 queue pickup | created_at → first submit at simulator, p50 / p99 (${p.parameters.generations} generations, ${p.missing} missing) | ${pp(p.toSubmitMs)} | — | — | NOTIFY-driven (p99 < ${p.parameters.workerSweepMs} ms sweep) | ${mark(p.targets.notifyDriven)} |`,
      `| 5 queue pickup | created_at → SUBMITTED event commit, p50 / p99 | ${pp(p.toSubmittedEventMs)} | — | — | — | — |`,
    );
  }
  if (st) {
    for (const kind of ['pglite', 'postgres'] as const) {
      const runs = st.runs.filter((r) => r.database === kind);
      rows.push(
        `| 8 start-up | ${kind}: spawn → ready (each run) | ${runs.map((r) => ms(r.readyMs)).join(', ')} | — | — | — | — |`,
        `| 8 footprint | ${kind}: RSS at ready / after 2 s idle (each run) | ${runs.map((r) => `${r.rssAtReadyMb.toFixed(0)} / ${r.rssIdleMb.toFixed(0)} MB`).join(', ')} | — | — | — | — |`,
      );
    }
  }
  if (s.connections) {
    const c = s.connections;
    for (const step of c.steps) {
      rows.push(
        `| 4 idle connections | server RSS with ${step.connections} idle graphql-ws connections (this step opened in ${step.openSeconds.toFixed(1)} s; ${c.idleRssMb.toFixed(0)} MB with none) | ${step.rssMb.toFixed(0)} MB, ≈ ${step.kbPerConnection.toFixed(0)} KB per connection | — | — | — | — |`,
      );
    }
  }
  const sv = s.serving;
  if (sv) {
    const { app: a, baseline: b, parameters: q } = sv;
    const memory = (m: ServingResult['app']['memory']) =>
      `${m.beforeMb.toFixed(0)} → ${m.peakMb.toFixed(0)} → ${m.afterMb.toFixed(0)} MB (growth ${m.growthMb.toFixed(1)} MB; ` +
      `${m.downloads} downloads, ${m.mbPerSecond.toFixed(0)} MB/s${m.errors ? `, ${m.errors} failed` : ''})`;
    rows.push(
      `| 7 video serving | full GET of the ${q.fileMb} MB file, ${q.fullConcurrency} concurrent, ${q.phaseSeconds} s in ${q.rounds} rounds alternating with the baseline: MB/s (req/s), p50 / p99 | ${mbps(a.full)} | ${mbps(b.full)} | MB/s ${ratio(a.full.mbPerSecond, b.full.mbPerSecond)} | — (none set) | — |`,
      `| 7 video serving | random ${(q.rangeBytes / 1024 / 1024).toFixed(0)} MB Range requests, ${q.rangeConcurrency} concurrent, ${q.phaseSeconds} s (same rounds): MB/s (req/s), p50 / p99 | ${mbps(a.range)} | ${mbps(b.range)} | req/s ${ratio(a.range.requestsPerSecond, b.range.requestsPerSecond)} | — (none set) | — |`,
      `| 7 video serving | server RSS while ${q.memoryConcurrency} full downloads run at once for ${q.memorySeconds} s: before → peak → 2 s after | ${memory(a.memory)} | ${memory(b.memory)} | — | flat: growth ≤ ${sv.targets.memoryGrowthAtMostMb} MB (one file; buffering the files would take ${q.memoryConcurrency * q.fileMb} MB) | ${mark(sv.targets.memoryFlat)} |`,
      `| 7 video serving | CPU (user + system) per GB sent: full GETs / ranges | ${a.full.cpuSecondsPerGb.toFixed(2)} s / ${a.range.cpuSecondsPerGb.toFixed(2)} s | ${b.full.cpuSecondsPerGb.toFixed(2)} s / ${b.range.cpuSecondsPerGb.toFixed(2)} s | ${ratio(a.full.cpuSecondsPerGb, b.full.cpuSecondsPerGb)} / ${ratio(a.range.cpuSecondsPerGb, b.range.cpuSecondsPerGb)} | — | — |`,
    );
  }
  const failed = Object.entries(s.failed).map(([name, why]) => `- **${name}: not measured in this run** — ${why}`);
  return [
    '## Throughput, delivery, pickup, start-up, connections and video serving',
    '',
    '| # | measure | reelql | baseline | reelql ÷ baseline | target | result |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...failed,
    ...(failed.length ? [''] : []),
    ...(m ? [
      '- **1 mutation, in process:** the real server (ROLE=api: no worker, the queue just grows; a key with no budget and no cap) vs a bare ' +
        '`node:http` handler doing the same generation INSERT, event INSERT and both NOTIFYs in one postgres.js transaction (pool of 10, ' +
        'like the app) with no GraphQL, auth, validation or budget/idempotency checks. Clients are `fetch` in the same process as the ' +
        'server. Paced phase: open loop (latency counted from when each request was due). All requests use one key; one diagnostic row ' +
        'gives each client loop its own key, to show whether anything per key (such as a lock on the key row) serializes them.',
    ] : []),
    ...(mp ? [
      '- **1 mutation, own process:** the same requests with each server in its own process and only the clients (`fetch`) in the ' +
        'bench process, as in a deployment: the real server spawned (`node --import tsx src/main.ts`, ROLE=api, a fresh database, its ' +
        'development key) and the same bare baseline spawned as bench/mutation-baseline-server.ts. They take turns A-B-B-A, half of ' +
        'each phase per turn, so a change in the machine\'s load falls on both; CPU per request is the serving process\'s user + ' +
        'system time from /proc over its closed-loop turns.',
    ] : []),
    ...(d ? [
      '- **2 delivery:** each subscriber (its own graphql-ws connection) watches its own generation; updates go through the ' +
        "server's `transition()` (row UPDATE + event INSERT + NOTIFY, one transaction) round-robin over the generations at a fixed " +
        'rate. Latency = the transition call returned (commit acknowledged) → the client received that version; the ' +
        "upper bound from the call's start is shown too. Baseline: one " +
        'postgres.js LISTEN on the same channel forwarding the NOTIFY payload to raw `ws` sockets (no database read, no GraphQL). ' +
        'Clients, server and the committing loop share one process. The SSE rows use one streaming POST per watched generation ' +
        "(yoga's distinct-connections mode) and the same baseline figures. All subscribers use one API key, so " +
        `the server runs with MAX_SUBSCRIPTIONS_PER_KEY=${s.delivery?.parameters.subscriptionCapPerKey ?? 'n/a'} (default 100); ` +
        'real users would each hold their own key.',
    ] : []),
    ...(d ? [
      '- **3 fan-out:** the same connections then all watch one generation; one `transition()` per round.',
    ] : []),
    ...(p ? [
      '- **5 queue pickup:** a separate server with a worker (ROLE=all) and the simulator over HTTP; generations created one at a ' +
        'time, so each is picked up by the NOTIFY rather than the 1 s sweep. created_at is set by the mutation just before its commit. ' +
        'The jobs then fail at the simulator, so no earlier job\'s download, probe and stills (ffmpeg) run in the measured window.',
    ] : []),
    ...(st ? [
      '- **8 start-up:** `node --import tsx src/main.ts` spawned as a child (tsx compiles TypeScript at start); ready = its ' +
        '"reelql is ready" log line. PGlite with a fresh DATA_DIR; Postgres with a fresh database (migrations run). Built-in simulator.',
    ] : []),
    ...(s.connections ? [
      '- **4 idle connections:** the server as a child process (ROLE=api, Postgres); this process opens raw ' +
        'graphql-transport-ws sockets that finish ConnectionInit with the development key and stay idle; RSS from /proc 2 s ' +
        'after each step. RSS includes uncollected heap, so the per-connection figure is approximate.',
    ] : []),
    ...(sv ? [
      '- **7 video serving:** the server as a child process (ROLE=api, Postgres); a generation made through the API is marked ' +
        `SUCCEEDED with a ${sv.parameters.fileMb} MB file written into its storage directory, and the signed URL comes from the API, ` +
        'so every request passes the `/videos` route, its token check and its `stat`. Baseline: a bare `node:http` server ' +
        'streaming the same file with `fs.createReadStream` (bench/serving-baseline.ts), also a child process. Clients: `node:http` ' +
        'with keep-alive in the bench process, bodies counted and dropped; latency = request → last byte. RSS from /proc every 100 ms, ' +
        'on the same 2 cores as the clients, so MB/s is bounded by the machine rather than by either server alone.',
    ] : []),
    ...(s.connections && sv ? [] : [
      `- **Not measured:** ${[
        ...(s.connections ? [] : ['scenario 4 (memory per idle connection at 2,000 / 5,000 connections)']),
        ...(sv ? [] : ['scenario 7 (serving a 50 MB video)']),
      ].join(', ')} — see the list above.`,
    ]),
    '',
  ].join('\n');
}
