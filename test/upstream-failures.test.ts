import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SegmindSimulatorOptions } from '../src/segmind/simulator/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient, GENERATE, GET, type TestGenerationWithEventTimes as Generation, WATCH_WITH_EVENT_TIMES as WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { fetchSimulatedVideo } from './helpers/videos.js';

// Selecting `events` twice merges the selections, adding createdAt to the shared field list.

/** A marker planted in upstream error bodies: it must never reach a user. */
const UPSTREAM_MARKER = 'UPSTREAM-RAW-TEXT-7f3a';
const HTML_500 = `<html><head><title>500 Internal Server Error</title></head><body><h1>${UPSTREAM_MARKER}</h1></body></html>`;

interface Context {
  database: TestDatabase;
  sim: Awaited<ReturnType<typeof startSimulator>>;
  server: TestApp;
  ws: Client;
}

async function startContext(simOptions: SegmindSimulatorOptions = {}, env: Record<string, string> = {}): Promise<Context> {
  const database = await createTestDatabase();
  const sim = await startSimulator({ processingMs: 300, ...simOptions });
  const server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ...env });
  return { database, sim, server, ws: createWsClient(server.url, { key: server.key }) };
}

async function stopContext(context: Context | undefined): Promise<void> {
  await context?.ws.dispose();
  await context?.server.stop();
  await context?.sim.simulator.stop();
  await context?.database.drop();
}

async function create(server: TestApp, prompt: string): Promise<Generation> {
  const created = await server.graphql<{ generateVideo: { __typename: string; generation?: Generation } }>(GENERATE, {
    input: { prompt, durationSeconds: 4, generateAudio: false },
  });
  expect(created.errors).toBeUndefined();
  expect(created.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
  return created.data!.generateVideo.generation!;
}

/** Follows the generation over graphql-ws until the server completes the stream, and returns its final state. */
async function untilFinal(context: Context, id: string, timeoutMs = 15_000): Promise<Generation> {
  const { results, completed } = await collectWs<{ generationStatus: Generation }>(context.ws, WATCH, { id }, timeoutMs);
  expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
  expect(completed).toBe(true);
  const final = results.at(-1)?.data?.generationStatus;
  expect(final).toBeDefined();
  return final!;
}

async function generateToEnd(context: Context, prompt: string, timeoutMs?: number): Promise<Generation> {
  const generation = await create(context.server, prompt);
  return untilFinal(context, generation.id, timeoutMs);
}

async function fetchGeneration(server: TestApp, id: string): Promise<Generation> {
  const body = await server.graphql<{ generation: Generation | null }>(GET, { id });
  expect(body.errors).toBeUndefined();
  return body.data!.generation!;
}


/** What every FAILED generation must look like, whatever the cause. */
function expectFailed(generation: Generation, code: string, retryable: boolean): NonNullable<Generation['error']> {
  expect(generation.status).toBe('FAILED');
  expect(generation.error).not.toBeNull();
  expect(generation.error!.code).toBe(code);
  expect(generation.error!.retryable).toBe(retryable);
  expect(generation.error!.message.length).toBeGreaterThan(10);
  expect(generation.video).toBeNull();
  expect(generation.completedAt).not.toBeNull();
  expect(Date.parse(generation.completedAt!)).not.toBeNaN();
  expect(generation.events.at(-1)?.type).toBe('failed');
  expect(generation.events.at(-1)?.status).toBe('FAILED');
  expect(generation.events.filter((e) => e.type === 'failed')).toHaveLength(1);
  return generation.error!;
}

/** A message a user can read: no markup, no raw text from Segmind or a gateway. */
function expectReadable(message: string) {
  expect(message).not.toMatch(/<[a-z!/]/i);
  expect(message).not.toContain(UPSTREAM_MARKER);
  expect(message).not.toMatch(/^\s*[{[]/);
}

const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/;

describe.skipIf(!hasPostgres)('how Segmind’s answers decide a generation’s final state', () => {
  let context: Context;

  beforeAll(async () => {
    context = await startContext({ credits: 1000 });
  });
  afterAll(() => stopContext(context));
  // Every test waits for its generation to be final, so nothing is in flight when the simulator forgets.
  beforeEach(() => context.sim.simulator.reset());

  it('fails a safety-blocked prompt as CONTENT_BLOCKED with Google’s support code, and Segmind charges nothing', async () => {
    const { simulator } = context.sim;
    const final = await generateToEnd(context, 'a forbidden thing [sim:fail]');

    const error = expectFailed(final, 'CONTENT_BLOCKED', false);
    expect(error.message).toContain('Support codes');
    expect(final.attempts).toBe(1);
    expect(simulator.submissions()).toBe(1);
    expect(simulator.jobs()).toHaveLength(1);
    expect(simulator.jobs()[0]!.cost).toBe(0);
    const stats = (await (await fetch(`${simulator.url}/__sim/stats`)).json()) as { credits: number };
    expect(stats.credits).toBe(1000);
  });

  it.each([
    [406, 'INSUFFICIENT_CREDITS', true],
    [403, 'UPSTREAM_FORBIDDEN', false],
    [410, 'MODEL_UNAVAILABLE', false],
    [400, 'INVALID_INPUT', false],
  ] as const)('fails a submit answered with HTTP %i as %s, at once and without resubmitting', async (status, code, retryable) => {
    const { simulator } = context.sim;
    simulator.injectFault({ endpoint: 'submit', status, body: JSON.stringify({ error: `${UPSTREAM_MARKER} (${status})` }) });
    const final = await generateToEnd(context, `a submit that meets HTTP ${status}`);

    const error = expectFailed(final, code, retryable);
    expectReadable(error.message);
    expect(final.attempts).toBe(1);
    expect(final.events.map((e) => e.type)).not.toContain('retry_scheduled');
    expect(simulator.submissions()).toBe(0);
  });

  it('fails as RESULT_EXPIRED when Segmind forgets the job while we are still polling it', async () => {
    const { simulator } = context.sim;
    const prompt = 'a glacier calving, filmed for a long time [sim:slow]';
    const generation = await create(context.server, prompt);

    const job = await waitFor('the simulator to be processing the job', () =>
      simulator.jobs().find((j) => j.input.prompt === prompt && j.status === 'PROCESSING'),
    );
    await waitFor('the generation to be PROCESSING', async () =>
      (await fetchGeneration(context.server, generation.id)).status === 'PROCESSING' ? true : undefined,
    );
    expect(simulator.expire(job.requestId)).toBe(true);

    const final = await untilFinal(context, generation.id);
    const error = expectFailed(final, 'RESULT_EXPIRED', true);
    expectReadable(error.message);
    expect(final.events.map((e) => e.type)).toContain('processing');
    expect(simulator.submissions()).toBe(1);
    expect(final.attempts).toBe(1);
  });

  it('retries a submit that met an HTML 500, announces when, and submits exactly once more', async () => {
    const { simulator } = context.sim;
    simulator.injectFault({ endpoint: 'submit', status: 500, body: HTML_500 });
    const final = await generateToEnd(context, 'a lighthouse in a storm, after a server error');

    expect(final.status).toBe('SUCCEEDED');
    expect(final.error).toBeNull();
    expect(final.attempts).toBe(2);
    expect(simulator.submissions()).toBe(1);

    const retries = final.events.filter((e) => e.type === 'retry_scheduled');
    expect(retries).toHaveLength(1);
    const retry = retries[0]!;
    expectReadable(retry.message);
    const announced = ISO_TIMESTAMP.exec(retry.message)?.[0];
    expect(announced, `no time in "${retry.message}"`).toBeDefined();
    const nextAttemptAt = Date.parse(announced!);
    const scheduledAt = Date.parse(retry.createdAt);
    // First retry: a backoff in [0, 1 s) from the failure.
    expect(nextAttemptAt).toBeGreaterThanOrEqual(scheduledAt - 1000);
    expect(nextAttemptAt).toBeLessThanOrEqual(scheduledAt + 1000);
    // The accepted submission is the second attempt, made no earlier than announced.
    expect(simulator.jobs()[0]!.submittedAt.getTime()).toBeGreaterThanOrEqual(nextAttemptAt);

    const types = final.events.map((e) => e.type);
    expect(types.indexOf('retry_scheduled')).toBeLessThan(types.indexOf('submitted'));
    expect(types.at(-1)).toBe('succeeded');
  });

  it('waits out a 429 on submit until the rate limit resets, then succeeds with one billed job', async () => {
    const { simulator } = context.sim;
    const before = Date.now();
    // The simulator's 429 says the limit resets 2 s from now (x-rate-limit-reset-at-utc).
    simulator.injectFault({ endpoint: 'submit', status: 429 });
    const final = await generateToEnd(context, 'a hummingbird, after a rate limit');

    expect(final.status).toBe('SUCCEEDED');
    // Waiting on a rate limit is not a failed attempt.
    expect(final.attempts).toBe(1);
    expect(simulator.submissions()).toBe(1);
    const retry = final.events.find((e) => e.type === 'rate_limited');
    expect(retry).toBeDefined();
    expectReadable(retry!.message);
    expect(retry!.message).toMatch(ISO_TIMESTAMP);
    expect(simulator.jobs()[0]!.submittedAt.getTime()).toBeGreaterThanOrEqual(before + 2000);
  });

  it('keeps polling through 502 gateway pages on the status endpoint and succeeds', async () => {
    const { simulator } = context.sim;
    const logsBefore = context.server.logs.length;
    simulator.injectFault({ endpoint: 'status', status: 502, times: 3 });
    const final = await generateToEnd(context, 'a city at night, through a flaky gateway');

    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts).toBe(1);
    expect(simulator.submissions()).toBe(1);
    // The faults were met (and survived), not skipped.
    const pollFailures = context.server.logs.slice(logsBefore).filter((line) => line.includes('status poll failed'));
    expect(pollFailures).toHaveLength(3);
  });

  it('retries a failed video download and stores the complete video', async () => {
    const { simulator } = context.sim;
    const logsBefore = context.server.logs.length;
    simulator.injectFault({ endpoint: 'file', status: 500, body: HTML_500 });
    const final = await generateToEnd(context, 'a paper boat, after a failed download');

    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts).toBe(1);
    expect(simulator.submissions()).toBe(1);
    expect(context.server.logs.slice(logsBefore).filter((line) => line.includes('video download failed'))).toHaveLength(1);
    // The whole clip the simulator rendered for the job.
    const clip = await fetchSimulatedVideo(simulator.url, simulator.jobs()[0]!.requestId);
    expect(final.video?.sizeBytes).toBe(clip.length);
    const stored = Buffer.from(await (await fetch(final.video!.url)).arrayBuffer());
    expect(stored.equals(clip)).toBe(true);
  });

  // A submit that hangs past SEGMIND_REQUEST_TIMEOUT_MS (the ambiguous case) is covered in job-engine.test.ts.
});

describe.skipIf(!hasPostgres)('a server whose Segmind API key is wrong', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext({ apiKey: 'the-real-key' }, { SEGMIND_API_KEY: 'a-wrong-key' });
  });
  afterAll(() => stopContext(context));

  it('fails generations as UPSTREAM_UNAUTHORIZED with a message a user understands', async () => {
    const final = await generateToEnd(context, 'a cat on a skateboard');

    const error = expectFailed(final, 'UPSTREAM_UNAUTHORIZED', false);
    expectReadable(error.message);
    expect(error.message).toMatch(/key/i);
    // The simulator's own words for a 401 are upstream text, for the logs only.
    expect(error.message).not.toContain('Invalid or missing API key');
    expect(final.attempts).toBe(1);
    expect(context.sim.simulator.submissions()).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('a server whose Segmind account has no credits', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext({ credits: 0 });
  });
  afterAll(() => stopContext(context));

  it('fails generations as INSUFFICIENT_CREDITS and submits nothing billable', async () => {
    const final = await generateToEnd(context, 'a sunrise over dunes');

    const error = expectFailed(final, 'INSUFFICIENT_CREDITS', true);
    expectReadable(error.message);
    expect(error.message).toMatch(/credit/i);
    expect(error.message).not.toContain('this request costs');
    expect(final.attempts).toBe(1);
    expect(context.sim.simulator.submissions()).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('a submit whose connection drops after Segmind accepted it', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext();
  });
  afterAll(() => stopContext(context));

  it('is ambiguous: the generation fails as UPSTREAM_UNAVAILABLE and is never submitted again', async () => {
    const { simulator } = context.sim;
    // Segmind takes (and bills) the job, then the answer never arrives; stopping the simulator cuts the socket.
    simulator.injectFault({ endpoint: 'submit', acceptThenFail: true, hang: true });
    const generation = await create(context.server, 'a heron fishing, on a bad line');
    await waitFor('Segmind to accept the job', () => (simulator.submissions() === 1 ? true : undefined));
    await simulator.stop();

    const final = await untilFinal(context, generation.id);
    const error = expectFailed(final, 'UPSTREAM_UNAVAILABLE', true);
    expectReadable(error.message);
    expect(error.message).toMatch(/bill/i);
    expect(final.attempts).toBe(1);
    expect(final.events.map((e) => e.type)).not.toContain('retry_scheduled');
  });
});
