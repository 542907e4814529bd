import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

/*
 * Polling on a learned end window, through the real worker and the simulator over HTTP: once five jobs of a kind
 * have finished, the next one's first status request waits straight to where they ended instead of polling at
 * SEGMIND_POLL_MAX_MS on the way there.
 */

type Simulator = Awaited<ReturnType<typeof startSimulator>>;

const JOB_MS = 1500;
const INPUT = { durationSeconds: 4, generateAudio: false } as const;
const POLLING = { SEGMIND_POLL_MIN_MS: '50', SEGMIND_POLL_MAX_MS: '200' };

async function generate(server: TestApp, prompt: string): Promise<string> {
  const body = await server.graphql<{ generateVideo: { __typename: string; generation?: { id: string } } }>(GENERATE, {
    input: { prompt, ...INPUT },
  });
  expect(body.data?.generateVideo.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
  return body.data!.generateVideo.generation!.id;
}

describe.skipIf(!hasPostgres)('polling once recent jobs of the same kind show when they end', () => {
  let database: TestDatabase;
  let sim: Simulator;
  let proxy: RecordingProxy;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: JOB_MS });
    proxy = await startRecordingProxy(sim.env.SEGMIND_BASE_URL!);
  });
  afterAll(async () => {
    await proxy?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const finished = async (ids: string[]) =>
    (await database.sql<{ n: number }[]>`
      select count(*)::int as n from generations where id = any(${ids}::uuid[]) and status = 'SUCCEEDED'`)[0]!.n;

  const requestIdOf = async (id: string) =>
    (await database.sql<{ rid: string }[]>`select segmind_request_id as rid from generations where id = ${id}`)[0]!.rid;

  it('has no window without history: a first job polls on its way to the expected end', async () => {
    const env = { DATABASE_URL: database.url, ...sim.env, SEGMIND_BASE_URL: proxy.url, ...POLLING };
    const server = await startTestApp(env);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await generate(server, `history #${i}: a kite over the dunes`));
      await waitFor('five history jobs to succeed', async () => (await finished(ids)) === ids.length, { timeoutMs: 30_000 });
      // No history: the advertised 100 s job, so polls come at most 200 ms apart all through the 1.5 s job.
      const polls = proxy.count('GET', new RegExp(`^/v2/requests/${await requestIdOf(ids[0]!)}/status$`));
      expect(polls).toBeGreaterThanOrEqual(4);
    } finally {
      await server.stop();
    }
  });

  it('waits straight to the window five finished jobs span, and notices the end within a few requests', async () => {
    // A fresh server: the one above cached the no-history estimate.
    const env = { DATABASE_URL: database.url, ...sim.env, SEGMIND_BASE_URL: proxy.url, ...POLLING };
    const server = await startTestApp(env);
    try {
      const id = await generate(server, 'after history: a kite over the dunes');
      await waitFor('the job after them to succeed', async () => (await finished([id])) === 1, { timeoutMs: 30_000 });
      const statusPath = new RegExp(`^/v2/requests/${await requestIdOf(id)}/status$`);
      const submittedAt = sim.simulator.jobs().find((job) => job.input.prompt.startsWith('after history'))!.submittedAt.getTime();
      const polls = proxy.requests.filter((r) => r.method === 'GET' && statusPath.test(r.path));
      // Every job took JOB_MS: the window is JOB_MS ± 1 %, so the first request comes at its start, not at 200 ms.
      expect(polls[0]!.at - submittedAt).toBeGreaterThanOrEqual(JOB_MS * 0.99 - 50);
      expect(polls.length).toBeLessThanOrEqual(3);
    } finally {
      await server.stop();
    }
  });
});
