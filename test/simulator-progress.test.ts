import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, collectWs, createWsClient, GENERATE, GET, type TestGeneration as Generation, WATCH } from './helpers/clients.js';
import { waitFor } from './helpers/wait.js';

/** Long enough that the first status request (at half the expected time) leaves a visible gap before it. */
const PROCESSING_MS = 4000;

/** What the test keeps of each update. */
type Watched = Pick<Generation, 'status' | 'progress' | 'etaSeconds' | 'events'>;

describe('a generation on the built-in simulator, watched over graphql-ws', () => {
  let server: TestApp;
  let updates: Watched[];

  beforeAll(async () => {
    // The default poll limits, so status requests are as rare as in a real run.
    server = await startTestApp({ SIMULATOR_PROCESSING_MS: String(PROCESSING_MS), SEGMIND_POLL_MIN_MS: '1000', SEGMIND_POLL_MAX_MS: '10000' });
    const created = await server.graphql(GENERATE, { input: { prompt: 'a kite over dunes', durationSeconds: 4 } });
    const id = created.data?.generateVideo.generation.id as string;
    const client = createWsClient(server.url, { key: server.key });
    const { results, completed } = await collectWs<{ generationStatus: Watched }>(client, WATCH, { id }, PROCESSING_MS + 10_000);
    await client.dispose();
    expect(completed).toBe(true);
    updates = results.map((r) => r.data!.generationStatus);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('succeeds, and its progress moves forward many times between status requests', () => {
    expect(updates.at(-1)?.status).toBe('SUCCEEDED');
    const working = updates.filter((u) => u.status === 'SUBMITTED' || u.status === 'PROCESSING');
    let increases = 0;
    for (let i = 1; i < working.length; i++) {
      expect(working[i]!.progress).toBeGreaterThanOrEqual(working[i - 1]!.progress);
      if (working[i]!.progress > working[i - 1]!.progress) increases += 1;
    }
    // Polls alone give three values in a 4 s job (at 2 s, 3 s and 4 s); ticks every 200 ms give about twenty.
    expect(increases).toBeGreaterThanOrEqual(8);
    // Already before the first status request, which comes at half the expected time.
    const beforeFirstPoll = working.filter((u) => u.status === 'SUBMITTED');
    expect(new Set(beforeFirstPoll.map((u) => u.progress)).size).toBeGreaterThanOrEqual(3);
  });

  it('never raises its ETA while the simulator works', () => {
    const etas = updates.filter((u) => u.etaSeconds !== null && u.status !== 'QUEUED').map((u) => u.etaSeconds!);
    expect(etas.length).toBeGreaterThan(3);
    for (let i = 1; i < etas.length; i++) expect(etas[i]).toBeLessThanOrEqual(etas[i - 1]!);
    expect(etas[0]).toBeLessThanOrEqual(Math.ceil(PROCESSING_MS / 1000));
  });

  it('tells its timeline that the simulator, not Segmind, has the job', () => {
    const messages = updates.at(-1)!.events.map((e) => e.message);
    expect(messages).toContain('Sent to the Segmind simulator.');
    // "Segmind" appears only as part of "the Segmind simulator".
    for (const message of messages) expect(message.replaceAll(/Segmind simulator/gi, '')).not.toMatch(/Segmind/i);
  });
});

describe('a [sim:slow] generation on the built-in simulator', () => {
  let server: TestApp;

  beforeAll(async () => {
    server = await startTestApp({ SIMULATOR_PROCESSING_MS: '1000' });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('announces the ten-fold time it will take, not the usual one', async () => {
    const created = await server.graphql(GENERATE, { input: { prompt: 'a snail [sim:slow]', durationSeconds: 4 } });
    const id = created.data?.generateVideo.generation.id as string;
    const working = await waitFor('the slow job to be at the simulator', async () => {
      const generation = (await server.graphql(GET, { id })).data?.generation as Watched | undefined;
      return generation && (generation.status === 'SUBMITTED' || generation.status === 'PROCESSING') && generation.etaSeconds !== null
        ? generation
        : undefined;
    });
    // 10 × 1 s: an ETA of a second or two would leave the bar near its end for most of the job.
    expect(working.etaSeconds).toBeGreaterThanOrEqual(8);
    await server.graphql(CANCEL, { id });
  }, 30_000);
});
