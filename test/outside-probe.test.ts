import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeyCommand } from '../src/auth/key-commands.js';
import type { Db } from '../src/db/open.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectSse, collectWs, createWsClient, GENERATE, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

/** Every generation asks for 4 s without audio: a list price of $0.40. */
const INPUT = { durationSeconds: 4, generateAudio: false };

interface Admission {
  __typename: string;
  message?: string;
  generation?: { id: string; status: string };
}

async function generate(server: TestApp, key: string, prompt: string): Promise<Admission> {
  const body = await server.graphql<{ generateVideo: Admission }>(
    GENERATE,
    { input: { prompt, ...INPUT } },
    { authorization: `Bearer ${key}` },
  );
  expect(body.errors).toBeUndefined();
  return body.data!.generateVideo;
}

interface Context {
  database: TestDatabase;
  sim: Awaited<ReturnType<typeof startSimulator>>;
  server: TestApp;
}

/** Slow jobs: a generation created before midnight is still running (and billed) after it. */
async function startContext(env: Record<string, string> = {}): Promise<Context> {
  const database = await createTestDatabase();
  const sim = await startSimulator({ processingMs: 60_000 });
  const server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...env });
  return { database, sim, server };
}

async function stopContext(context: Context | undefined): Promise<void> {
  await context?.server.stop();
  await context?.sim.simulator.stop();
  await context?.database.drop();
}

/** The context of the running test, stopped after it. */
let context: Context | undefined;
afterEach(async () => {
  await stopContext(context);
  context = undefined;
});

/** Moves a generation's creation to the previous UTC day, as if it had been asked for just before midnight. */
const createdYesterday = (database: TestDatabase, id: string) =>
  database.sql`update generations set created_at = created_at - interval '1 day' where id = ${id}`;

describe.skipIf(!hasPostgres)('daily budgets across midnight UTC', () => {
  it('a generation created yesterday that is still running counts against the key budget of today', async () => {
    context = await startContext();
    const { database, server } = context;
    const { key } = await createKeyIn(database.url, { dailyBudgetUsd: 0.8 });
    const early = await generate(server, key, 'a lighthouse at dusk');
    expect(early.__typename).toBe('GenerateVideoSuccess');
    await createdYesterday(database, early.generation!.id);

    expect((await generate(server, key, 'a harbour at dawn')).__typename).toBe('GenerateVideoSuccess');
    // The one from yesterday is sent to Segmind and billed today: $0.40 + $0.40 leaves no room for $0.40 more.
    const third = await generate(server, key, 'a ship at noon');
    expect(third.__typename).toBe('BudgetExceededError');
  });

  it('a generation created yesterday that is still running counts against the server budget of today', async () => {
    context = await startContext({ DAILY_BUDGET_USD: '0.80' });
    const { database, server } = context;
    const first = await createKeyIn(database.url);
    const early = await generate(server, first.key, 'a field of wheat');
    await createdYesterday(database, early.generation!.id);

    const second = await createKeyIn(database.url);
    expect((await generate(server, second.key, 'a field of rye')).__typename).toBe('GenerateVideoSuccess');
    const over = await generate(server, second.key, 'a field of oats');
    expect(over.__typename).toBe('BudgetExceededError');
    expect(over.message).toMatch(/^The server/);
  });

  it('a generation that ended before midnight UTC no longer counts today', async () => {
    context = await startContext();
    const { database, server } = context;
    const { key } = await createKeyIn(database.url, { dailyBudgetUsd: 0.4 });
    const old = await generate(server, key, 'an old film');
    // Finished yesterday, as the worker would have left it.
    await database.sql`update generations set status = 'SUCCEEDED', completed_at = now() - interval '1 day',
      created_at = created_at - interval '1 day', lease_owner = null, lease_expires_at = null
      where id = ${old.generation!.id}`;
    expect((await generate(server, key, 'a new film')).__typename).toBe('GenerateVideoSuccess');
  });
});

/** Queries over each limit of GraphQL Armor, and the word the advice in the refusal must contain. */
const overLimits: [string, string, RegExp][] = [
  ['too deep', `{ __type(name: "Generation") { fields { type { ${'ofType { '.repeat(9)}name${' }'.repeat(9)} } } } }`, /depth limit of 12.*nest/i],
  ['too many aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: estimateCost(input: { prompt: "x" }) { amount }`).join(' ')} }`, /aliases limit of 15.*alias/i],
  ['too costly', '{ generations(first: 1000000000) { edges { cursor } } }', /cost limit of 20000.*first/i],
  ['too long', `{ generations(status: [${'QUEUED '.repeat(2000)}]) { edges { cursor } } }`, /token limit of 2000.*shorter/i],
];

describe.skipIf(!hasPostgres)('a query over a GraphQL limit', () => {
  it('is refused with the stable code QUERY_TOO_COMPLEX and advice, over HTTP, SSE and WebSocket alike', async () => {
    context = await startContext();
    const { server } = context;
    const ws = createWsClient(server.url, { key: server.key });
    try {
      for (const [what, query, advice] of overLimits) {
        const http = await server.graphql(query);
        const sse = (await collectSse(server.url, query, {}, { key: server.key, timeoutMs: 5000 })).results.flatMap((r) => r.errors ?? []);
        const overWs = (await collectWs(ws, query, {}, 5000)).results.flatMap((r) => r.errors ?? []);
        for (const [transport, errors] of [['HTTP', http.errors ?? []], ['SSE', sse], ['WebSocket', overWs]] as const) {
          expect(errors, `${what} over ${transport}`).toHaveLength(1);
          expect(errors[0]?.extensions?.code, `${what} over ${transport}`).toBe('QUERY_TOO_COMPLEX');
          // It is no syntax error, and the message says how to get under the limit.
          expect(errors[0]?.message, `${what} over ${transport}`).not.toMatch(/syntax/i);
          expect(errors[0]?.message, `${what} over ${transport}`).toMatch(advice);
        }
      }
    } finally {
      await ws.dispose();
    }
  });
});

describe.skipIf(!hasPostgres)('revoking a key', () => {
  it('cancels its generations not yet sent to Segmind, so a leaked key’s backlog is never billed', async () => {
    // One job at Segmind at a time: the others wait in the queue, not yet sent.
    context = await startContext({ SEGMIND_MAX_IN_FLIGHT: '1' });
    const { database, server, sim } = context;
    const { key } = await createKeyIn(database.url, { name: 'leaked' });
    const ids: string[] = [];
    for (const prompt of ['one', 'two', 'three']) ids.push((await generate(server, key, prompt)).generation!.id);
    await waitFor('the first submit', () => sim.simulator.submissions() === 1);

    const client = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const revoked = await runKeyCommand(drizzle(client) as unknown as Db, { command: 'revoke', target: 'leaked' });
      expect(revoked).toMatchObject({ ok: true, output: expect.stringContaining('2 generations it had queued were canceled') });
    } finally {
      await client.end();
    }
    // Give a worker time to take the next one, were it still due (it polls for due work every second).
    await sleep(1500);

    expect(sim.simulator.submissions()).toBe(1);
    const rows = await database.sql<{ status: string; cost_usd: string; cost_final: boolean; submitted: boolean }[]>`
      select status, cost_usd, cost_final, segmind_request_id is not null as submitted from generations
      where id in ${database.sql(ids)} order by created_at`;
    // The one at Segmind is paid for and goes on; the others end, with nothing charged.
    expect(rows.filter((r) => r.submitted)).toHaveLength(1);
    for (const row of rows.filter((r) => !r.submitted)) {
      expect(row).toMatchObject({ status: 'CANCELED', cost_usd: '0.0000', cost_final: true });
    }
    const [event] = await database.sql<{ message: string }[]>`
      select message from generation_events where generation_id = ${ids[2]!} and type = 'canceled'`;
    expect(event?.message).toMatch(/revoked/);
  });
});

describe.skipIf(!hasPostgres)('a WebSocket whose key was revoked while the notice was lost', () => {
  it('cannot queue a generation: admission checks the key itself', async () => {
    context = await startContext({ ROLE: 'api' });
    const { database, server } = context;
    const { key } = await createKeyIn(database.url, { name: 'revoked-quietly' });
    const ws = createWsClient(server.url, { key: key });
    let unwatch: (() => void) | undefined;
    try {
      const before = await collectWs<{ generateVideo: Admission }>(ws, GENERATE, { input: { prompt: 'before', ...INPUT } }, 5000);
      expect(before.results[0]?.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
      // A stream that stays open (nothing runs the job) keeps this very connection alive.
      const id = before.results[0]!.data!.generateVideo.generation!.id;
      const opened = new Promise<void>((resolve) => {
        unwatch = ws.subscribe({ query: WATCH, variables: { id } }, { next: () => resolve(), error: () => {}, complete: () => {} });
      });
      await opened;
      // Revoked without the NOTIFY that closes its sockets, as when this process's LISTEN was down at the time.
      await database.sql`update api_keys set revoked_at = now() where name = 'revoked-quietly'`;

      const after = await collectWs<{ generateVideo: Admission }>(ws, GENERATE, { input: { prompt: 'after', ...INPUT } }, 5000);
      expect(after.results[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const [{ n }] = await database.sql<[{ n: number }]>`select count(*)::int as n from generations where prompt = 'after'`;
      expect(n).toBe(0);
    } finally {
      unwatch?.();
      await ws.dispose();
    }
  });
});
