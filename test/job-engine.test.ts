import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, collectWs, createWsClient, GENERATE, GET_WITH_EVENT_TIMES as GET, type TestGenerationWithEventTimes as Generation, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { maxOverlap, startRecordingProxy, startSampler, type RecordingProxy } from './helpers/engine.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

type Simulator = Awaited<ReturnType<typeof startSimulator>>;

/** Four seconds without audio: $0.40 until Segmind reports the charge. */
const INPUT = { durationSeconds: 4, generateAudio: false } as const;
const ESTIMATE = '0.40';
const SUBMIT_PATH = /^\/v2\/veo-3\.1-fast$/;
const statusPath = (segmindRequestId: string) => new RegExp(`^/v2/requests/${segmindRequestId}/status$`);
const resultPath = (segmindRequestId: string) => new RegExp(`^/v2/requests/${segmindRequestId}$`);
const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/;
/** How the workers name the simulator's key in `segmind_submits`: a hash, never the key itself. */
const SIM_KEY_ID = createHash('sha256').update('sim-key').digest('hex').slice(0, 16);
const FAST_POLLING = { SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' };

async function create(server: TestApp, prompt: string): Promise<Generation> {
  const body = await server.graphql<{ generateVideo: { __typename: string; generation?: Generation } }>(GENERATE, {
    input: { prompt, ...INPUT },
  });
  expect(body.data?.generateVideo.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
  return body.data!.generateVideo.generation!;
}

async function fetchGeneration(server: TestApp, id: string): Promise<Generation> {
  const body = await server.graphql<{ generation: Generation | null }>(GET, { id });
  expect(body.errors).toBeUndefined();
  return body.data!.generation!;
}

/** Follows a generation over graphql-ws until the server completes the stream; returns every version seen. */
async function follow(server: TestApp, id: string, timeoutMs = 15_000): Promise<Generation[]> {
  const client = createWsClient(server.url, { key: server.key });
  try {
    const { results, completed } = await collectWs<{ generationStatus: Generation }>(client, WATCH, { id }, timeoutMs);
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(completed, `the subscription to ${id} did not complete in ${timeoutMs} ms`).toBe(true);
    return results.map((r) => r.data!.generationStatus);
  } finally {
    await client.dispose();
  }
}

const untilFinal = async (server: TestApp, id: string, timeoutMs?: number) => (await follow(server, id, timeoutMs)).at(-1)!;

function expectFailed(generation: Generation, code: string, retryable: boolean): string {
  expect(generation.status).toBe('FAILED');
  expect(generation.error).toMatchObject({ code, retryable });
  expect(generation.completedAt).not.toBeNull();
  expect(Date.parse(generation.completedAt!)).not.toBeNaN();
  expect(generation.events.at(-1)).toMatchObject({ type: 'failed', status: 'FAILED' });
  return generation.error!.message;
}

const isContiguous = (versions: number[]) => versions.every((v, i) => i === 0 || v === versions[i - 1]! + 1);

/** An API process, two worker processes and a simulator behind a recording proxy, on their own database. */
interface WorkerPair {
  database: TestDatabase;
  sim: Simulator;
  proxy: RecordingProxy;
  api: TestApp;
  workers: ServerProcess[];
}

async function startWorkerPair(processingMs: number, workerEnv: Record<string, string>): Promise<WorkerPair> {
  const database = await createTestDatabase();
  const sim = await startSimulator({ processingMs });
  const proxy = await startRecordingProxy(sim.env.SEGMIND_BASE_URL!);
  const env = { DATABASE_URL: database.url, ...sim.env, SEGMIND_BASE_URL: proxy.url, ...FAST_POLLING };
  const [api, ...workers] = await Promise.all([
    startTestApp({ ...env, ROLE: 'api' }),
    spawnServer({ ...env, ...workerEnv, ROLE: 'worker' }),
    spawnServer({ ...env, ...workerEnv, ROLE: 'worker' }),
  ]);
  return { database, sim, proxy, api, workers };
}

async function stopWorkerPair(pair: WorkerPair | undefined): Promise<void> {
  if (!pair) return;
  await Promise.all(pair.workers.map((w) => w.stop()));
  await pair.api.stop();
  await pair.proxy.stop();
  await pair.sim.simulator.stop();
  await pair.database.drop();
}

describe.skipIf(!hasPostgres)('submit limits shared by two worker processes through Postgres', () => {
  const PROCESSING_MS = 1500;
  /** SEGMIND_MAX_IN_FLIGHT=2; each worker could take three at once, so only the shared cap keeps the pair at two. */
  let capped: WorkerPair;
  /** SEGMIND_SUBMITS_PER_MINUTE=2. */
  let limited: WorkerPair;

  beforeAll(async () => {
    // Worker processes take seconds to start: start all four at once.
    [capped, limited] = await Promise.all([
      startWorkerPair(PROCESSING_MS, { SEGMIND_MAX_IN_FLIGHT: '2', WORKER_CONCURRENCY: '3' }),
      startWorkerPair(300, { SEGMIND_SUBMITS_PER_MINUTE: '2' }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stopWorkerPair(capped), stopWorkerPair(limited)]);
  });

  it('never has more than two generations at Segmind at once, and finishes all six', async () => {
    const sampler = startSampler(50, async () => {
      const [row] = await capped.database.sql<[{ atSegmind: number; beingSubmitted: number }]>`
        select count(*) filter (where status in ('SUBMITTED', 'PROCESSING'))::int as "atSegmind",
               count(*) filter (where status = 'QUEUED' and lease_expires_at > now())::int as "beingSubmitted"
        from generations`;
      return row;
    });
    const prompts = Array.from({ length: 6 }, (_, i) => `a lantern festival, shot ${i + 1} of 6`);
    let samples: { atSegmind: number; beingSubmitted: number }[];
    try {
      const created = await Promise.all(prompts.map((prompt) => create(capped.api, prompt)));
      const ids = created.map((g) => g.id);
      await waitFor(
        'all six generations to be final',
        async () => {
          const [{ n }] = await capped.database.sql<[{ n: number }]>`
            select count(*)::int as n from generations where id in ${capped.database.sql(ids)} and status in ('SUCCEEDED', 'FAILED', 'CANCELED')`;
          return n === 6 ? true : undefined;
        },
        { timeoutMs: 25_000 },
      );
      const finals = await Promise.all(ids.map((id) => fetchGeneration(capped.api, id)));
      expect(finals.map((g) => g.status)).toEqual(Array(6).fill('SUCCEEDED'));
      expect(finals.map((g) => g.attempts)).toEqual(Array(6).fill(1));
    } finally {
      samples = await sampler.stop();
    }

    // Segmind's view: each job is at Segmind from its submit until it finishes there.
    const jobs = capped.sim.simulator.jobs();
    expect(jobs.map((j) => j.input.prompt).sort()).toEqual([...prompts].sort());
    expect(capped.proxy.count('POST', SUBMIT_PATH)).toBe(6);
    const atSegmind = maxOverlap(
      jobs.map((j) => ({ start: j.submittedAt.getTime(), end: j.submittedAt.getTime() + PROCESSING_MS })),
    );
    expect(atSegmind, 'jobs running at Segmind at once').toBeLessThanOrEqual(2);
    // And the cap is used, not merely respected by doing one at a time.
    expect(atSegmind, 'jobs running at Segmind at once').toBe(2);

    // Our view, sampled every 50 ms: a claimed row that is still QUEUED is being submitted and counts too.
    expect(samples.length).toBeGreaterThan(40);
    expect(Math.max(...samples.map((s) => s.atSegmind + s.beingSubmitted))).toBeLessThanOrEqual(2);
    expect(Math.max(...samples.map((s) => s.atSegmind))).toBe(2);
  });

  it('submits two of four generations in the first five seconds and keeps the other two queued, without a 429', async () => {
    const started = Date.now();
    const created = await Promise.all([1, 2, 3, 4].map((i) => create(limited.api, `a kite over the bay, take ${i}`)));
    const ids = created.map((g) => g.id);
    await waitFor('two submits to reach Segmind', () => (limited.proxy.count('POST', SUBMIT_PATH) >= 2 ? true : undefined), {
      timeoutMs: 5000,
    });
    // Both workers sweep every second: several chances to break the limit before the five seconds are up.
    await sleep(Math.max(2500, started + 5000 - Date.now()));

    // Segmind saw exactly two submit requests: the limit was kept by us, not enforced by a 429 from Segmind.
    expect(limited.proxy.count('POST', SUBMIT_PATH)).toBe(2);
    expect(limited.sim.simulator.submissions()).toBe(2);

    const rows = await limited.database.sql<{ id: string; status: string; segmind_request_id: string | null; attempts: number; lease_owner: string | null }[]>`
      select id, status, segmind_request_id, attempts, lease_owner from generations where id in ${limited.database.sql(ids)}`;
    const submitted = rows.filter((r) => r.segmind_request_id !== null);
    const waiting = rows.filter((r) => r.segmind_request_id === null);
    expect(submitted).toHaveLength(2);
    expect(waiting.map(({ status, attempts, lease_owner }) => ({ status, attempts, lease_owner }))).toEqual([
      { status: 'QUEUED', attempts: 0, lease_owner: null },
      { status: 'QUEUED', attempts: 0, lease_owner: null },
    ]);

    const submits = await limited.database.sql<{ key_id: string; generation_id: string }[]>`
      select key_id, generation_id from segmind_submits order by generation_id`;
    expect(submits.map((s) => s.key_id)).toEqual([SIM_KEY_ID, SIM_KEY_ID]);
    expect(submits.map((s) => s.generation_id)).toEqual(submitted.map((r) => r.id).sort());

    const [{ n: rateLimited }] = await limited.database.sql<[{ n: number }]>`
      select count(*)::int as n from generation_events where type = 'rate_limited'`;
    expect(rateLimited).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('the generation deadline', () => {
  let database: TestDatabase;
  let sim: Simulator;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A [sim:slow] job takes 3 s, twice the deadline; one submit a minute leaves later generations waiting.
    sim = await startSimulator({ processingMs: 300 });
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      ...FAST_POLLING,
      GENERATION_DEADLINE_MS: '1500',
      SEGMIND_SUBMITS_PER_MINUTE: '1',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('fails a generation Segmind is still working on at its deadline as TIMEOUT, saying a charge may apply', async () => {
    const generation = await create(server, 'a glacier that takes its time [sim:slow]');
    const final = await untilFinal(server, generation.id);

    const message = expectFailed(final, 'TIMEOUT', true);
    expect(message).toMatch(/charge may (still )?apply/i);
    const ranFor = Date.parse(final.completedAt!) - Date.parse(final.createdAt);
    expect(ranFor).toBeGreaterThanOrEqual(1500);
    expect(ranFor).toBeLessThan(3000);
    // Segmind accepted it and is still working: the estimate stands, since the charge is not known.
    expect(final.cost.amount).toBe(ESTIMATE);
    expect(final.costIsFinal).toBe(false);
    expect(final.attempts).toBe(1);
    const jobs = sim.simulator.jobs().filter((j) => j.input.prompt === generation.prompt);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.status).toBe('PROCESSING');
  });

  it('fails a generation that could not be submitted before its deadline as TIMEOUT at a final cost of zero', async () => {
    // This minute's one submit is spent (by the test above, and by this row in case it ran alone).
    await database.sql`insert into segmind_submits (key_id, generation_id) values (${SIM_KEY_ID}, ${randomUUID()})`;
    const submissionsBefore = sim.simulator.submissions();
    const generation = await create(server, 'a queue that never moves');
    const final = await untilFinal(server, generation.id);

    const message = expectFailed(final, 'TIMEOUT', true);
    expect(message).toMatch(/nothing is charged/i);
    expect(Date.parse(final.completedAt!) - Date.parse(final.createdAt)).toBeGreaterThanOrEqual(1500);
    expect(final.cost).toEqual({ amount: '0.00', currency: 'USD' });
    expect(final.costIsFinal).toBe(true);
    expect(final.attempts).toBe(0);
    expect(final.events.map((e) => e.type)).toEqual(['created', 'failed']);
    expect(sim.simulator.submissions()).toBe(submissionsBefore);
    expect(sim.simulator.jobs().map((j) => j.input.prompt)).not.toContain(generation.prompt);
  });
});

describe.skipIf(!hasPostgres)('a generation whose deadline passes while it waits to be sent again', () => {
  let database: TestDatabase;
  let sim: Simulator;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...FAST_POLLING, GENERATION_DEADLINE_MS: '1500' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('fails as TIMEOUT at its deadline, free of charge, instead of waiting out a rate limit that ends later', async () => {
    // Segmind's limit resets 4 s from now, long after the 1.5 s deadline: the generation can no longer make it.
    const resetAt = Date.now() + 4000;
    sim.simulator.injectFault({ endpoint: 'submit', status: 429, headers: { 'x-rate-limit-reset-at-utc': new Date(resetAt).toISOString() } });
    const generation = await create(server, 'a comet, too late');
    const final = await untilFinal(server, generation.id);

    const message = expectFailed(final, 'TIMEOUT', true);
    expect(message).toMatch(/nothing is charged/i);
    expect(final.cost).toEqual({ amount: '0.00', currency: 'USD' });
    expect(final.costIsFinal).toBe(true);
    expect(final.events.map((e) => e.type)).toEqual(['created', 'rate_limited', 'failed']);
    // Failed at the deadline (workers sweep every second), not when the wait ends.
    const failedAfter = Date.parse(final.completedAt!) - Date.parse(final.createdAt);
    expect(failedAfter).toBeGreaterThanOrEqual(1500);
    expect(failedAfter, 'ms from creation to TIMEOUT').toBeLessThan(3000);
    expect(sim.simulator.submissions()).toBe(0);
  });
});

/** One app (API and worker) and a simulator behind a recording proxy, on their own database. */
interface ProxiedApp {
  database: TestDatabase;
  sim: Simulator;
  proxy: RecordingProxy;
  server: TestApp;
  stop(): Promise<void>;
}

async function startProxiedApp(processingMs: number, env: Record<string, string>): Promise<ProxiedApp> {
  const database = await createTestDatabase();
  const sim = await startSimulator({ processingMs });
  const proxy = await startRecordingProxy(sim.env.SEGMIND_BASE_URL!);
  const server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, SEGMIND_BASE_URL: proxy.url, ...FAST_POLLING, ...env });
  return {
    database,
    sim,
    proxy,
    server,
    async stop() {
      await server.stop();
      await proxy.stop();
      await sim.simulator.stop();
      await database.drop();
    },
  };
}

describe.skipIf(!hasPostgres)('a submit whose answer never comes', () => {
  let app: ProxiedApp | undefined;
  let sim: Simulator;
  let proxy: RecordingProxy;
  let server: TestApp;

  beforeAll(async () => {
    app = await startProxiedApp(300, { SEGMIND_REQUEST_TIMEOUT_MS: '300' });
    ({ sim, proxy, server } = app);
  });
  afterAll(() => app?.stop());

  it('fails as UPSTREAM_UNAVAILABLE, says it may be billed, keeps the estimate and never sends it again', async () => {
    // Segmind accepts (and bills) the job, but its answer never arrives: after 300 ms nobody knows.
    sim.simulator.injectFault({ endpoint: 'submit', acceptThenFail: true, hang: true });
    const generation = await create(server, 'a heron fishing, on a silent line');
    const final = await untilFinal(server, generation.id);

    const message = expectFailed(final, 'UPSTREAM_UNAVAILABLE', true);
    expect(message).toMatch(/bill/i);
    expect(message).toMatch(/not sent again/i);
    expect(final.cost.amount).toBe(ESTIMATE);
    expect(final.costIsFinal).toBe(false);
    expect(final.attempts).toBe(1);
    expect(sim.simulator.submissions()).toBe(1);

    // A worker that (wrongly) retried would do so within a second or two (the first backoff is under 1 s).
    await sleep(2000);
    expect(sim.simulator.submissions()).toBe(1);
    expect(proxy.count('POST', SUBMIT_PATH)).toBe(1);
    const after = await fetchGeneration(server, generation.id);
    expect(after.version).toBe(final.version);
    expect(after.events.map((e) => e.type)).not.toContain('resubmitting_after_crash');
  });
});

describe.skipIf(!hasPostgres)('a submit Segmind rate limits', () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The built-in simulator (a real HTTP server): the worker then expects a job to take 300 ms, so the ETA
    // while rate limited is mostly the wait, and leaving the wait out of it would show.
    server = await startTestApp({ DATABASE_URL: database.url, ...FAST_POLLING, SIMULATOR_PROCESSING_MS: '300' });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('announces when it will try again, counts the wait in its ETA, and succeeds on its first attempt', async () => {
    const simulator = server.app.simulator!;
    const resetAt = Date.now() + 2000;
    simulator.injectFault({ endpoint: 'submit', status: 429, headers: { 'x-rate-limit-reset-at-utc': new Date(resetAt).toISOString() } });
    const generation = await create(server, 'a hummingbird, after a rate limit');

    const { waiting, readAt } = await waitFor(
      'the rate_limited event',
      async () => {
        const readAt = Date.now();
        const g = await fetchGeneration(server, generation.id);
        return g.events.some((e) => e.type === 'rate_limited') ? { waiting: g, readAt } : undefined;
      },
      { timeoutMs: 3000, intervalMs: 20 },
    );
    expect(waiting.status).toBe('QUEUED');
    const event = waiting.events.find((e) => e.type === 'rate_limited')!;
    const announced = ISO_TIMESTAMP.exec(event.message)?.[0];
    expect(announced, `no time in "${event.message}"`).toBeDefined();
    const nextTry = Date.parse(announced!);
    // Segmind's reset time plus less than a second of jitter.
    expect(nextTry).toBeGreaterThanOrEqual(resetAt);
    expect(nextTry).toBeLessThan(resetAt + 1100);
    const remainingMs = nextTry - readAt;
    expect(remainingMs).toBeGreaterThan(1000);
    expect(waiting.etaSeconds).not.toBeNull();
    expect(waiting.etaSeconds! * 1000).toBeGreaterThanOrEqual(remainingMs);
    expect(waiting.etaSeconds! * 1000).toBeGreaterThanOrEqual(nextTry - Date.parse(event.createdAt));

    const final = await untilFinal(server, generation.id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts).toBe(1);
    expect(final.events.filter((e) => e.type === 'rate_limited')).toHaveLength(1);
    expect(simulator.submissions()).toBe(1);
    expect(simulator.jobs()[0]!.submittedAt.getTime()).toBeGreaterThanOrEqual(nextTry);
  });
});

describe.skipIf(!hasPostgres)('canceling a generation a worker is polling', () => {
  const LEASE_MS = 1000;
  let app: ProxiedApp | undefined;
  let database: TestDatabase;
  let sim: Simulator;
  let proxy: RecordingProxy;
  let server: TestApp;

  beforeAll(async () => {
    // A [sim:slow] job runs 10 s at Segmind: long after the cancel, there is still something to poll.
    app = await startProxiedApp(1000, { LEASE_MS: String(LEASE_MS) });
    ({ database, sim, proxy, server } = app);
  });
  afterAll(() => app?.stop());

  it('is never picked up again: no more polls, no lease and no new versions after the lease would have expired', async () => {
    const generation = await create(server, 'a long shot, canceled midway [sim:slow]');
    const segmindRequestId = await waitFor('the worker to be polling the job under its lease', async () => {
      const [row] = await database.sql<{ status: string; segmind_request_id: string | null; lease_owner: string | null }[]>`
        select status, segmind_request_id, lease_owner from generations where id = ${generation.id}`;
      if (row?.status !== 'PROCESSING' || !row.lease_owner || !row.segmind_request_id) return undefined;
      return proxy.count('GET', statusPath(row.segmind_request_id)) >= 2 ? row.segmind_request_id : undefined;
    });

    const body = await server.graphql<{ cancelGeneration: { __typename: string; chargeMayApply: boolean; generation: Generation } }>(
      CANCEL,
      { id: generation.id },
    );
    const canceledAt = Date.now();
    expect(body.data?.cancelGeneration).toMatchObject({ __typename: 'CancelGenerationSuccess', chargeMayApply: true });
    const canceledVersion = body.data!.cancelGeneration.generation.version;

    // The worker notices at once (the cancel's notification, or at worst its next heartbeat), not when the lease expires.
    const runEndedAt = await waitFor('the worker to stop driving it', () => {
      const line = server.logs.find((l) => l.includes('generation run ended') && l.includes(generation.id));
      return line ? Date.parse((JSON.parse(line) as { time: string }).time) : undefined;
    });
    expect(runEndedAt - canceledAt).toBeLessThan(LEASE_MS);

    await sleep(LEASE_MS * 2);

    const [row] = await database.sql<{ status: string; lease_owner: string | null; lease_expires_at: Date | null; version: number }[]>`
      select status, lease_owner, lease_expires_at, version from generations where id = ${generation.id}`;
    expect(row).toEqual({ status: 'CANCELED', lease_owner: null, lease_expires_at: null, version: canceledVersion });
    const [{ n: laterEvents }] = await database.sql<[{ n: number }]>`
      select count(*)::int as n from generation_events where generation_id = ${generation.id} and version > ${canceledVersion}`;
    expect(laterEvents).toBe(0);
    // Nobody asks Segmind about it any more: not the worker that held it, nor one that took it over later.
    expect(proxy.count('GET', statusPath(segmindRequestId), runEndedAt)).toBe(0);
    expect(proxy.count('GET', resultPath(segmindRequestId))).toBe(0);
    expect(proxy.count('POST', SUBMIT_PATH)).toBe(1);
    expect(server.logs.filter((l) => l.includes('generation run ended') && l.includes(generation.id))).toHaveLength(1);
    // Segmind is still working on it: a worker that kept going would have had every reason to keep polling.
    expect(sim.simulator.jobs().find((j) => j.requestId === segmindRequestId)?.status).toBe('PROCESSING');
  });
});

describe.skipIf(!hasPostgres)('a subscriber whose notification never comes', () => {
  let database: TestDatabase;
  let server: TestApp;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: no worker moves the generation; only the test's own SQL does.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    client = createWsClient(server.url, { key: server.key });
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.stop();
    await database?.drop();
  });

  it('still receives a version committed without pg_notify, within the 5 s sweep', async () => {
    const generation = await create(server, 'a still life nobody works on');
    const notified: string[] = [];
    const listening = await database.sql.listen('generation_updates', (payload) => notified.push(payload));

    const seen: { version: number; status: string; at: number }[] = [];
    let markFirst: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (markFirst = resolve));
    const done = new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(false);
      }, 10_000);
      const unsubscribe = client.subscribe<{ generationStatus: Generation }>(
        { query: WATCH, variables: { id: generation.id } },
        {
          next: ({ data }) => {
            if (data) seen.push({ version: data.generationStatus.version, status: data.generationStatus.status, at: Date.now() });
            markFirst();
          },
          error: (error: unknown) => {
            clearTimeout(timer);
            reject(new Error(JSON.stringify(error)));
          },
          complete: () => {
            clearTimeout(timer);
            resolve(true);
          },
        },
      );
    });
    await first;

    // What a transition commits, minus the NOTIFY: the row moves on and the timeline gets the new snapshot.
    const changedAt = Date.now();
    await database.sql.begin(async (tx) => {
      const [updated] = await tx<[{ version: number; completed_at: Date; updated_at: Date }]>`
        update generations set status = 'CANCELED', version = version + 1, completed_at = now(), updated_at = now()
        where id = ${generation.id} returning version, completed_at, updated_at`;
      await tx`
        insert into generation_events (generation_id, version, type, status, message, snapshot)
        select generation_id, ${updated.version}, 'canceled', 'CANCELED', 'Canceled behind the bus''s back.',
               snapshot || jsonb_build_object('status', 'CANCELED', 'version', ${updated.version}::int,
                                              'completedAt', to_jsonb(${updated.completed_at}::timestamptz),
                                              'updatedAt', to_jsonb(${updated.updated_at}::timestamptz))
        from generation_events where generation_id = ${generation.id} and version = ${updated.version - 1}`;
    });

    const completed = await done;
    await listening.unlisten();
    expect(notified.filter((p) => p.startsWith(generation.id))).toEqual([]);
    expect(completed).toBe(true);
    expect(seen.map(({ version, status }) => ({ version, status }))).toEqual([
      { version: 1, status: 'QUEUED' },
      { version: 2, status: 'CANCELED' },
    ]);
    expect(seen[1]!.at - changedAt).toBeLessThanOrEqual(6000);
  });
});

describe.skipIf(!hasPostgres)('progress while Segmind works', () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The built-in simulator takes 3 s, and the worker expects that; polling every 50 ms gives ~55 status
    // answers while PROCESSING, each moving the estimate by more than a percent.
    server = await startTestApp({
      DATABASE_URL: database.url,
      SIMULATOR_PROCESSING_MS: '3000',
      SEGMIND_POLL_MIN_MS: '50',
      SEGMIND_POLL_MAX_MS: '50',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('writes a few coalesced progress ticks, not one per poll, and subscribers see contiguous versions', async () => {
    const generation = await create(server, 'a slow sunrise over the harbour');
    const seen = await follow(server, generation.id);

    expect(seen.at(-1)!.status).toBe('SUCCEEDED');
    const versions = seen.map((g) => g.version);
    expect(isContiguous(versions), versions.join(',')).toBe(true);
    const progress = seen.map((g) => g.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const events = await database.sql<{ type: string; version: number }[]>`
      select type, version from generation_events where generation_id = ${generation.id} order by version`;
    expect(versions).toEqual(events.map((e) => e.version).filter((v) => v >= versions[0]!));
    const ticks = events.filter((e) => e.type === 'progress').length;
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(ticks).toBeLessThanOrEqual(25);
  });
});
