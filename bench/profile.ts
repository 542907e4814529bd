/**
 * CPU profiles of the server under a benchmark's load. The server is spawned as its own process with the
 * inspector on (`node --inspect=127.0.0.1:0 --import tsx src/main.ts`), driven from this process, and profiled
 * through the inspector for exactly the measured window (no start-up, no shutdown); the profile is summarised
 * (bench/cpuprofile.ts) into bench/results/profile-<scenario>.md and .json. Not part of `npm run bench`.
 *
 *   npx tsx bench/profile.ts mutation   # generateVideo, 16 concurrent for 10 s (ROLE=api), like scenario 1,
 *                                       # then the same load against scenario 1's bare baseline, also profiled
 *   npx tsx bench/profile.ts pickup     # 40 generations one every 200 ms (ROLE=all + simulator), like scenario 5
 *   npx tsx bench/profile.ts delivery   # 1,000 graphql-ws subscribers, 100 transitions/s for 10 s, like scenario 2
 *   npx tsx bench/profile.ts serving    # random 1 MB Range requests to a 50 MB video, 16 concurrent, like scenario 7,
 *                                       # then the same load on the bare createReadStream baseline (not profiled)
 *
 * BENCH_DATABASE_URL as for `npm run bench`; BENCH_PROFILE_SECONDS changes the measured duration.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createSegmindSimulator } from '../src/segmind/simulator/index.js';
import { connectProfiler, profileMarkdown, summarizeProfile, type CpuProfile } from './cpuprofile.js';
import { closedLoop, latencyStats, pacedLoop } from './load.js';
import { postGenerate, spawnBaseline } from './mutation.js';
import { ENDS_AT_SEGMIND, pickupServerEnv } from './pickup.js';
import { rangeStretch, startBaselineServer, storeServedVideo } from './serving.js';
import { cpuSecondsOf, createBenchDatabase, liftKeyLimits, spawnServer, within, type SpawnedServer } from './support.js';

const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_PROFILE_SECONDS) || 10;
const scenario = process.argv[2] ?? '';
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const INSPECT = ['--inspect=127.0.0.1:0'];

const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id } } }
}`;

type Profiler = Awaited<ReturnType<typeof connectProfiler>>;
/** Puts load on a server and profiles it over the measured window; returns Markdown lines about the load. */
type Drive = (server: SpawnedServer, databaseUrl: string, profiler: Profiler) => Promise<{ notes: string[]; profile: CpuProfile }>;

const inspectorUrl = async (output: () => string): Promise<string> => {
  for (let i = 0; i < 100; i += 1) {
    const found = /Debugger listening on (ws:\/\/\S+)/.exec(output());
    if (found) return found[1]!;
    await sleep(50);
  }
  throw new Error(`no inspector address in:\n${output().slice(-1000)}`);
};

/** 16 concurrent generateVideo loops for `seconds` after a 1 s warm-up, profiled; with the process's CPU time. */
async function mutationLoad(url: string, key: string | undefined, pid: number, profiler: Profiler) {
  await closedLoop(16, 1000, () => postGenerate(url, key));
  const cpuBefore = await cpuSecondsOf(pid);
  await profiler.start();
  const result = await closedLoop(16, seconds * 1000, () => postGenerate(url, key));
  const profile = await profiler.stop();
  const cpu = (await cpuSecondsOf(pid)) - cpuBefore;
  // Then an open loop at 200 req/s, as in scenario 1's latency target: how busy that keeps the process.
  const pacedCpuBefore = await cpuSecondsOf(pid);
  const paced = await pacedLoop(200, 5000, () => postGenerate(url, key), 500);
  const pacedCpu = (await cpuSecondsOf(pid)) - pacedCpuBefore;
  const line =
    `${result.requestsPerSecond.toFixed(0)} req/s, p50 / p99 ${result.latencyMs.p50.toFixed(1)} / ${result.latencyMs.p99.toFixed(1)} ms, ` +
    `${result.errors} errors; the process used ${cpu.toFixed(1)} CPU s (user + system, all threads, from /proc) = ` +
    `**${((1000 * cpu) / Math.max(1, result.ok)).toFixed(2)} ms of CPU per request**. Then paced at 200 req/s for 5 s (not profiled): ` +
    `p50 / p99 ${paced.latencyMs.p50.toFixed(1)} / ${paced.latencyMs.p99.toFixed(1)} ms (max ${paced.latencyMs.max.toFixed(0)} ms), ` +
    `${paced.errors} failed, the process busy ${((100 * pacedCpu) / paced.seconds).toFixed(0)} % of one core`;
  return { profile, line };
}

const mutation: Drive = async (server, _databaseUrl, profiler) => {
  const { profile, line } = await mutationLoad(`${server.url}/graphql`, server.key, server.pid, profiler);
  return {
    profile,
    notes: [`Load: generateVideo, 16 concurrent for ${seconds} s (after a 1 s warm-up), one key, clients in the profiling process: ${line}.`],
  };
};

/** Scenario 1's bare baseline as its own profiled process, for a side-by-side. */
async function profileMutationBaseline(databaseUrl: string): Promise<string[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const [key] = await sql<{ id: string }[]>`select id from api_keys limit 1`;
  await sql.end({ timeout: 1 });
  const baseline = await spawnBaseline(databaseUrl, key!.id, INSPECT);
  try {
    const profiler = await connectProfiler(await inspectorUrl(baseline.output));
    const { profile, line } = await mutationLoad(baseline.url, undefined, baseline.pid, profiler);
    profiler.close();
    return [
      `Same load against the bare baseline (bench/mutation-baseline-server.ts, its own process): ${line}.`,
      '',
      profileMarkdown(summarizeProfile(profile, 12), 'Baseline main thread, for comparison'),
    ];
  } finally {
    await baseline.stop();
  }
}

/**
 * Pickup: besides the CPU profile, a timeline of each pickup from the database's own clocks: created_at (set by
 * the mutation before its transaction) → the mutation transaction's now() → the claim transaction that took the
 * submit slot (segmind_submits.at is its now()) → the submit request at the simulator.
 */
const pickup =
  (simulatorJobs: () => { prompt: string; at: number }[]): Drive =>
  async (server, databaseUrl, profiler) => {
    // The development key's budget would refuse most of the run.
    await liftKeyLimits(databaseUrl);
    const create = async (prompt: string) => {
      const body = await server.graphql(GENERATE, { input: { prompt, durationSeconds: 8 } });
      if (!JSON.stringify(body).includes('GenerateVideoSuccess')) throw new Error(`generateVideo was refused: ${JSON.stringify(body)}`);
    };
    for (let i = 0; i < 3; i += 1) await create(`warm-up pickup #${i}: a kite over a beach ${ENDS_AT_SEGMIND}`);
    await sleep(1000);
    const n = 40;
    const cpuBefore = await cpuSecondsOf(server.pid);
    await profiler.start();
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      await create(`pickup #${i}: a kite over a beach, wide shot ${ENDS_AT_SEGMIND}`);
      await sleep(200);
    }
    const profile = await profiler.stop();
    const cpu = (await cpuSecondsOf(server.pid)) - cpuBefore;
    const wall = (performance.now() - started) / 1000;
    await sleep(1500);
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ prompt: string; created: Date; created_tx: Date; slot: Date | null }[]>`
        select g.prompt, g.created_at as created,
          (select min(e.created_at) from generation_events e where e.generation_id = g.id and e.type = 'created') as created_tx,
          (select min(s.at) from segmind_submits s where s.generation_id = g.id) as slot
        from generations g where g.prompt like 'pickup #%'`;
      const jobs = new Map(simulatorJobs().map((job) => [job.prompt, job.at]));
      const phases = { mutation: [] as number[], toSlot: [] as number[], slotToSubmit: [] as number[], total: [] as number[] };
      for (const row of rows) {
        const submitAt = jobs.get(row.prompt);
        if (!row.slot || submitAt === undefined) continue;
        phases.mutation.push(row.created_tx.getTime() - row.created.getTime());
        phases.toSlot.push(row.slot.getTime() - row.created_tx.getTime());
        phases.slotToSubmit.push(submitAt - row.slot.getTime());
        phases.total.push(submitAt - row.created.getTime());
      }
      const line = (label: string, values: number[]) => {
        const s = latencyStats(values);
        return `| ${label} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.mean.toFixed(1)} |`;
      };
      const trace = await statementTrace(databaseUrl, rows, jobs);
      return {
        profile,
        notes: [
          `Load: ${n} generations, one every 200 ms after 3 warm-ups; ROLE=all with the simulator over loopback HTTP ` +
            `(${phases.total.length} timed). Over the ${wall.toFixed(1)} s profiled the server process used ${cpu.toFixed(2)} CPU s ` +
            `(${((100 * cpu) / wall).toFixed(0)} % of one core): ${((1000 * cpu) / n).toFixed(1)} ms of CPU per generation, ` +
            'for the mutation, the claim, the submit and the first polls together.',
          '',
          'Where each pickup spends its time, from timestamps the database recorded (now() is the start of the transaction ' +
            'it is read in; read back as JavaScript dates, so 1 ms resolution; Node and Postgres share the clock):',
          '',
          '| phase | p50 ms | p99 ms | mean ms |',
          '|---|---|---|---|',
          line('created_at (set in JS before BEGIN) → the mutation transaction starts', phases.mutation),
          line(
            'mutation transaction starts → claim transaction 2 starts (the mutation INSERTs and commit, NOTIFY to the worker, claim transaction 1)',
            phases.toSlot,
          ),
          line(
            'claim transaction 2 starts → submit request at the simulator (the rest of claim 2, key prefix, duration estimate, marking the submit, the HTTP request)',
            phases.slotToSubmit,
          ),
          line('created_at → submit at the simulator (the scenario 5 figure)', phases.total),
          '',
          ...trace,
        ],
      };
    } finally {
      await sql.end({ timeout: 1 });
    }
  };

const PG_LOG = process.env.BENCH_PG_LOG || '/var/log/postgresql/postgresql-15-main.log';

interface LoggedStatement {
  /** When it finished (ms since the epoch, 1 ms resolution). */
  at: number;
  pid: string;
  ms: number;
  statement: string;
  /** The DETAIL line's parameters, when logged. */
  parameters?: string;
}

/**
 * The statements Postgres logged for one database (log_min_duration_statement = 0 set on it before the server
 * connected), with their parameters. Null when the log (BENCH_PG_LOG) cannot be read.
 */
async function readStatementLog(databaseUrl: string): Promise<LoggedStatement[] | null> {
  const name = new URL(databaseUrl).pathname.slice(1);
  let text: string;
  try {
    text = await readFile(PG_LOG, 'utf8');
  } catch {
    return null;
  }
  // "2026-11-24 16:33:10.123 UTC [1234] postgres@db LOG:  duration: 0.045 ms  execute s1: select …", then maybe
  // "… [1234] postgres@db DETAIL:  parameters: $1 = '…'".
  const entries: LoggedStatement[] = [];
  const last = new Map<string, LoggedStatement>();
  for (const line of text.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] \S+@(\S+) (LOG|DETAIL): {2}(.*)$/.exec(line);
    if (!m || m[3] !== name) continue;
    const pid = m[2]!;
    if (m[4] === 'DETAIL') {
      const entry = last.get(pid);
      if (entry && m[5]!.startsWith('parameters: ')) entry.parameters = m[5]!.slice('parameters: '.length);
      continue;
    }
    const d = /^duration: ([\d.]+) ms {2}(.*)$/.exec(m[5]!);
    if (!d) continue;
    const entry = { at: Date.parse(`${m[1]!.replace(' ', 'T')}Z`), pid, ms: Number(d[1]), statement: d[2]! };
    entries.push(entry);
    last.set(pid, entry);
  }
  return entries;
}

const enableStatementLog = async (databaseUrl: string) => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`alter database ${new URL(databaseUrl).pathname.slice(1)} set log_min_duration_statement = 0`);
  } finally {
    await admin.end({ timeout: 1 });
  }
};

/** Every statement logged during the median pickup (created_at → submit at the simulator), as a table. */
async function statementTrace(
  databaseUrl: string,
  rows: { prompt: string; created: Date }[],
  jobs: Map<string, number>,
): Promise<string[]> {
  const entries = await readStatementLog(databaseUrl);
  if (!entries?.length) return [`(No statement trace: nothing for this database could be read from ${PG_LOG}.)`];
  const timed = rows
    .filter((r) => jobs.has(r.prompt))
    .map((r) => ({ created: r.created.getTime(), submit: jobs.get(r.prompt)! }))
    .sort((a, b) => a.submit - a.created - (b.submit - b.created));
  const pick = timed[Math.floor(timed.length / 2)];
  if (!pick) return [];
  const window = entries.filter((e) => e.at >= pick.created - 1 && e.at <= pick.submit + 1);
  const pids = [...new Set(window.map((e) => e.pid))];
  const serverMs = window.reduce((sum, e) => sum + e.ms, 0);
  return [
    `Every statement Postgres logged for this database during the median pickup (created_at → submit ${pick.submit - pick.created} ms; ` +
      `log_min_duration_statement = 0 on the bench database; log times are when each statement finished, 1 ms resolution). ` +
      `${window.length} log entries (parse, bind and execute are logged apart) on ${pids.length} connections, ${serverMs.toFixed(1)} ms ` +
      'of work inside Postgres in all; the rest of the time is round trips, waiting for the CPU, and work in Node. Statements of ' +
      'other generations being claimed or polled at the same time appear too.',
    '',
    '| + ms | connection | statement | ms in Postgres |',
    '|---|---|---|---|',
    ...window.map(
      (e) =>
        `| ${e.at - pick.created} | ${pids.indexOf(e.pid) + 1} | ${e.statement.replace(/\s+/g, ' ').slice(0, 110).replaceAll('|', '\\|')} | ${e.ms.toFixed(3)} |`,
    ),
  ];
}

const delivery: Drive = async (server, databaseUrl, profiler) => {
  const subscribers = 1000;
  const { transition } = await import('../src/events/timeline.js');
  const { openDatabase } = await import('../src/db/open.js');
  const ids: string[] = [];
  while (ids.length < subscribers) {
    const made = await Promise.all(
      Array.from({ length: 20 }, () =>
        server.graphql<{ generateVideo: { generation: { id: string } } }>(GENERATE, { input: { prompt: 'profile delivery' } }),
      ),
    );
    ids.push(...made.map((m) => m.generateVideo.generation.id));
  }
  const clients: Client[] = [];
  const arrivals = new Map<string, number>();
  const arrivalsWall = new Map<string, number>();
  const WATCH = 'subscription Watch($id: ID!) { generationStatus(id: $id) { id version } }';
  const watch = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${server.key}` },
        retryAttempts: 0,
      });
      clients.push(client);
      client.subscribe<{ generationStatus: { id: string; version: number } }>(
        { query: WATCH, variables: { id } },
        {
          next: (r) => {
            const g = r.data?.generationStatus;
            if (!g) return reject(new Error(JSON.stringify(r.errors)));
            arrivals.set(`${g.id}:${g.version}`, performance.now());
            arrivalsWall.set(`${g.id}:${g.version}`, Date.now());
            resolve();
          },
          error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => {},
        },
      );
    });
  for (let i = 0; i < subscribers; i += 50) await within(Promise.all(ids.slice(i, i + 50).map(watch)), 30_000, 'subscribers');
  const database = await openDatabase({ url: databaseUrl, dataDir: os.tmpdir(), maxConnections: 4 });
  const commits = new Map<string, number>();
  const commitsWall = new Map<string, number>();
  let next = 0;
  let profile: CpuProfile;
  const cpuBefore = await cpuSecondsOf(server.pid);
  try {
    await profiler.start();
    await pacedLoop(100, seconds * 1000, async () => {
      const row = await transition(database.db, ids[next++ % ids.length]!, { set: { progress: Math.random() } });
      if (row) {
        commits.set(`${row.id}:${row.version}`, performance.now());
        commitsWall.set(`${row.id}:${row.version}`, Date.now());
      }
    });
    await sleep(500);
    profile = await profiler.stop();
  } finally {
    await database.close();
  }
  const cpu = (await cpuSecondsOf(server.pid)) - cpuBefore;
  await Promise.all(clients.map(async (c) => c.dispose()));
  const latencies = [...commits].flatMap(([k, at]) => (arrivals.has(k) ? [Math.max(0, arrivals.get(k)! - at)] : []));
  const s = latencyStats(latencies);
  // Each update's timeline read (versionsSince: `select "snapshot" from "generation_events" … > version`) in the log.
  const log = await readStatementLog(databaseUrl);
  // Watchers also re-read on a timer (every 5 s), before any commit: the read that counts is the first one after it.
  const reads = new Map<string, number[]>();
  for (const e of log ?? []) {
    if (!e.statement.startsWith('execute') || !e.statement.includes('from "generation_events"') || !e.parameters) continue;
    const m = /\$1 = '([0-9a-f-]{36})', \$2 = '(\d+)'/.exec(e.parameters);
    if (m) {
      const key = `${m[1]}:${Number(m[2]) + 1}`;
      reads.set(key, [...(reads.get(key) ?? []), e.at]);
    }
  }
  const toRead: number[] = [];
  const readToClient: number[] = [];
  for (const [k, at] of commitsWall) {
    const read = reads.get(k)?.find((t) => t >= at - 1);
    const got = arrivalsWall.get(k);
    if (read === undefined || got === undefined) continue;
    toRead.push(read - at);
    readToClient.push(got - read);
  }
  const row = (label: string, values: number[]) => {
    const v = latencyStats(values);
    return `| ${label} | ${v.p50.toFixed(1)} | ${v.p99.toFixed(1)} | ${v.mean.toFixed(2)} |`;
  };
  const readMs = latencyStats((log ?? []).filter((e) => e.statement.includes('from "generation_events"')).map((e) => e.ms));
  const breakdown = toRead.length
    ? [
        '',
        `Where each delivery spends its time (${toRead.length} updates matched to their timeline read in the Postgres log, ` +
          'log_min_duration_statement = 0 on the bench database; wall-clock times with 1 ms resolution, so only the tails and means ' +
          'say much; logging every statement slows Postgres a little):',
        '',
        '| phase | p50 ms | p99 ms | mean ms |',
        '|---|---|---|---|',
        row('commit acknowledged → the server\'s timeline read (versionsSince) finished in Postgres', toRead),
        row('timeline read finished → client has it (result back to Node, GraphQL execution, graphql-ws send, client parse)', readToClient),
        `| Postgres work per timeline read (parse + bind + execute, summed over the log entries) | — | — | ${(3 * readMs.mean).toFixed(3)} |`,
      ]
    : [`(No per-phase breakdown: the Postgres log ${PG_LOG} had no matching statements.)`];
  return {
    profile,
    notes: [
      `Load: ${subscribers} graphql-ws subscribers (clients in the profiling process), 100 transitions/s for ${seconds} s committed from ` +
        `the profiling process: commit acknowledged → client p50 / p99 ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} ms, ` +
        `${commits.size - latencies.length} missing. The server process used ${cpu.toFixed(1)} CPU s ` +
        `(all threads, including the upkeep of 1,000 open connections) = ${((1000 * cpu) / Math.max(1, commits.size)).toFixed(2)} ms per update.`,
      ...breakdown,
    ],
  };
};

/**
 * Serving: 16 concurrent random 1 MB Range requests to a stored 50 MB video for `seconds`, as in scenario 7, after
 * a 1 s warm-up; then the same load on the bare `createReadStream` baseline (not profiled) for its CPU per GB.
 */
const serving: Drive = async (server, databaseUrl, profiler) => {
  const fileMb = 50;
  const { file, url } = await storeServedVideo(server, databaseUrl, fileMb);
  const size = fileMb * 1024 * 1024;
  const load = (pid: number, target: URL, ms: number) => rangeStretch(pid, target, size, 1024 * 1024, 16, ms);
  await load(server.pid, url, 1000);
  await profiler.start();
  const app = await load(server.pid, url, seconds * 1000);
  const profile = await profiler.stop();
  const baseline = await startBaselineServer(file);
  try {
    await load(baseline.pid, new URL(baseline.url), 1000);
    const bare = await load(baseline.pid, new URL(baseline.url), seconds * 1000);
    const line = (name: string, run: typeof app) =>
      `${name}: ${(run.latencies.length / run.seconds).toFixed(0)} req/s, ${run.errors} errors, ` +
      `${((1000 * run.cpuSeconds) / Math.max(1, run.latencies.length)).toFixed(3)} ms of CPU per request (user + system, /proc)`;
    return { profile, notes: [`Load: random 1 MB Range requests, 16 concurrent for ${seconds} s, clients in the profiling process. ${line('reelql /videos', app)}; ${line('the bare baseline (not profiled)', bare)}.`] };
  } finally {
    await baseline.stop();
  }
};

async function main(): Promise<void> {
  const database = await createBenchDatabase(adminUrl);
  const simulator = createSegmindSimulator({ processingMs: 300 });
  let simulatorStarted = false;
  let server: SpawnedServer | undefined;
  try {
    let drive: Drive;
    let env: Record<string, string> = { DATABASE_URL: database.url, ROLE: 'api' };
    if (scenario === 'mutation') drive = mutation;
    else if (scenario === 'delivery') {
      drive = delivery;
      env = { ...env, MAX_SUBSCRIPTIONS_PER_KEY: '2010' };
      await enableStatementLog(database.url);
    } else if (scenario === 'pickup') {
      // Statement timings in the server log, for the trace of one pickup (a new setting applies to new connections).
      await enableStatementLog(database.url);
      const simulatorUrl = await simulator.start();
      simulatorStarted = true;
      // The simulator is reached as if it were Segmind (SEGMIND_API_KEY set), so the development key is asked for.
      env = { ...pickupServerEnv(database.url, simulatorUrl), DEVELOPMENT_KEY: 'on' };
      drive = pickup(() => simulator.jobs().map((job) => ({ prompt: job.input.prompt, at: job.submittedAt.getTime() })));
    } else if (scenario === 'serving') drive = serving;
    else {
      console.error('usage: npx tsx bench/profile.ts <mutation|pickup|delivery|serving>');
      process.exitCode = 2;
      return;
    }
    const loadBefore = load();
    server = await spawnServer({ env, nodeArgs: INSPECT });
    const spawned = server;
    const profiler = await connectProfiler(await inspectorUrl(() => spawned.output()));
    const { notes, profile } = await drive(server, database.url, profiler);
    profiler.close();
    await server.stop();
    server = undefined;
    const extra = scenario === 'mutation' ? await profileMutationBaseline(database.url) : [];
    const summary = summarizeProfile(profile, 20);
    const markdown = [
      `# CPU profile of the server: ${scenario}`,
      '',
      `Taken ${new Date().toISOString()} with \`npx tsx bench/profile.ts ${scenario}\` (Node ${process.version}, ` +
        `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}; load average ${loadBefore} before, ${load()} after). ` +
        'The server ran as its own process (`node --inspect --import tsx src/main.ts`, LOG_LEVEL=warn) and was profiled ' +
        'through the inspector for the measured window only (1 ms sampling). Profile times are wall-clock time the main ' +
        'thread was not idle: time it spent descheduled inside a call (on 2 shared cores, often inside a socket write that ' +
        'woke Postgres) counts towards that call, so the CPU time from /proc is the figure to compare costs with.',
      '',
      ...notes,
      '',
      profileMarkdown(summary, 'Server main thread'),
      ...extra,
    ].join('\n');
    const results = new URL('./results/', import.meta.url);
    await mkdir(results, { recursive: true });
    await writeFile(new URL(`profile-${scenario}.md`, results), markdown);
    await writeFile(new URL(`profile-${scenario}.json`, results), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(markdown);
  } finally {
    await server?.stop();
    if (simulatorStarted) await simulator.stop();
    await database.drop();
  }
}

await main();
