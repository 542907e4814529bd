import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { GraphqlBody } from './helpers/app.js';
import { authHeaders, type Collected, collectWs, createWsClient, GENERATE, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

type Watched = { generationStatus: { id: string; version: number; status: string } };

/** Worker ids are `<host>:<pid>:<random>`. */
const pidOf = (leaseOwner: string | null) => (leaseOwner ? Number(leaseOwner.split(':').at(-2)) : undefined);

/** Subscribed versions must be contiguous, end SUCCEEDED, and the stream must complete. */
function expectFullStory(id: string, { results, completed }: Collected<Watched>) {
  expect(completed, `the subscription to ${id} did not complete`).toBe(true);
  expect(results.every((r) => r.errors === undefined), JSON.stringify(results)).toBe(true);
  const versions = results.map((r) => r.data!.generationStatus.version);
  expect(versions, `versions of ${id}`).toEqual(versions.map((_, i) => versions[0]! + i));
  const statuses = results.map((r) => r.data!.generationStatus.status);
  expect(statuses.at(-1)).toBe('SUCCEEDED');
  // PROCESSING may be skipped: a generation handed back while SUBMITTED can find its job already COMPLETED.
  expect(statuses).toContain('STORING');
  return { versions, statuses };
}

describe.skipIf(!hasPostgres)('two API processes and two workers on one Postgres', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let api1: ServerProcess;
  let api2: ServerProcess;
  let worker1: ServerProcess;
  let worker2: ServerProcess;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 1500 });
    const env = { DATABASE_URL: database.url, ...sim.env, SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' };
    // Two generations per worker at once, so that six generations need both; a long lease, so that a handover
    // that waited for the lease to expire would not finish within the test.
    const workerEnv = { ...env, ROLE: 'worker', WORKER_CONCURRENCY: '2', LEASE_MS: '60000', LOG_LEVEL: 'debug' };
    [api1, api2, worker1, worker2] = await Promise.all([
      spawnServer({ ...env, ROLE: 'api' }),
      spawnServer({ ...env, ROLE: 'api' }),
      spawnServer(workerEnv),
      spawnServer(workerEnv),
    ]);
    client = createWsClient(api1.url, { key: api1.key });
  });
  afterAll(async () => {
    await client?.dispose();
    await Promise.all([api1, api2, worker1, worker2].map((p) => p?.stop()));
    await sim?.simulator.stop();
    await database?.drop();
  });

  async function create({ url, key }: { url: string; key: string | undefined }, prompt: string): Promise<string> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(key) },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt, durationSeconds: 4 } } }),
    });
    const body = (await response.json()) as GraphqlBody<{ generateVideo: { generation?: { id: string } } }>;
    const id = body.data?.generateVideo.generation?.id;
    expect(id, JSON.stringify(body)).toBeTruthy();
    return id!;
  }

  async function finalVersion(id: string): Promise<number> {
    const [row] = await database.sql<{ version: number }[]>`select version from generations where id = ${id}`;
    return row!.version;
  }

  it('shows a subscriber on API 1 every version of a generation created through API 2', async () => {
    const id = await create(api2, 'seen from the other replica');
    const story = await collectWs<Watched>(client, WATCH, { id }, 20_000);
    const { versions, statuses } = expectFullStory(id, story);
    expect(statuses).toContain('PROCESSING');
    expect(versions.at(-1)).toBe(await finalVersion(id));
  });

  it('finishes every generation, each submitted once, with both workers taking part and one stopped by SIGTERM midway', async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => `scale-out generation ${i + 1}`);
    const ids: string[] = [];
    const stories: Promise<Collected<Watched>>[] = [];
    for (const prompt of prompts) {
      const id = await create(api2, prompt);
      ids.push(id);
      stories.push(collectWs<Watched>(client, WATCH, { id }, 15_000));
    }

    // Midway: worker 1 is driving a generation that Segmind is working on.
    const driven = await waitFor(
      'worker 1 to drive a PROCESSING generation',
      async () => {
        const rows = await database.sql<{ id: string; lease_owner: string | null }[]>`
          select id, lease_owner from generations where id in ${database.sql(ids)} and status = 'PROCESSING'`;
        const mine = rows.filter((r) => pidOf(r.lease_owner) === worker1.process.pid);
        return mine.length ? mine.map((r) => r.id) : undefined;
      },
      { timeoutMs: 15_000 },
    );
    const code = await worker1.stop('SIGTERM');
    expect(code, worker1.output()).toBe(0);

    const results = await Promise.all(stories);
    for (const [i, id] of ids.entries()) {
      const { versions } = expectFullStory(id, results[i]!);
      expect(versions.at(-1)).toBe(await finalVersion(id));
    }

    // Each prompt reached Segmind exactly once, and no generation was ever resubmitted.
    const submitted = sim.simulator.jobs().map((job) => job.input.prompt).filter((p) => prompts.includes(p));
    expect(submitted.sort()).toEqual([...prompts].sort());
    const events = await database.sql<{ generation_id: string; type: string; owner: string | null }[]>`
      select generation_id, type, snapshot->>'leaseOwner' as owner from generation_events
      where generation_id in ${database.sql(ids)} order by generation_id, version`;
    for (const id of ids) {
      expect(events.filter((e) => e.generation_id === id && e.type === 'submitted'), id).toHaveLength(1);
    }
    expect(events.map((e) => e.type)).not.toContain('resubmitting_after_crash');

    // Both workers took part: the timeline's snapshots name the lease holder, and each worker's log names
    // generations it drove. What worker 1 was driving at SIGTERM, worker 2 finished.
    const ownerPids = new Set(events.map((e) => pidOf(e.owner)));
    expect(ownerPids).toContain(worker1.process.pid);
    expect(ownerPids).toContain(worker2.process.pid);
    expect(ids.some((id) => worker1.output().includes(id)), worker1.output()).toBe(true);
    expect(ids.some((id) => worker2.output().includes(id)), worker2.output()).toBe(true);
    for (const id of driven) {
      const owners = events.filter((e) => e.generation_id === id).map((e) => pidOf(e.owner));
      expect(owners, `${id} after worker 1 stopped`).toContain(worker2.process.pid);
    }
  }, 60_000);
});
