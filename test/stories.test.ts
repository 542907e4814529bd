import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { GENERATE_STORY, GET_STORY, shots } from './helpers/stories.js';
import { waitFor } from './helpers/wait.js';

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];

describe.skipIf(!hasPostgres)('stories: several shots as one request', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    app = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  beforeEach(() => sim.simulator.reset());
  afterAll(async () => {
    await app?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const generateStory = async (input: Record<string, unknown>, key = app.key) =>
    (await app.graphql(GENERATE_STORY, { input }, { authorization: `Bearer ${key}` })).data!.generateStory;

  const finalStory = (id: string) =>
    waitFor(
      'the story to end',
      async () => {
        const story = (await app.graphql(GET_STORY, { id })).data?.story;
        return FINAL.includes(story?.status) && story.shots.every((shot: { status: string }) => FINAL.includes(shot.status)) && story;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  const storyCount = async () => Number((await database.sql`select count(*)::int as n from stories`)[0]!.n);
  const generationCount = async () => Number((await database.sql`select count(*)::int as n from generations`)[0]!.n);

  it('refuses 0 and 9 shots, and a bad duration naming the shot, queuing nothing', async () => {
    const before = { stories: await storyCount(), generations: await generationCount() };
    const none = await generateStory({ shots: [] });
    expect(none).toMatchObject({ __typename: 'InputError', field: 'shots' });
    expect(none.message).toMatch(/1 to 8 shots; got 0/);
    const nine = await generateStory({ shots: shots(9) });
    expect(nine).toMatchObject({ __typename: 'InputError', field: 'shots' });
    expect(nine.message).toMatch(/got 9/);
    const badDuration = await generateStory({ shots: [{ prompt: 'a', durationSeconds: 4 }, { prompt: 'b', durationSeconds: 5 }] });
    expect(badDuration).toMatchObject({ __typename: 'InputError', field: 'shots[1].durationSeconds' });
    expect(badDuration.message).toMatch(/shots\[1\]\.durationSeconds must be 4, 6 or 8; got 5/);
    const emptyPrompt = await generateStory({ shots: [{ prompt: 'a' }, { prompt: 'b' }, { prompt: '  ' }] });
    expect(emptyPrompt).toMatchObject({ __typename: 'InputError', field: 'shots[2].prompt' });
    const badSeed = await generateStory({ shots: shots(2), seed: -1 });
    expect(badSeed).toMatchObject({ __typename: 'InputError', field: 'seed' });
    expect({ stories: await storyCount(), generations: await generationCount() }).toEqual(before);
  });

  it('refuses a story whose total exceeds what is left of the budget with BUDGET_EXCEEDED, and queues none of its shots', async () => {
    // Three 8 s shots with audio are $3.60; the key has $3.00 a day, so each shot alone would fit.
    const { key } = await createKeyIn(database.url, { dailyBudgetUsd: 3 });
    const before = { stories: await storyCount(), generations: await generationCount() };
    const refused = await generateStory({ shots: shots(3, 8) }, key);
    expect(refused.__typename).toBe('BudgetExceededError');
    expect(refused.message).toMatch(/daily budget of \$3\.00 and has used \$0\.00 today; this story of 3 shots costs \$3\.60/);
    expect({ stories: await storyCount(), generations: await generationCount() }).toEqual(before);
    expect(sim.simulator.submissions()).toBe(0);
  });

  it('refuses a story with more shots than the active cap leaves room for', async () => {
    const { key } = await createKeyIn(database.url, { maxActive: 2 });
    const refused = await generateStory({ shots: shots(3) }, key);
    expect(refused.__typename).toBe('TooManyActiveGenerationsError');
    expect(refused.message).toMatch(/may have 2 unfinished generations at once and has 0; this request adds 3/);
  });

  it('ends FAILED when the second shot fails: the third is never submitted, its cost a final 0, and the key spends only what was spent', async () => {
    const { key } = await createKeyIn(database.url, {});
    const asked = await generateStory({ shots: shots(3, 4, { 1: '[sim:fail]' }), generateAudio: false }, key);
    expect(asked.__typename).toBe('GenerateStorySuccess');
    expect(asked.story.shots.map((s: { status: string }) => s.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);
    expect(asked.story.cost.amount).toBe('1.20');
    const asKey = (query: string, variables: Record<string, unknown>) => app.graphql(query, variables, { authorization: `Bearer ${key}` });
    const story = await waitFor(
      'the story to fail',
      async () => {
        const s = (await asKey(GET_STORY, { id: asked.story.id })).data?.story;
        return s?.status === 'FAILED' && s.shots[2].status === 'CANCELED' && s;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(story.shots.map((s: { status: string }) => s.status)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELED']);
    expect(story.error.code).toBe(story.shots[1].error.code);
    expect(story.error.message).toMatch(/^Shot 2 of 3 failed: /);
    expect(story.shots[2]).toMatchObject({ costIsFinal: true, cost: { amount: '0.00' } });
    expect(story.shots[2].events.at(-1).message).toMatch(/Shot 2 of 3 failed, so the story stops\. Canceled before it was sent/);
    expect(sim.simulator.submissions()).toBe(2);
    // The first shot's $0.40 was spent; the refused second (a safety block) and the never-sent third cost nothing.
    const viewer = (await asKey('{ viewer { spentToday { amount } } }', {})).data!.viewer;
    expect(viewer.spentToday.amount).toBe(story.shots[0].cost.amount);
    expect(story.cost.amount).toBe(story.shots[0].cost.amount);
  });

  it('cancelGeneration on a shot cancels the story and the shots after it, and nothing more is submitted', async () => {
    const asked = await generateStory({ shots: shots(3, 4, { 0: '[sim:slow]' }) });
    const first = asked.story.shots[0].id;
    await waitFor('the first shot to be at the simulator', () => sim.simulator.submissions() === 1, { timeoutMs: 15_000 });
    const canceled = (await app.graphql(CANCEL, { id: first })).data!.cancelGeneration;
    expect(canceled.__typename).toBe('CancelGenerationSuccess');
    const story = await finalStory(asked.story.id);
    expect(story.status).toBe('CANCELED');
    expect(story.shots.map((s: { status: string }) => s.status)).toEqual(['CANCELED', 'CANCELED', 'CANCELED']);
    expect(story.shots.slice(1).map((s: { cost: { amount: string } }) => s.cost.amount)).toEqual(['0.00', '0.00']);
    expect(sim.simulator.submissions()).toBe(1);
  });
});
