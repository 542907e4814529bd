import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, GENERATE, GET, VIEWER } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

const OVER_BUDGET = `mutation ($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on BudgetExceededError { used { amount } limit { amount } } }
}`;

describe.skipIf(!hasPostgres)('viewer', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let key: string;
  let prefix: string;
  const as = (query: string, variables?: Record<string, unknown>) => server.graphql(query, variables, { authorization: `Bearer ${key}` });

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
    const created = await createKeyIn(database.url, { name: 'carol', dailyBudgetUsd: 4, maxActive: 5 });
    key = created.key;
    prefix = created.apiKey.prefix;
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  async function generate(input: Record<string, unknown>) {
    const body = await as(GENERATE, { input });
    expect(body.data?.generateVideo.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
    return body.data!.generateVideo.generation.id as string;
  }
  const finished = (id: string) =>
    waitFor(`generation ${id} to finish`, async () => {
      const g = (await as(GET, { id })).data!.generation;
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(g.status) ? g : undefined;
    });

  it('shows a new key its name, prefix and limits, with nothing spent', async () => {
    const viewer = (await as(VIEWER)).data!.viewer;
    expect(viewer).toMatchObject({
      name: 'carol',
      keyPrefix: prefix,
      spentToday: { amount: '0.00', currency: 'USD' },
      dailyBudget: { amount: '4.00', currency: 'USD' },
      activeGenerations: 0,
      maxActive: 5,
      previousWebhookSecretValidUntil: null,
    });
    expect(viewer.webhookSecret).toMatch(/^whsec_/);
    // Made once: asking again gives the same secret.
    expect((await as(VIEWER)).data!.viewer.webhookSecret).toBe(viewer.webhookSecret);
  });

  it('after a few generations, a cancel and a failure, counts what admission counts: the spend BudgetExceededError reports', async () => {
    const succeeded = [await generate({ prompt: 'A fox in snow', durationSeconds: 4, generateAudio: false }), await generate({ prompt: 'A fox at dawn', durationSeconds: 8 })];
    const failed = await generate({ prompt: '[sim:fail] a scene the model refuses', durationSeconds: 4 });
    const slow = await generate({ prompt: 'A fox asleep [sim:slow]', durationSeconds: 6 });
    // While the slow one runs, it is active and its estimate counts.
    const during = (await as(VIEWER)).data!.viewer;
    expect(during.activeGenerations).toBeGreaterThanOrEqual(1);
    const queued = await generate({ prompt: 'A fox that will be canceled', durationSeconds: 4, generateAudio: false });
    const cancel = (await as(CANCEL, { id: queued })).data!.cancelGeneration;
    expect(cancel.__typename).toBe('CancelGenerationSuccess');
    const ends = await Promise.all([...succeeded, failed, slow, queued].map(finished));
    expect(ends.map((g) => g.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'CANCELED']);

    const viewer = (await as(VIEWER)).data!.viewer;
    const costs = ends.reduce((sum, g) => sum + Number(g.cost.amount), 0);
    expect(viewer.spentToday.amount).toBe(costs.toFixed(2));
    // $0.40 + $1.20 + $0.90, the blocked one free; the canceled one too unless a worker had already submitted it
    // when the cancel came (then its $0.40 may be charged, and cancel said so).
    expect(viewer.spentToday.amount).toBe(cancel.chargeMayApply ? '2.90' : '2.50');
    expect(viewer.activeGenerations).toBe(0);

    // A running generation counts at once, and the figure is the one admission refuses with. After a charged cancel
    // ($2.90) a silent one ($0.80) still fits the $4.00 budget; otherwise ($2.50) one with audio ($1.20): $3.70 either way.
    await generate({ prompt: 'A fox on the run [sim:slow]', durationSeconds: 8, generateAudio: !cancel.chargeMayApply });
    const running = (await as(VIEWER)).data!.viewer;
    expect(running).toMatchObject({ spentToday: { amount: '3.70' }, activeGenerations: 1 });
    const refused = (await as(OVER_BUDGET, { input: { prompt: 'One fox too many', durationSeconds: 8 } })).data!.generateVideo;
    expect(refused).toMatchObject({ __typename: 'BudgetExceededError', used: { amount: running.spentToday.amount }, limit: { amount: '4.00' } });
  });

  it('answers UNAUTHENTICATED without a key', async () => {
    const body = await server.graphql(VIEWER, undefined, { authorization: '' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
