import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { authHeaders } from './helpers/clients.js';
import { createKey, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

const FIELDS = `id status image continueFrom deadlineSeconds deadlineAt createdAt
  cost { amount } costIsFinal attempts
  error { code message }
  events { type message }`;

const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { ${FIELDS} } }
    ... on Error { message }
    ... on InputError { field code }
    ... on IdempotencyKeyReusedError { generationId }
  }
}`;
const GET = `query Get($id: ID!) { generation(id: $id) { ${FIELDS} video { lastFrameUrl } } }`;
const ESTIMATE = `query Estimate($input: GenerateVideoInput!) { estimateCost(input: $input) { amount } }`;

interface Generation {
  id: string;
  status: string;
  image: string | null;
  continueFrom: string | null;
  deadlineSeconds: number | null;
  deadlineAt: string;
  createdAt: string;
  cost: { amount: string };
  costIsFinal: boolean;
  attempts: number;
  error: { code: string; message: string } | null;
  events: { type: string; message: string }[];
  video?: { lastFrameUrl: string } | null;
}
interface GenerateResult {
  generateVideo: { __typename: string; generation?: Generation; message?: string; field?: string; code?: string | null };
}

/** The Relay plugin's typed form of a Generation's global id, which continueFrom accepts as well as the UUID. */
const typedGlobalId = (id: string) => Buffer.from(`Generation:${id}`).toString('base64');

describe.skipIf(!hasPostgres)('generateVideo with continueFrom and deadlineSeconds', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  const generate = async (input: Record<string, unknown>, key = server.key) =>
    (await server.graphql<GenerateResult>(GENERATE, { input }, authHeaders(key))).data!.generateVideo;

  const accepted = async (input: Record<string, unknown>) => {
    const result = await generate(input);
    expect(result.__typename, JSON.stringify(result)).toBe('GenerateVideoSuccess');
    return result.generation!;
  };

  const get = async (id: string) => {
    const body = await server.graphql<{ generation: Generation | null }>(GET, { id });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!.generation!;
  };

  const final = (id: string, timeoutMs = 20_000) =>
    waitFor(`${id} to be final`, async () => {
      const g = await get(id);
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(g.status) ? g : undefined;
    }, { timeoutMs, intervalMs: 50 });

  /** A SUCCEEDED generation whose last frame was extracted, as continueFrom needs. */
  const succeededSource = async (prompt: string) => {
    const source = await accepted({ prompt, durationSeconds: 4 });
    const done = await final(source.id);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.video?.lastFrameUrl).toBeTruthy();
    return done;
  };

  const rowsOfKey = async (apiKeyId: string) =>
    Number((await database.sql<{ n: number }[]>`select count(*)::int as n from generations where api_key_id = ${apiKeyId}`)[0]!.n);

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 500 });
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      MIN_DEADLINE_SECONDS: '2',
      GENERATION_DEADLINE_MS: '120000',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('starts from the source’s last frame, uploaded to Segmind once and sent as image, and reuses that upload for the next continuation', async () => {
    const source = await succeededSource('a lighthouse at dusk');
    const servedFrame = Buffer.from(await (await fetch(source.video!.lastFrameUrl)).arrayBuffer());
    const [stored] = await database.sql<{ last_frame_key: string }[]>`select last_frame_key from generations where id = ${source.id}`;
    const storedFrame = await import('node:fs/promises').then((fs) => fs.readFile(path.join(server.dataDir, 'videos', stored!.last_frame_key)));
    expect(servedFrame.equals(storedFrame)).toBe(true);
    const uploadsBefore = sim.simulator.uploads().length;

    const first = await accepted({ prompt: 'the light turns on', continueFrom: source.id, durationSeconds: 4 });
    expect(first.continueFrom).toBe(source.id);
    expect(first.image).toBeNull();
    const firstDone = await final(first.id);
    expect(firstDone.status, JSON.stringify(firstDone.error)).toBe('SUCCEEDED');

    const uploads = sim.simulator.uploads().slice(uploadsBefore);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.contentType).toBe('image/jpeg');
    expect(uploads[0]!.bytes.equals(storedFrame)).toBe(true);
    expect(firstDone.image).toBe(uploads[0]!.url);
    const job = sim.simulator.jobs().find((j) => j.input.prompt === 'the light turns on');
    expect(job?.input.image).toBe(uploads[0]!.url);
    expect(firstDone.events.map((e) => e.type)).toContain('continue_frame_uploaded');
    // The upload is no submit: one attempt, as for any generation.
    expect(firstDone.attempts).toBe(1);

    // The Relay plugin's id form names the same source.
    const second = await accepted({ prompt: 'a ship passes', continueFrom: typedGlobalId(source.id), durationSeconds: 4 });
    const secondDone = await final(second.id);
    expect(secondDone.status, JSON.stringify(secondDone.error)).toBe('SUCCEEDED');
    expect(sim.simulator.uploads().length - uploadsBefore).toBe(1);
    expect(secondDone.image).toBe(uploads[0]!.url);
    expect(sim.simulator.jobs().find((j) => j.input.prompt === 'a ship passes')?.input.image).toBe(uploads[0]!.url);
  });

  it('answers another key’s generation exactly as an unknown id, and queues nothing', async () => {
    const source = await succeededSource('a red kite over the hills');
    const other = await createKey(dbOf(database));
    const before = sim.simulator.submissions();

    const theirs = await generate({ prompt: 'continue it', continueFrom: source.id }, other.key);
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const unknown = await generate({ prompt: 'continue it', continueFrom: unknownId }, other.key);
    expect(theirs).toMatchObject({ __typename: 'InputError', field: 'continueFrom', code: 'CONTINUE_FROM_NOT_FOUND' });
    expect(theirs.message).toBe(unknown.message!.replace(unknownId, source.id));
    expect(theirs.message).toMatch(/among yours/);

    const estimate = await server.graphql(ESTIMATE, { input: { prompt: 'continue it', continueFrom: source.id } }, authHeaders(other.key));
    expect(estimate.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'continueFrom', inputErrorCode: 'CONTINUE_FROM_NOT_FOUND' });

    expect(await rowsOfKey(other.apiKey.id)).toBe(0);
    expect(sim.simulator.submissions()).toBe(before);
  });

  it('refuses a source that has not succeeded, saying to wait, and one that failed', async () => {
    const running = await accepted({ prompt: 'a long slow pan [sim:slow]', durationSeconds: 4 });
    const early = await generate({ prompt: 'after it', continueFrom: running.id });
    expect(early).toMatchObject({ __typename: 'InputError', field: 'continueFrom', code: 'CONTINUE_FROM_NOT_SUCCEEDED' });
    expect(early.message).toMatch(/only a SUCCEEDED video has a last frame/);
    expect(early.message).toMatch(/Wait until it succeeds/);

    const failed = await accepted({ prompt: 'blocked [sim:fail]', durationSeconds: 4 });
    expect((await final(failed.id)).status).toBe('FAILED');
    const afterFailure = await generate({ prompt: 'after it', continueFrom: failed.id });
    expect(afterFailure).toMatchObject({ __typename: 'InputError', code: 'CONTINUE_FROM_NOT_SUCCEEDED' });
    expect(afterFailure.message).toMatch(/is FAILED/);
  });

  it('refuses continueFrom together with image, saying to give one', async () => {
    const result = await generate({ prompt: 'two first frames', continueFrom: '00000000-0000-4000-8000-000000000000', image: 'https://example.com/a.png' });
    expect(result).toMatchObject({ __typename: 'InputError', field: 'continueFrom', code: 'CONTINUE_FROM_WITH_IMAGE' });
    expect(result.message).toMatch(/give one of them, not both/);
  });

  it('refuses a source whose last frame could not be extracted, and fails uncharged one whose frame is gone by the time it runs', async () => {
    const noStills = await succeededSource('a quiet pond');
    // Extraction failing leaves the keys null with a reason, and the video SUCCEEDED.
    await database.sql`update generations set last_frame_key = null, poster_key = null, stills_error = 'ffmpeg could not decode the video' where id = ${noStills.id}`;
    const refused = await generate({ prompt: 'ripples', continueFrom: noStills.id });
    expect(refused).toMatchObject({ __typename: 'InputError', field: 'continueFrom', code: 'CONTINUE_FROM_NO_LAST_FRAME' });
    expect(refused.message).toMatch(/ffmpeg could not decode the video/);
    expect(refused.message).toMatch(/image or imageFile/);

    const lost = await succeededSource('an empty road');
    const [row] = await database.sql<{ last_frame_key: string }[]>`select last_frame_key from generations where id = ${lost.id}`;
    await rm(path.join(server.dataDir, 'videos', row!.last_frame_key));
    const submissions = sim.simulator.submissions();
    const uploads = sim.simulator.uploads().length;
    const continuation = await accepted({ prompt: 'a car appears', continueFrom: lost.id });
    const done = await final(continuation.id);
    expect(done.status).toBe('FAILED');
    expect(done.error?.code).toBe('CONTINUE_FROM_UNAVAILABLE');
    expect(done.error?.message).toMatch(/Nothing is charged/);
    expect(done).toMatchObject({ cost: { amount: '0.00' }, costIsFinal: true, attempts: 0 });
    expect(sim.simulator.submissions()).toBe(submissions);
    expect(sim.simulator.uploads()).toHaveLength(uploads);
  });

  it('refuses a deadline below the minimum, naming it', async () => {
    const result = await generate({ prompt: 'in a hurry', deadlineSeconds: 1 });
    expect(result).toMatchObject({ __typename: 'InputError', field: 'deadlineSeconds' });
    expect(result.message).toMatch(/at least 2/);
    const estimate = await server.graphql(ESTIMATE, { input: { prompt: 'in a hurry', deadlineSeconds: 1 } });
    expect(estimate.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'deadlineSeconds' });
  });

  it('fails a slow job with TIMEOUT once the client’s deadline passes, saying so and that the charge may apply', async () => {
    const generation = await accepted({ prompt: 'a glacier calving [sim:slow]', durationSeconds: 4, deadlineSeconds: 2 });
    expect(generation.deadlineSeconds).toBe(2);
    expect(Date.parse(generation.deadlineAt) - Date.parse(generation.createdAt)).toBe(2000);
    const done = await final(generation.id);
    expect(done.status).toBe('FAILED');
    expect(done.error?.code).toBe('TIMEOUT');
    expect(done.error?.message).toMatch(/the deadline you set \(deadlineSeconds: 2\) passed/);
    expect(done.error?.message).toMatch(/charge may still apply/);
    expect(done.costIsFinal).toBe(false);
  });

  it('accepts a deadline beyond the server’s and caps it there', async () => {
    const generation = await accepted({ prompt: 'patient', deadlineSeconds: 3600 });
    expect(generation.deadlineSeconds).toBe(3600);
    expect(Date.parse(generation.deadlineAt) - Date.parse(generation.createdAt)).toBe(120_000);
  });

  it('counts deadlineSeconds in the idempotency check only when given', async () => {
    const first = await accepted({ prompt: 'same request', idempotencyKey: 'deadline-1' });
    const repeat = await accepted({ prompt: 'same request', idempotencyKey: 'deadline-1' });
    expect(repeat.id).toBe(first.id);
    const different = await generate({ prompt: 'same request', idempotencyKey: 'deadline-1', deadlineSeconds: 60 });
    expect(different.__typename).toBe('IdempotencyKeyReusedError');
  });
});
