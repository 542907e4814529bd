import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { CANCEL, collectSse, collectWs, createWsClient, GENERATE, GET, type TestGeneration as Generation, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

interface GenerateResult {
  generateVideo: { __typename: string; generation?: Generation; message?: string; field?: string };
}
interface CancelResult {
  cancelGeneration: { __typename: string; chargeMayApply?: boolean; generation?: Generation; message?: string };
}
interface WatchResult {
  generationStatus: Generation;
}

const ESTIMATE = `query Estimate($input: GenerateVideoInput!) { estimateCost(input: $input) { amount currency } }`;
const LIST = `query List($first: Int, $after: String, $status: [GenerationStatus!]) {
  generations(first: $first, after: $after, status: $status) {
    edges { cursor node { id status prompt createdAt } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}`;
interface ListResult {
  generations: {
    edges: { cursor: string; node: { id: string; status: string; prompt: string; createdAt: string } }[];
    nodes: { id: string }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const isContiguous = (versions: number[]) => versions.every((v, i) => i === 0 || v === versions[i - 1]! + 1);

async function generate(app: TestApp, input: Record<string, unknown>): Promise<Generation> {
  const body = await app.graphql<GenerateResult>(GENERATE, { input });
  const result = body.data?.generateVideo;
  expect(result?.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
  return result!.generation!;
}

async function get(app: TestApp, id: string): Promise<Generation | null> {
  const body = await app.graphql<{ generation: Generation | null }>(GET, { id });
  expect(body.errors).toBeUndefined();
  return body.data!.generation;
}

async function cancel(app: TestApp, id: string): Promise<CancelResult['cancelGeneration']> {
  const body = await app.graphql<CancelResult>(CANCEL, { id });
  expect(body.errors).toBeUndefined();
  return body.data!.cancelGeneration;
}


async function rowStatus(database: TestDatabase, id: string): Promise<string | undefined> {
  const [row] = await database.sql<{ status: string }[]>`select status from generations where id = ${id}`;
  return row?.status;
}

const waitForStatus = (database: TestDatabase, id: string, status: string, timeoutMs?: number) =>
  waitFor(`${id} to be ${status}`, async () => ((await rowStatus(database, id)) === status ? true : undefined), { timeoutMs });

/** Versions of one generation as a subscriber saw them. */
const versionsOf = (results: GraphqlBody<WatchResult>[]) => results.map((r) => r.data!.generationStatus.version);

/** A graphql-ws subscription that says when its first result arrived, for tests that must line subscribers up. */
function watch(client: Client, id: string, timeoutMs = 10_000) {
  const results: Generation[] = [];
  let markFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (markFirst = resolve));
  const done = new Promise<{ results: Generation[]; completed: boolean }>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve({ results, completed: false });
    }, timeoutMs);
    const unsubscribe = client.subscribe<WatchResult>(
      { query: WATCH, variables: { id } },
      {
        next: (value) => {
          if (value.data) results.push(value.data.generationStatus);
          markFirst();
        },
        error: (error: unknown) => {
          clearTimeout(timer);
          reject(new Error(JSON.stringify(error)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ results, completed: true });
        },
      },
    );
  });
  return { first, done };
}

describe.skipIf(!hasPostgres)('generateVideo input validation', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 100 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const cases: { rule: string; input: Record<string, unknown>; field: string; message: RegExp | string }[] = [
    { rule: 'an empty prompt', input: { prompt: '' }, field: 'prompt', message: /prompt must not be empty/ },
    { rule: 'a whitespace-only prompt', input: { prompt: ' \n\t  ' }, field: 'prompt', message: /prompt must not be empty/ },
    {
      rule: 'a prompt over 2000 characters',
      input: { prompt: 'a'.repeat(2001) },
      field: 'prompt',
      message: 'prompt must be at most 2000 characters long; got 2001.',
    },
    {
      rule: 'a negativePrompt over 500 characters',
      input: { prompt: 'a cat', negativePrompt: 'b'.repeat(501) },
      field: 'negativePrompt',
      message: 'negativePrompt must be at most 500 characters long; got 501.',
    },
    {
      rule: 'an image that is not a URL',
      input: { prompt: 'a cat', image: 'not a url' },
      field: 'image',
      message: /image must be an absolute http\(s\) URL/,
    },
    {
      rule: 'an ftp image URL',
      input: { prompt: 'a cat', image: 'ftp://example.com/frame.png' },
      field: 'image',
      message: /image must use http or https; got "ftp"/,
    },
    {
      rule: 'an image URL with credentials',
      input: { prompt: 'a cat', image: 'https://user:pass@example.com/frame.png' },
      field: 'image',
      message: /image must not contain a user name or password/,
    },
    {
      rule: 'an image URL over 2048 characters',
      input: { prompt: 'a cat', image: `https://example.com/${'x'.repeat(2040)}.png` },
      field: 'image',
      message: /image must be at most 2048 characters long/,
    },
    {
      rule: 'a lastFrame without image',
      input: { prompt: 'a cat', lastFrame: 'https://example.com/last.png' },
      field: 'lastFrame',
      message: /lastFrame needs image/,
    },
    {
      rule: 'a duration of 5 seconds',
      input: { prompt: 'a cat', durationSeconds: 5 },
      field: 'durationSeconds',
      message: 'durationSeconds must be 4, 6 or 8; got 5.',
    },
    {
      rule: 'a negative seed',
      input: { prompt: 'a cat', seed: -1 },
      field: 'seed',
      message: 'seed must be a whole number from 0 to 2147483647; got -1.',
    },
  ];

  it('rejects each broken rule with an InputError naming the field and what is allowed, and writes nothing', async () => {
    for (const { rule, input, field, message } of cases) {
      const body = await server.graphql<GenerateResult>(GENERATE, { input });
      expect(body.errors, rule).toBeUndefined();
      const result = body.data!.generateVideo;
      expect(result.__typename, rule).toBe('InputError');
      expect(result.field, rule).toBe(field);
      if (typeof message === 'string') expect(result.message, rule).toBe(message);
      else expect(result.message, rule).toMatch(message);
    }
    // Give a worker every chance to pick up anything that slipped through.
    await sleep(200);
    const [{ count }] = await database.sql<[{ count: number }]>`select count(*)::int as count from generations`;
    expect(count).toBe(0);
    const [{ events }] = await database.sql<[{ events: number }]>`select count(*)::int as events from generation_events`;
    expect(events).toBe(0);
    expect(sim.simulator.submissions()).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('the generation API with a worker and the built-in simulator', () => {
  let database: TestDatabase;
  let server: TestApp;
  const simulator = () => server.app.simulator!;

  beforeAll(async () => {
    database = await createTestDatabase();
    // No SEGMIND_API_KEY: the app runs its built-in simulator over loopback HTTP, and expects jobs to take
    // SIMULATOR_PROCESSING_MS, so progress ticks are written while the job runs.
    server = await startTestApp({ DATABASE_URL: database.url, SIMULATOR_PROCESSING_MS: '200' });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('fills in the defaults, picks and records a seed, prices the generation and stores it before answering', async () => {
    const generation = await generate(server, { prompt: '  a lighthouse at dusk  ' });
    expect(generation).toMatchObject({
      prompt: 'a lighthouse at dusk',
      aspectRatio: 'RATIO_16_9',
      durationSeconds: 8,
      resolution: 'RES_1080P',
      generateAudio: true,
      negativePrompt: null,
      image: null,
      lastFrame: null,
      cost: { amount: '1.20', currency: 'USD' },
      provider: 'SIMULATOR',
      attempts: 0,
    });
    expect(Number.isInteger(generation.seed)).toBe(true);
    expect(generation.seed).toBeGreaterThanOrEqual(0);
    expect(generation.seed).toBeLessThanOrEqual(2147483647);
    const another = await generate(server, { prompt: 'a lighthouse at midnight' });
    expect(another.seed).not.toBe(generation.seed);

    const rows = await database.sql<{ seed: string; cost_usd: string; duration_seconds: number; provider: string }[]>`
      select seed, cost_usd, duration_seconds, provider from generations where id = ${generation.id}`;
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.seed)).toBe(generation.seed);
    expect(Number(rows[0]!.cost_usd)).toBe(1.2);
    expect(rows[0]!.duration_seconds).toBe(8);
    expect(rows[0]!.provider).toBe('SIMULATOR');

    const chosen = await generate(server, { prompt: 'a lighthouse at dawn', seed: 2147483647, durationSeconds: 4, generateAudio: false });
    expect(chosen.seed).toBe(2147483647);
    expect(chosen.cost).toEqual({ amount: '0.40', currency: 'USD' });
    const zero = await generate(server, { prompt: 'a lighthouse at noon', seed: 0, aspectRatio: 'RATIO_9_16', resolution: 'RES_720P' });
    expect(zero).toMatchObject({ seed: 0, aspectRatio: 'RATIO_9_16', resolution: 'RES_720P', cost: { amount: '1.20' } });
    const [stored] = await database.sql<{ seed: string }[]>`select seed from generations where id = ${chosen.id}`;
    expect(Number(stored!.seed)).toBe(2147483647);
  });

  it('estimates the same price generateVideo charges, and rejects an invalid duration as BAD_USER_INPUT', async () => {
    const inputs: [Record<string, unknown>, string][] = [
      [{ prompt: 'x' }, '1.20'],
      [{ prompt: 'x', durationSeconds: 4, generateAudio: false }, '0.40'],
      [{ prompt: 'x', durationSeconds: 6 }, '0.90'],
      [{ prompt: 'x', durationSeconds: 8, generateAudio: false, resolution: 'RES_720P' }, '0.80'],
    ];
    for (const [input, amount] of inputs) {
      const body = await server.graphql<{ estimateCost: { amount: string; currency: string } }>(ESTIMATE, { input });
      expect(body.errors).toBeUndefined();
      expect(body.data!.estimateCost).toEqual({ amount, currency: 'USD' });
      const generation = await generate(server, { ...input, prompt: `priced ${amount}` });
      expect(generation.cost.amount).toBe(amount);
    }

    const invalid = await server.graphql(ESTIMATE, { input: { prompt: 'x', durationSeconds: 5 } });
    expect(invalid.data ?? null).toBeNull();
    expect(invalid.errors).toHaveLength(1);
    expect(invalid.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(invalid.errors![0]!.message).toBe('durationSeconds must be 4, 6 or 8; got 5.');
  });

  it('finds a generation by id, and answers null without an error for an unknown or malformed id', async () => {
    const created = await generate(server, { prompt: 'a fox in the snow', durationSeconds: 4 });
    const found = await get(server, created.id);
    expect(found).toMatchObject({ id: created.id, prompt: 'a fox in the snow', durationSeconds: 4, seed: created.seed });

    expect(await get(server, randomUUID())).toBeNull();
    expect(await get(server, 'not-a-uuid')).toBeNull();
    expect(await get(server, "'; drop table generations; --")).toBeNull();
  });

  it('cancels a generation Segmind is already working on, says the charge may apply, and stops driving it', async () => {
    const created = await generate(server, { prompt: 'a very long take [sim:slow]', durationSeconds: 4 });
    // Wait until it is PROCESSING and past the expected job length, when the worker has no more progress to
    // write and only polls: nothing but the cancel itself can make it stop early.
    const requestId = await waitFor('the job to be processing for a while', async () => {
      const [row] = await database.sql<{ segmind_request_id: string; status: string; age_ms: number }[]>`
        select segmind_request_id, status, (extract(epoch from now() - submitted_at) * 1000)::float8 as age_ms
        from generations where id = ${created.id}`;
      return row?.status === 'PROCESSING' && row.age_ms > 400 ? row.segmind_request_id : undefined;
    });

    const result = await cancel(server, created.id);
    expect(result.__typename).toBe('CancelGenerationSuccess');
    expect(result.chargeMayApply).toBe(true);
    expect(result.generation!.status).toBe('CANCELED');
    expect(result.generation!.events.at(-1)).toMatchObject({ type: 'canceled', status: 'CANCELED' });

    // The worker notices at once and stops, while Segmind is still working on the job.
    await waitFor('the worker to stop driving it', () =>
      server.logs.some((line) => line.includes('generation run ended') && line.includes(created.id)) ? true : undefined,
    );
    const job = () => simulator().jobs().find((j) => j.requestId === requestId)!;
    expect(job().status).not.toBe('COMPLETED');

    // Let Segmind finish the job, and give a (wrongly) polling worker time to store it.
    await waitFor('the Segmind job to finish', () => (job().status === 'COMPLETED' ? true : undefined), { timeoutMs: 5000 });
    await sleep(300);
    const after = await get(server, created.id);
    expect(after!.status).toBe('CANCELED');
    expect(after!.video).toBeNull();
    expect(after!.version).toBe(result.generation!.version);
    const types = await database.sql<{ type: string }[]>`
      select type from generation_events where generation_id = ${created.id} order by version`;
    expect(types.map((t) => t.type)).not.toContain('storing');
    expect(types.map((t) => t.type)).not.toContain('succeeded');
    expect(simulator().jobs().filter((j) => j.input.prompt === created.prompt)).toHaveLength(1);

    const again = await cancel(server, created.id);
    expect(again.__typename).toBe('CancelGenerationSuccess');
    expect(again.chargeMayApply).toBe(true);
    expect(again.generation!.version).toBe(result.generation!.version);
  });

  it('says a charge may apply when canceled while the submission is on its way to Segmind', async () => {
    // Segmind takes 600 ms to answer the submit: the row is still QUEUED, but the paid request is out.
    simulator().injectFault({ endpoint: 'submit', delayMs: 600 });
    const before = simulator().submissions();
    const created = await generate(server, { prompt: 'caught in the door', durationSeconds: 4 });
    await waitFor('the submit to go out', async () => {
      const [row] = await database.sql<{ submit_started_at: Date | null }[]>`
        select submit_started_at from generations where id = ${created.id}`;
      return row?.submit_started_at ? true : undefined;
    });

    const result = await cancel(server, created.id);
    expect(result.__typename).toBe('CancelGenerationSuccess');
    expect(result.generation!.status).toBe('CANCELED');

    // Segmind accepts (and bills) the job; the generation stays canceled but keeps the request id.
    await waitFor('Segmind to accept the job', async () => {
      const [row] = await database.sql<{ segmind_request_id: string | null }[]>`select segmind_request_id from generations where id = ${created.id}`;
      return row?.segmind_request_id ? true : undefined;
    });
    expect(simulator().submissions()).toBe(before + 1);
    expect(await rowStatus(database, created.id)).toBe('CANCELED');
    expect(result.chargeMayApply, 'the client was told nothing is charged, but Segmind billed the job').toBe(true);
  });

  it('refuses to cancel a finished generation and reports an unknown one as not found', async () => {
    const created = await generate(server, { prompt: 'a finished piece', durationSeconds: 4 });
    await waitForStatus(database, created.id, 'SUCCEEDED');
    const finished = await cancel(server, created.id);
    expect(finished.__typename).toBe('NotCancelableError');
    expect(finished.message).toMatch(/already SUCCEEDED/);
    expect(await rowStatus(database, created.id)).toBe('SUCCEEDED');

    const unknownId = randomUUID();
    const unknown = await cancel(server, unknownId);
    expect(unknown.__typename).toBe('NotFoundError');
    expect(unknown.message).toContain(unknownId);
    expect((await cancel(server, 'not-a-uuid')).__typename).toBe('NotFoundError');
  });

  it('answers a subscription to an unknown generation with a NOT_FOUND error', async () => {
    const client = createWsClient(server.url, { key: server.key });
    try {
      for (const id of [randomUUID(), 'not-a-uuid']) {
        const { results, completed } = await collectWs<WatchResult>(client, WATCH, { id }, 5000);
        expect(completed).toBe(true);
        expect(results).toHaveLength(1);
        expect(results[0]!.data?.generationStatus ?? null).toBeNull();
        expect(results[0]!.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
    } finally {
      await client.dispose();
    }
  });

  it('gives a subscriber to a finished generation exactly its final state and completes', async () => {
    const created = await generate(server, { prompt: 'already done', durationSeconds: 4 });
    await waitForStatus(database, created.id, 'SUCCEEDED');
    const [{ version }] = await database.sql<[{ version: number }]>`select version from generations where id = ${created.id}`;

    const client = createWsClient(server.url, { key: server.key });
    try {
      const { results, completed } = await collectWs<WatchResult>(client, WATCH, { id: created.id }, 5000);
      expect(completed).toBe(true);
      expect(results).toHaveLength(1);
      expect(results[0]!.data!.generationStatus).toMatchObject({ status: 'SUCCEEDED', version });
      expect(results[0]!.data!.generationStatus.video?.contentType).toBe('video/mp4');
    } finally {
      await client.dispose();
    }
  });

  it('lists the public timeline in version order and hides progress ticks', async () => {
    // `[sim:slow]`: a 2 s job, so progress ticks are written even on a busy machine.
    const created = await generate(server, { prompt: '[sim:slow] a timeline', durationSeconds: 4 });
    await waitForStatus(database, created.id, 'SUCCEEDED');
    const all = await database.sql<{ type: string; version: number }[]>`
      select type, version from generation_events where generation_id = ${created.id} order by version`;
    // Without ticks in the database this test could not tell hiding them from never writing them.
    expect(all.filter((e) => e.type === 'progress').length).toBeGreaterThan(0);

    const generation = (await get(server, created.id))!;
    expect(generation.events.map((e) => e.type)).toEqual(['created', 'submitted', 'processing', 'storing', 'succeeded']);
    expect(generation.events.map((e) => e.status)).toEqual(['QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING', 'SUCCEEDED']);
    const versions = generation.events.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions[0]).toBe(1);
    expect(versions.at(-1)).toBe(generation.version);
    expect(versions).toEqual(all.filter((e) => e.type !== 'progress').map((e) => e.version));
    for (const event of generation.events) expect(event.message.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasPostgres)('listing generations', () => {
  let database: TestDatabase;
  let server: TestApp;
  const created: Generation[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: no worker, so every generation stays where the test puts it.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    for (let i = 1; i <= 5; i++) created.push(await generate(server, { prompt: `listed ${i}`, durationSeconds: 4 }));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const list = (variables: Record<string, unknown>) => server.graphql<ListResult>(LIST, variables);

  it('walks every generation exactly once, newest first, page by page', async () => {
    const newestFirst = created.map((g) => g.id).reverse();
    const seen: string[] = [];
    const pages: { size: number; hasNextPage: boolean }[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const body = await list({ first: 2, after });
      expect(body.errors).toBeUndefined();
      const { edges, nodes, pageInfo } = body.data!.generations;
      expect(nodes.map((n) => n.id)).toEqual(edges.map((e) => e.node.id));
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      seen.push(...edges.map((e) => e.node.id));
      pages.push({ size: edges.length, hasNextPage: pageInfo.hasNextPage });
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor!;
    }
    expect(pages).toEqual([
      { size: 2, hasNextPage: true },
      { size: 2, hasNextPage: true },
      { size: 1, hasNextPage: false },
    ]);
    expect(seen).toEqual(newestFirst);

    const whole = await list({});
    expect(whole.data!.generations.edges.map((e) => e.node.id)).toEqual(newestFirst);
    expect(whole.data!.generations.pageInfo.hasNextPage).toBe(false);
    const exact = await list({ first: 5 });
    expect(exact.data!.generations.pageInfo.hasNextPage).toBe(false);
    const last = await list({ first: 1, after: exact.data!.generations.pageInfo.endCursor });
    expect(last.data!.generations).toMatchObject({ edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('filters by status', async () => {
    const [g1, , g3] = created;
    expect((await cancel(server, g1!.id)).__typename).toBe('CancelGenerationSuccess');
    expect((await cancel(server, g3!.id)).__typename).toBe('CancelGenerationSuccess');

    const canceled = await list({ status: ['CANCELED'] });
    expect(canceled.data!.generations.edges.map((e) => e.node.id)).toEqual([g3!.id, g1!.id]);
    const queued = await list({ status: ['QUEUED'], first: 2 });
    expect(queued.data!.generations.edges.map((e) => e.node.id)).toEqual([created[4]!.id, created[3]!.id]);
    expect(queued.data!.generations.pageInfo.hasNextPage).toBe(true);
    const rest = await list({ status: ['QUEUED'], first: 2, after: queued.data!.generations.pageInfo.endCursor });
    expect(rest.data!.generations.edges.map((e) => e.node.id)).toEqual([created[1]!.id]);
    expect(rest.data!.generations.pageInfo.hasNextPage).toBe(false);
    const both = await list({ status: ['QUEUED', 'CANCELED'] });
    expect(both.data!.generations.edges).toHaveLength(5);
    const none = await list({ status: ['SUCCEEDED'] });
    expect(none.data!.generations).toMatchObject({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('rejects a page size outside 1 to 100 and a cursor it did not issue as BAD_USER_INPUT', async () => {
    const garbageCursors = ['garbage', Buffer.from('2024-01-01T00:00:00.000Z|not-a-uuid').toString('base64url')];
    for (const variables of [{ first: 0 }, { first: 101 }, { first: -1 }, ...garbageCursors.map((after) => ({ after }))]) {
      const body = await list(variables);
      expect(body.data ?? null, JSON.stringify(variables)).toBeNull();
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
    const hundred = await list({ first: 100 });
    expect(hundred.errors).toBeUndefined();
  });
});

describe.skipIf(!hasPostgres)('an API process with workers that come and go', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 150 });
    api = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api', ...sim.env });
  });
  afterAll(async () => {
    await api?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const startWorker = () => startTestApp({ DATABASE_URL: database.url, ROLE: 'worker', ...sim.env });

  it('cancels a queued generation for free and never sends it to Segmind, even once a worker runs', async () => {
    const queued = await generate(api, { prompt: 'never to be made', durationSeconds: 4 });
    expect(queued.status).toBe('QUEUED');

    const result = await cancel(api, queued.id);
    expect(result.__typename).toBe('CancelGenerationSuccess');
    expect(result.chargeMayApply).toBe(false);
    expect(result.generation!.status).toBe('CANCELED');
    expect(result.generation!.events.map((e) => e.type)).toEqual(['created', 'canceled']);
    expect(result.generation!.events.at(-1)!.status).toBe('CANCELED');
    expect(await rowStatus(database, queued.id)).toBe('CANCELED');

    const again = await cancel(api, queued.id);
    expect(again.__typename).toBe('CancelGenerationSuccess');
    expect(again.chargeMayApply).toBe(false);
    expect(again.generation!.version).toBe(result.generation!.version);

    const before = sim.simulator.submissions();
    const worker = await startWorker();
    try {
      await sleep(300);
      expect(sim.simulator.submissions()).toBe(before);
      // Proof that the worker was really working: a new generation goes through it.
      const alive = await generate(api, { prompt: 'made by the late worker', durationSeconds: 4 });
      await waitForStatus(database, alive.id, 'SUCCEEDED');
    } finally {
      await worker.stop();
    }
    expect(sim.simulator.submissions()).toBe(before + 1);
    expect(sim.simulator.jobs().map((j) => j.input.prompt)).not.toContain(queued.prompt);
    const [row] = await database.sql<{ status: string; segmind_request_id: string | null; attempts: number }[]>`
      select status, segmind_request_id, attempts from generations where id = ${queued.id}`;
    expect(row).toEqual({ status: 'CANCELED', segmind_request_id: null, attempts: 0 });
  });

  it('gives two subscribers of one generation the same versions, in order, with no gaps', async () => {
    const created = await generate(api, { prompt: 'watched twice', durationSeconds: 4 });
    const clients = [createWsClient(api.url, { key: api.key }), createWsClient(api.url, { key: api.key })];
    try {
      const watchers = clients.map((client) => watch(client, created.id));
      // No worker yet, so both start from the same version.
      await Promise.all(watchers.map((w) => w.first));
      const worker = await startWorker();
      let outcomes: { results: Generation[]; completed: boolean }[];
      try {
        outcomes = await Promise.all(watchers.map((w) => w.done));
      } finally {
        await worker.stop();
      }
      const [a, b] = outcomes.map((o) => o.results.map((g) => `${g.version}:${g.status}`));
      expect(outcomes.map((o) => o.completed)).toEqual([true, true]);
      expect(a).toEqual(b);
      const versions = outcomes[0]!.results.map((g) => g.version);
      expect(versions[0]).toBe(1);
      expect(isContiguous(versions)).toBe(true);
      expect(outcomes[0]!.results.at(-1)!.status).toBe('SUCCEEDED');
      const [{ version }] = await database.sql<[{ version: number }]>`select version from generations where id = ${created.id}`;
      expect(versions.at(-1)).toBe(version);
    } finally {
      for (const c of clients) await c.dispose();
    }
  });

  it('replays every version, in order, to a subscriber that fell behind while its API process was busy', async () => {
    const created = await generate(api, { prompt: 'watched from behind', durationSeconds: 4 });
    const client = createWsClient(api.url, { key: api.key });
    try {
      const watcher = watch(client, created.id);
      await watcher.first;
      // Occupy every connection of the API process's pool, so the subscriber cannot read while the worker
      // (another process, another pool) commits several versions: it must catch up on all of them at once.
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const held = Array.from({ length: 10 }, () => api.app.database.db.transaction(() => gate));
      const worker = await startWorker().catch((error: unknown) => {
        release();
        throw error;
      });
      let outcome: Awaited<typeof watcher.done>;
      try {
        try {
          await waitForStatus(database, created.id, 'SUCCEEDED');
        } finally {
          release();
          await Promise.all(held);
        }
        outcome = await watcher.done;
      } finally {
        await worker.stop();
      }
      const { results, completed } = outcome;
      expect(completed).toBe(true);
      const versions = results.map((g) => g.version);
      const [{ version }] = await database.sql<[{ version: number }]>`select version from generations where id = ${created.id}`;
      expect(version).toBeGreaterThan(3);
      expect(versions).toEqual(Array.from({ length: version }, (_, i) => i + 1));
      expect(results.map((g) => g.status)).toEqual(expect.arrayContaining(['QUEUED', 'SUBMITTED', 'STORING', 'SUCCEEDED']));
    } finally {
      await client.dispose();
    }
  });
});

describe.skipIf(!hasPostgres)('subscribing to a generation that finishes at once', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 0 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const finalVersion = async (id: string) => {
    const [{ version }] = await database.sql<[{ version: number }]>`select version from generations where id = ${id}`;
    return version;
  };

  it('delivers contiguous versions up to SUCCEEDED over graphql-ws, however late the subscription starts', async () => {
    const client = createWsClient(server.url, { key: server.key });
    try {
      // Most subscribe right after the mutation; some a little later, when a few versions already exist.
      const runs = await Promise.all(
        [0, 0, 0, 80, 160, 240].map(async (delayMs, i) => {
          const created = await generate(server, { prompt: `quick ${i}`, durationSeconds: 4 });
          if (delayMs) await sleep(delayMs);
          return { id: created.id, ...(await collectWs<WatchResult>(client, WATCH, { id: created.id }, 20_000)) };
        }),
      );
      for (const { id, results, completed } of runs) {
        expect(completed).toBe(true);
        expect(results.every((r) => r.errors === undefined)).toBe(true);
        const versions = versionsOf(results);
        expect(isContiguous(versions), versions.join(',')).toBe(true);
        expect(versions.at(-1)).toBe(await finalVersion(id));
        expect(results.at(-1)!.data!.generationStatus.status).toBe('SUCCEEDED');
        expect(results.slice(0, -1).every((r) => r.data!.generationStatus.status !== 'SUCCEEDED')).toBe(true);
      }
    } finally {
      await client.dispose();
    }
  });

  it('delivers contiguous versions up to SUCCEEDED over SSE', async () => {
    const runs = await Promise.all(
      [1, 2].map(async (i) => {
        const created = await generate(server, { prompt: `quick over SSE ${i}`, durationSeconds: 6 });
        return { id: created.id, ...(await collectSse<WatchResult>(server.url, WATCH, { id: created.id }, { key: server.key, timeoutMs: 20_000 })) };
      }),
    );
    for (const { id, results, completed } of runs) {
      expect(completed).toBe(true);
      expect(results.length).toBeGreaterThan(0);
      const versions = versionsOf(results);
      expect(isContiguous(versions), versions.join(',')).toBe(true);
      expect(versions.at(-1)).toBe(await finalVersion(id));
      expect(results.at(-1)!.data!.generationStatus.status).toBe('SUCCEEDED');
    }
  });
});
