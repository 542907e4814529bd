import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, GET } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

/**
 * A worker that sent a paid submit and lost the database (or only its heartbeat) for longer than its lease: the
 * request id Segmind answered must be recorded by that worker when it can write again, and nobody — neither
 * that process nor another worker — may send the job a second time meanwhile.
 */

const LEASE_MS = 3000;
const SUBMIT_MS = 1500;
const OUTAGE_MS = 8000;

interface Row {
  status: string;
  segmind_request_id: string | null;
  attempts: number;
  submit_started_at: Date | null;
  lease_owner: string | null;
}

type Generation = Record<string, any>;

describe.skipIf(!hasPostgres)('a worker whose lease runs out while Segmind answers its submit', () => {
  let database: TestDatabase;
  let admin: postgres.Sql;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let apps: TestApp[] = [];
  /** A login role for one worker only, so that worker alone can be cut off from the database. */
  const partitionedRole = `reelql_cut_${randomBytes(4).toString('hex')}`;
  const name = () => new URL(database.url).pathname.slice(1);

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = postgres(inject('postgresUrl')!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create role ${partitionedRole} login superuser`);
    sim = await startSimulator({ processingMs: 500 });
  });
  beforeEach(() => sim.simulator.reset());
  afterEach(async () => {
    // Whatever happened, everyone can connect again before the next test or the drop.
    await admin.unsafe(`alter database ${name()} with allow_connections true`);
    await admin.unsafe(`alter role ${partitionedRole} login`);
    await Promise.all(apps.map((app) => app.stop()));
    apps = [];
  });
  afterAll(async () => {
    await sim?.simulator.stop();
    await database?.drop();
    await admin?.unsafe(`drop role if exists ${partitionedRole}`);
    await admin?.end({ timeout: 1 });
  });

  async function startApp(env: Record<string, string>, databaseUrl = database.url): Promise<TestApp> {
    const app = await startTestApp({ DATABASE_URL: databaseUrl, ...sim.env, LEASE_MS: String(LEASE_MS), ...env });
    apps.push(app);
    return app;
  }

  function urlAs(role: string): string {
    const url = new URL(database.url);
    url.username = role;
    return url.toString();
  }

  /** Only this file's database goes away: new connections are refused and every open one is cut. */
  async function databaseOutage(ms: number): Promise<{ endedAt: number }> {
    await admin.unsafe(`alter database ${name()} with allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name()} and pid <> pg_backend_pid()`;
    await sleep(ms);
    await admin.unsafe(`alter database ${name()} with allow_connections true`);
    return { endedAt: Date.now() };
  }

  /** Only the processes connected as `role` lose the database, as in a network partition; the rest carry on. */
  async function cutOff(role: string, ms: number, meanwhile: () => Promise<unknown>): Promise<{ endedAt: number }> {
    await admin.unsafe(`alter role ${role} nologin`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where usename = ${role}`;
    await Promise.all([sleep(ms), meanwhile()]);
    await admin.unsafe(`alter role ${role} login`);
    return { endedAt: Date.now() };
  }

  async function row(id: string): Promise<Row | undefined> {
    const [found] = await database.sql<Row[]>`
      select status, segmind_request_id, attempts, submit_started_at, lease_owner from generations where id = ${id}`;
    return found;
  }

  const jobsFor = (prompt: string) => sim.simulator.jobs().filter((j) => j.input.prompt === prompt);

  async function create(api: TestApp, prompts: string[], input: Record<string, unknown> = {}): Promise<string[]> {
    return Promise.all(
      prompts.map(async (prompt) => {
        const created = await api.graphql(GENERATE, { input: { prompt, durationSeconds: 4, generateAudio: false, ...input } });
        const id = created.data?.generateVideo.generation?.id as string | undefined;
        expect(id, JSON.stringify(created)).toBeTruthy();
        return id!;
      }),
    );
  }

  /** Resolves with the time every generation's submit had gone out (marked, request id not yet recorded). */
  const submitsOut = (ids: string[]) =>
    waitFor('every submit to go out', async () => {
      const rows = await Promise.all(ids.map(row));
      return rows.every((r) => r?.submit_started_at && !r.segmind_request_id) ? Date.now() : undefined;
    });

  const ended = (api: TestApp, ids: string[]): Promise<Generation[]> =>
    Promise.all(
      ids.map((id) =>
        waitFor(
          'the generation to end',
          async () => {
            const generation = (await api.graphql(GET, { id })).data?.generation as Generation | undefined;
            return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(generation?.status) ? generation : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        ),
      ),
    );

  /** Segmind answered each submit while its worker could not write, after that worker's lease had run out. */
  function expectAnsweredDuringOutage(prompts: string[], outageStartedAt: number, endedAt: number) {
    for (const prompt of prompts) {
      const [job] = jobsFor(prompt);
      expect(job, `Segmind accepted "${prompt}"`).toBeDefined();
      expect(job!.submittedAt.getTime()).toBeGreaterThan(outageStartedAt);
      expect(job!.submittedAt.getTime()).toBeLessThan(endedAt - LEASE_MS);
    }
  }

  /** Each generation was sent once, and it holds the request id Segmind answered, recorded after `recordedAfter`. */
  async function expectEachSentOnceAndAdopted(ids: string[], prompts: string[], finals: Generation[], logs: string, recordedAfter: number) {
    expect(
      prompts.map((prompt) => jobsFor(prompt).length),
      `Segmind jobs per generation\n${logs}`,
    ).toEqual(prompts.map(() => 1));
    for (const [i, final] of finals.entries()) {
      const types = (final.events as { type: string }[]).map((e) => e.type);
      expect(final.status, logs).toBe('SUCCEEDED');
      expect(types).not.toContain('resubmitting_after_crash');
      expect(types.filter((t) => t === 'submitted')).toHaveLength(1);
      expect(final.attempts).toBe(1);
      expect((await row(ids[i]!))?.segmind_request_id).toBe(jobsFor(prompts[i]!)[0]!.requestId);
    }
    // Recorded when the worker could write again: the late request id was adopted, not dropped.
    const submitted = await database.sql<{ at: Date }[]>`
      select created_at as at from generation_events where generation_id in ${database.sql(ids)} and type = 'submitted'`;
    expect(submitted).toHaveLength(ids.length);
    for (const event of submitted) expect(event.at.getTime()).toBeGreaterThan(recordedAfter);
    expect(logs).not.toContain('canceled while Segmind accepted it');
  }

  it('sends each generation once and records the request ids Segmind answered during a database outage longer than the lease', async () => {
    const api = await startApp({ ROLE: 'all' });
    const prompts = [1, 2, 3, 4].map((n) => `through a database outage #${n}`);
    sim.simulator.injectFault({ endpoint: 'submit', delayMs: SUBMIT_MS, times: prompts.length });
    const ids = await create(api, prompts);
    const outageStartedAt = await submitsOut(ids);
    const { endedAt } = await databaseOutage(OUTAGE_MS);
    expectAnsweredDuringOutage(prompts, outageStartedAt, endedAt);
    const finals = await ended(api, ids);
    await expectEachSentOnceAndAdopted(ids, prompts, finals, api.logs.join('\n'), endedAt - 1000);
  }, 60_000);

  it('lets no other worker resubmit while the worker that sent the job is cut off past its lease, and adopts its late request id', async () => {
    const api = await startApp({ ROLE: 'api' });
    const sender = await startApp({ ROLE: 'worker' }, urlAs(partitionedRole));
    const prompts = [1, 2].map((n) => `sender cut off from the database #${n}`);
    sim.simulator.injectFault({ endpoint: 'submit', delayMs: SUBMIT_MS, times: prompts.length });
    const ids = await create(api, prompts);
    const cutAt = await submitsOut(ids);
    let other: TestApp | undefined;
    // The other worker starts while the sender is away and sees its leases run out.
    const { endedAt } = await cutOff(partitionedRole, OUTAGE_MS, async () => (other = await startApp({ ROLE: 'worker' })));
    expectAnsweredDuringOutage(prompts, cutAt, endedAt);
    const finals = await ended(api, ids);
    const logs = [sender, other!].flatMap((app) => app.logs).join('\n');
    await expectEachSentOnceAndAdopted(ids, prompts, finals, logs, endedAt - 1000);
    expect(other!.logs.join('\n')).not.toContain('"msg":"generation run ended"');
  }, 60_000);

  it('does not claim again, nor send again, a generation whose submit answer it still waits for when its lease lapsed', async () => {
    // A long lease: the heartbeat comes every 10 s, so only the missed one below lets the lease lapse.
    const api = await startApp({ ROLE: 'all', LEASE_MS: '30000' });
    const prompt = 'lease lapses while the submit is out';
    sim.simulator.injectFault({ endpoint: 'submit', delayMs: 2500 });
    const [id] = await create(api, [prompt]);
    const lapsedAt = await submitsOut([id!]);
    // What a missed heartbeat leaves behind (a database hiccup, a stalled event loop): a lapsed lease.
    await database.sql`update generations set lease_expires_at = now() - interval '1 second' where id = ${id!}`;
    const [final] = await ended(api, [id!]);
    await expectEachSentOnceAndAdopted([id!], [prompt], [final!], api.logs.join('\n'), lapsedAt);
  }, 30_000);

  it('does not claim again a generation it is polling when its lease lapsed', async () => {
    const api = await startApp({ ROLE: 'all', LEASE_MS: '30000' });
    const prompt = 'lease lapses while polling [sim:slow]';
    const [id] = await create(api, [prompt]);
    await waitFor('Segmind to be processing it', async () => ((await row(id!))?.status === 'PROCESSING' ? true : undefined));
    // Heartbeats that keep failing for 3 s (each progress tick renews the lease, so it is lapsed again and again).
    for (const giveUpAt = Date.now() + 3000; Date.now() < giveUpAt; await sleep(50)) {
      await database.sql`update generations set lease_expires_at = now() - interval '1 second' where id = ${id!}`;
    }
    const [final] = await ended(api, [id!]);
    expect(final!.status).toBe('SUCCEEDED');
    expect(jobsFor(prompt)).toHaveLength(1);
    // One run drove it from claim to end: a second claim by the same process would have started a second run.
    const runs = api.logs.filter((line) => line.includes(`"generationId":"${id!}"`) && line.includes('"msg":"generation run ended"'));
    expect(runs).toHaveLength(1);
  }, 30_000);
});

describe.skipIf(!hasPostgres)('a generation whose worker died mid-submit and whose deadline then passed', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let api: TestApp | undefined;
  let worker: TestApp | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('fails as TIMEOUT saying a charge may apply, keeps its cost as an estimate and is not sent again', async () => {
    api = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ROLE: 'api' });
    const created = await api.graphql(GENERATE, { input: { prompt: 'a kite over the dunes', durationSeconds: 4, generateAudio: false } });
    const id = created.data!.generateVideo.generation.id as string;
    // What a worker killed between sending the job and recording Segmind's answer leaves behind, long ago.
    await database.sql`update generations set submit_started_at = now() - interval '1 hour', attempts = 1,
      lease_owner = 'dead-worker', lease_expires_at = now() - interval '1 minute', deadline_at = now() - interval '1 second'
      where id = ${id}`;
    worker = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ROLE: 'worker' });
    const final = await waitFor('the generation to fail', async () => {
      const generation = (await api!.graphql(GET, { id })).data?.generation as Generation | undefined;
      return generation?.status === 'FAILED' ? generation : undefined;
    });
    expect(final.error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(final.error.message).toMatch(/charge may apply/);
    expect(final.cost.amount).toBe('0.40');
    expect(final.costIsFinal).toBe(false);
    expect(sim.simulator.submissions()).toBe(0);
  });
});
