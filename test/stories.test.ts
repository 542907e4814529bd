import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, collectSse } from './helpers/clients.js';
import { imageBytes, postMultipart } from './helpers/multipart.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { GENERATE_STORY, GET_STORY, shots, WATCH_STORY } from './helpers/stories.js';
import { waitFor } from './helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];

describe.skipIf(!hasPostgres)('stories: several shots as one request', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let app: TestApp;

  let receiver: WebhookReceiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300 });
    receiver = await startWebhookReceiver();
    app = await startTestApp({ DATABASE_URL: database.url, ...sim.env, WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}` });
  });
  beforeEach(() => sim.simulator.reset());
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
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

  it('estimates a story as the sum of its shots, and refuses a bad shot there too', async () => {
    const estimate = `query ($input: GenerateStoryInput!) { estimateStoryCost(input: $input) { amount currency } }`;
    const body = await app.graphql(estimate, { input: { shots: [{ prompt: 'a', durationSeconds: 8 }, { prompt: 'b', durationSeconds: 4 }], generateAudio: false } });
    expect(body.data?.estimateStoryCost).toEqual({ amount: '1.20', currency: 'USD' });
    const bad = await app.graphql(estimate, { input: { shots: [{ prompt: 'a', durationSeconds: 7 }] } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'shots[0].durationSeconds' });
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
    expect(story.shots.map((s: { storyShot: number; story: { id: string } }) => [s.storyShot, s.story.id])).toEqual(
      [0, 1, 2].map((n) => [n, story.id]),
    );
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
    const cancelBody = await app.graphql(CANCEL, { id: first });
    expect(cancelBody.errors).toBeUndefined();
    const canceled = cancelBody.data!.cancelGeneration;
    expect(canceled.__typename).toBe('CancelGenerationSuccess');
    const story = await finalStory(asked.story.id);
    expect(story.status).toBe('CANCELED');
    expect(story.shots.map((s: { status: string }) => s.status)).toEqual(['CANCELED', 'CANCELED', 'CANCELED']);
    expect(story.shots.slice(1).map((s: { cost: { amount: string } }) => s.cost.amount)).toEqual(['0.00', '0.00']);
    expect(sim.simulator.submissions()).toBe(1);
  });

  it('returns the same story for a repeat with the same idempotencyKey, and refuses the key with a different input', async () => {
    const input = { shots: shots(2), idempotencyKey: 'story-repeat-1', seed: 3 };
    const first = await generateStory(input);
    expect(first.__typename).toBe('GenerateStorySuccess');
    const before = await generationCount();
    const again = await generateStory(input);
    expect(again.story.id).toBe(first.story.id);
    expect(again.story.shots.map((s: { id: string }) => s.id)).toEqual(first.story.shots.map((s: { id: string }) => s.id));
    const changed = await generateStory({ ...input, shots: shots(3) });
    expect(changed.__typename).toBe('IdempotencyKeyReusedError');
    expect(await generationCount()).toBe(before);
    await finalStory(first.story.id);
  });

  it('uploads imageFile once as the first frame of the first shot only, and streams storyStatus over SSE too', async () => {
    const uploadsBefore = sim.simulator.uploads().length;
    const { status, body } = await postMultipart(
      app.url,
      GENERATE_STORY,
      { input: { shots: shots(2), imageFile: null } },
      [{ path: 'input.imageFile', bytes: imageBytes('png'), filename: 'first.png', type: 'image/png' }],
      { authorization: `Bearer ${app.key}`, 'x-graphql-yoga-csrf': '1' },
    );
    expect(status).toBe(200);
    const asked = body.data!.generateStory;
    expect(asked.__typename, JSON.stringify(body)).toBe('GenerateStorySuccess');
    const uploaded = sim.simulator.uploads()[uploadsBefore];
    expect(uploaded?.bytes.equals(Buffer.from(imageBytes('png')))).toBe(true);
    expect(asked.story.shots[0].image).toBe(uploaded!.url);
    expect(asked.story.shots[1].image).toBeNull();
    const { results, completed } = await collectSse(app.url, WATCH_STORY, { id: asked.story.id }, { key: app.key, timeoutMs: 30_000 });
    expect(completed).toBe(true);
    const versions = results.map((r) => r.data!.storyStatus.version as number);
    versions.slice(1).forEach((version, i) => expect(version).toBe(versions[i]! + 1));
    expect(['SUCCEEDED', 'FAILED']).toContain(results.at(-1)!.data!.storyStatus.status);
  });

  it("sends the story's own signed webhook once when it ends, and none for its shots", async () => {
    const asked = await generateStory({ shots: shots(2), webhookUrl: `${receiver.url}/hooks/story` });
    expect(asked.__typename).toBe('GenerateStorySuccess');
    const story = await finalStory(asked.story.id);
    const [delivery] = await waitFor('the story delivery', () => {
      const got = receiver.received.filter((r) => r.payload.data.id === asked.story.id);
      return got.length > 0 && got;
    });
    expect(delivery!.payload.type).toBe(`story.${String(story.status).toLowerCase()}`);
    expect(delivery!.payload.data).toMatchObject({ id: asked.story.id, status: story.status, version: story.version, cost: { amount: story.cost.amount } });
    if (story.status === 'SUCCEEDED') expect(delivery!.payload.data.video.url).toMatch(/\/videos\/story-[0-9a-f-]+\.mp4\?expires=/);
    const secret = (await app.graphql('{ viewer { webhookSecret } }')).data!.viewer.webhookSecret as string;
    expect(() => verifyWebhook(secret, delivery!)).not.toThrow();
    const shotIds = new Set(story.shots.map((s: { id: string }) => s.id));
    expect(receiver.received.filter((r) => shotIds.has(r.payload.data.id))).toEqual([]);
    expect(receiver.received.filter((r) => r.payload.data.id === asked.story.id)).toHaveLength(1);
  });
});
