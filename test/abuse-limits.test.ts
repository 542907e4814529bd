import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nextUtcMidnight } from '../src/generations/admission.js';
import { hostAllowed } from '../src/segmind/upstream-text.js';
import { assertDownloadable, safeDownload, UnsafeDownloadError } from '../src/storage/safe-download.js';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { CANCEL, collectWs, createWsClient, openSse, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { imageBytes, postMultipart, type UploadPart } from './helpers/multipart.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

/** generateVideo with every member of its result union spelled out. */
const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { id status prompt image lastFrame idempotencyKey seed cost { amount } } }
    ... on Error { message }
    ... on InputError { field }
    ... on BudgetExceededError { scope limit { amount currency } used { amount currency } price { amount currency } resetsAt }
    ... on TooManyActiveGenerationsError { activeLimit: limit active }
    ... on IdempotencyKeyReusedError { idempotencyKey generationId }
  }
}`;

interface GenerateResult {
  __typename: string;
  message?: string;
  field?: string;
  generation?: { id: string; status: string; prompt: string; image: string | null; lastFrame: string | null; seed: number; cost: { amount: string } };
  scope?: string;
  limit?: unknown;
  used?: { amount: string };
  price?: { amount: string };
  resetsAt?: string;
  activeLimit?: number;
  active?: number;
  idempotencyKey?: string;
  generationId?: string;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** The cheapest generation: 4 s without audio, $0.40. */
const cheap = (prompt: string, extra: Record<string, unknown> = {}) => ({ prompt, durationSeconds: 4, generateAudio: false, ...extra });

async function post(baseUrl: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphqlBody<Record<string, any>> };
}

async function generate(baseUrl: string, key: string, input: Record<string, unknown>): Promise<GenerateResult> {
  const { body } = await post(baseUrl, GENERATE, { input }, bearer(key));
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!.generateVideo as GenerateResult;
}

async function generationsOf(database: TestDatabase, apiKeyId: string) {
  return database.sql<{ id: string; prompt: string; status: string; cost_usd: string; segmind_request_id: string | null }[]>`
    select id, prompt, status, cost_usd::text, segmind_request_id from generations where api_key_id = ${apiKeyId} order by created_at`;
}

/** Waits until Segmind (the simulator) has the generation, then a little longer for a second submit to show up. */
async function waitSubmitted(database: TestDatabase, id: string) {
  await waitFor(`${id} to be submitted`, async () => {
    const [row] = await database.sql<{ segmind_request_id: string | null }[]>`select segmind_request_id from generations where id = ${id}`;
    return row?.segmind_request_id ? true : undefined;
  });
  await sleep(300);
}

/** A bare graphql-transport-ws socket, so a test controls every frame and sees the close code. */
function openRawSocket(baseUrl: string) {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: any }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8')) as (typeof messages)[number]));
  socket.on('error', () => undefined);
  const openedAt = new Promise<number>((resolve) => socket.once('open', () => resolve(Date.now())));
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );
  return { socket, messages, openedAt, closed, send: (message: unknown) => socket.send(JSON.stringify(message)) };
}

/** Sends raw bytes over HTTP/1.1 and returns the status line's code (the server may answer before the body). */
function rawHttp(baseUrl: string, head: string, body = ''): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head + body));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', (error) => (text ? undefined : reject(error)));
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    setTimeout(() => socket.destroy(), 3000);
  });
}

/** Error payloads seen anywhere in this file, checked for leaks at the end. */
const seenErrors: unknown[] = [];
const leakPattern = /\n\s+at |\bstack\b|select\s|insert into|postgres|drizzle|node_modules|\.ts:\d+/i;

describe.skipIf(!hasPostgres)('daily budgets and the active cap', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Jobs take 1 s; `[sim:slow]` ones take 10 s, so they stay active for the whole test.
    sim = await startSimulator({ processingMs: 1000 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('accepts two $0.40 generations on a $1.00 key and refuses the third with the numbers, inserting nothing', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { dailyBudgetUsd: 1 });
    const first = await generate(server.url, key, cheap('budget one', { idempotencyKey: 'budget-one' }));
    const second = await generate(server.url, key, cheap('budget two'));
    expect([first.__typename, second.__typename]).toEqual(['GenerateVideoSuccess', 'GenerateVideoSuccess']);
    expect(first.generation!.cost.amount).toBe('0.40');

    const resetBefore = nextUtcMidnight().toISOString();
    const third = await generate(server.url, key, cheap('budget three'));
    const resetAfter = nextUtcMidnight().toISOString();
    seenErrors.push(third);
    expect(third).toMatchObject({
      __typename: 'BudgetExceededError',
      scope: 'KEY',
      limit: { amount: '1.00', currency: 'USD' },
      used: { amount: '0.80', currency: 'USD' },
      price: { amount: '0.40', currency: 'USD' },
    });
    expect([resetBefore, resetAfter]).toContain(third.resetsAt);
    expect(new Date(third.resetsAt!).getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(third.message).toMatch(/\$1\.00.*\$0\.80.*\$0\.40/);
    // An expensive one is refused too, with its own price.
    const dear = await generate(server.url, key, { prompt: 'budget dear' });
    expect(dear).toMatchObject({ __typename: 'BudgetExceededError', price: { amount: '1.20' }, used: { amount: '0.80' } });

    const rows = await generationsOf(database, apiKey.id);
    expect(rows.map((r) => r.prompt)).toEqual(['budget one', 'budget two']);
    // Repeating an accepted request is not new spending: it returns the same generation.
    const repeat = await generate(server.url, key, cheap('budget one', { idempotencyKey: 'budget-one' }));
    expect(repeat.generation?.id).toBe(first.generation!.id);
  });

  it('lets exactly two of ten concurrent $0.40 requests through a $1.00 budget', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { dailyBudgetUsd: 1 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => generate(server.url, key, cheap(`race ${i}`))),
    );
    const kinds = results.map((r) => r.__typename).sort();
    expect(kinds.filter((k) => k === 'GenerateVideoSuccess')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'BudgetExceededError')).toHaveLength(8);
    const rows = await generationsOf(database, apiKey.id);
    expect(rows).toHaveLength(2);
    expect(rows.reduce((sum, r) => sum + Number(r.cost_usd), 0)).toBeLessThanOrEqual(1.0);
  });

  it('refuses a third active generation with TooManyActiveGenerationsError, and accepts one after a cancel', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { maxActive: 2 });
    const a = await generate(server.url, key, cheap('active a [sim:slow]'));
    const b = await generate(server.url, key, cheap('active b [sim:slow]'));
    expect([a.__typename, b.__typename]).toEqual(['GenerateVideoSuccess', 'GenerateVideoSuccess']);
    const refused = await generate(server.url, key, cheap('active c [sim:slow]'));
    seenErrors.push(refused);
    expect(refused).toMatchObject({ __typename: 'TooManyActiveGenerationsError', activeLimit: 2, active: 2 });
    expect((await generationsOf(database, apiKey.id)).map((r) => r.prompt)).not.toContain('active c [sim:slow]');
    // Both are really still active at Segmind.
    const [{ n }] = await database.sql<[{ n: number }]>`
      select count(*)::int as n from generations where api_key_id = ${apiKey.id} and status in ('QUEUED','SUBMITTED','PROCESSING','STORING')`;
    expect(n).toBe(2);

    // Another key is not affected by this key's cap.
    expect((await generate(server.url, server.key, cheap('someone else'))).__typename).toBe('GenerateVideoSuccess');

    const canceled = await post(server.url, CANCEL, { id: a.generation!.id }, bearer(key));
    expect(canceled.body.data!.cancelGeneration.__typename).toBe('CancelGenerationSuccess');
    const d = await generate(server.url, key, cheap('active d [sim:slow]'));
    expect(d.__typename).toBe('GenerateVideoSuccess');
    expect((await generate(server.url, key, cheap('active e [sim:slow]'))).__typename).toBe('TooManyActiveGenerationsError');
    for (const id of [b.generation!.id, d.generation!.id]) await post(server.url, CANCEL, { id }, bearer(key));
  });

  describe('idempotency', () => {
    const jobsFor = (prompt: string) => sim.simulator.jobs().filter((job) => job.input.prompt === prompt);

    it('returns the same generation for the same key and input, and Segmind gets one job', async () => {
      const { key, apiKey } = await createKeyIn(database.url);
      const prompt = `idempotent ${randomUUID()}`;
      const first = await generate(server.url, key, { prompt, idempotencyKey: 'order-1' });
      const second = await generate(server.url, key, { prompt, idempotencyKey: 'order-1' });
      expect(first.__typename).toBe('GenerateVideoSuccess');
      expect(second.generation!.id).toBe(first.generation!.id);
      await waitSubmitted(database, first.generation!.id);
      // After submission, with the defaults spelled out and the prompt padded: still the same generation.
      const spelled = await generate(server.url, key, {
        prompt: `  ${prompt}  `,
        durationSeconds: 8,
        generateAudio: true,
        aspectRatio: 'RATIO_16_9',
        resolution: 'RES_1080P',
        idempotencyKey: 'order-1',
      });
      expect(spelled.generation!.id).toBe(first.generation!.id);
      await sleep(200);
      expect(jobsFor(prompt)).toHaveLength(1);
      expect(await generationsOf(database, apiKey.id)).toHaveLength(1);
    });

    it('refuses the same key with a different input, naming the first generation', async () => {
      const { key, apiKey } = await createKeyIn(database.url);
      const first = await generate(server.url, key, { prompt: 'first use', durationSeconds: 4, idempotencyKey: 'reused' });
      const variants = [
        { prompt: 'a different prompt', durationSeconds: 4 },
        { prompt: 'first use', durationSeconds: 6 },
        { prompt: 'first use', durationSeconds: 4, seed: 7 },
      ];
      for (const variant of variants) {
        const reused = await generate(server.url, key, { ...variant, idempotencyKey: 'reused' });
        seenErrors.push(reused);
        expect(reused, JSON.stringify(variant)).toMatchObject({
          __typename: 'IdempotencyKeyReusedError',
          idempotencyKey: 'reused',
          generationId: first.generation!.id,
        });
        expect(reused.message).toContain(first.generation!.id);
      }
      expect(await generationsOf(database, apiKey.id)).toHaveLength(1);
    });

    it('makes one generation and one Segmind job from ten concurrent calls with one idempotency key', async () => {
      const { key, apiKey } = await createKeyIn(database.url);
      const prompt = `concurrent ${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => generate(server.url, key, { prompt, durationSeconds: 4, idempotencyKey: 'burst' })),
      );
      expect(results.map((r) => r.__typename)).toEqual(Array(10).fill('GenerateVideoSuccess'));
      expect(new Set(results.map((r) => r.generation!.id)).size).toBe(1);
      const rows = await generationsOf(database, apiKey.id);
      expect(rows).toHaveLength(1);
      await waitSubmitted(database, rows[0]!.id);
      expect(jobsFor(prompt)).toHaveLength(1);
    });

    it('gives another key using the same idempotency key its own generation', async () => {
      const one = await createKeyIn(database.url);
      const two = await createKeyIn(database.url);
      const input = { prompt: `shared key ${randomUUID()}`, durationSeconds: 4, idempotencyKey: 'same-for-both' };
      const a = await generate(server.url, one.key, input);
      const b = await generate(server.url, two.key, input);
      expect(a.__typename).toBe('GenerateVideoSuccess');
      expect(b.__typename).toBe('GenerateVideoSuccess');
      expect(b.generation!.id).not.toBe(a.generation!.id);
      expect((await generationsOf(database, one.apiKey.id)).map((r) => r.id)).toEqual([a.generation!.id]);
      expect((await generationsOf(database, two.apiKey.id)).map((r) => r.id)).toEqual([b.generation!.id]);
      // And the second key cannot reach the first key's generation through the shared idempotency key.
      const probe = await generate(server.url, two.key, { ...input, durationSeconds: 6 });
      expect(probe).toMatchObject({ __typename: 'IdempotencyKeyReusedError', generationId: b.generation!.id });
    });
  });

  it('checks every input rule at its boundary and writes nothing for a rejected request', async () => {
    const { key, apiKey } = await createKeyIn(database.url);
    const url = (length: number) => {
      const start = 'https://example.com/';
      return `${start}${'x'.repeat(length - start.length - 4)}.png`;
    };
    expect(url(2048)).toHaveLength(2048);
    const accepted: [string, Record<string, unknown>][] = [
      ['a prompt of exactly 2000 characters', { prompt: 'p'.repeat(2000) }],
      ['a padded prompt of 2000 characters', { prompt: `   ${'q'.repeat(2000)}\n\t` }],
      ['a negativePrompt of exactly 500 characters', { prompt: 'neg 500', negativePrompt: 'n'.repeat(500) }],
      ['an image URL of exactly 2048 characters', { prompt: 'url 2048', image: url(2048) }],
      ['a lastFrame URL of exactly 2048 characters', { prompt: 'last 2048', image: url(30), lastFrame: url(2048) }],
      ['the largest seed', { prompt: 'seed max', seed: 2147483647 }],
      ['seed 0', { prompt: 'seed zero', seed: 0 }],
      ['an idempotencyKey of 255 characters', { prompt: 'idem 255', idempotencyKey: 'k'.repeat(255) }],
      ['an upper-case HTTPS scheme', { prompt: 'upper scheme', image: 'HTTPS://EXAMPLE.COM/frame.png' }],
    ];
    const rejected: [string, Record<string, unknown>, string, RegExp][] = [
      ['a prompt of 2001 characters', { prompt: 'p'.repeat(2001) }, 'prompt', /at most 2000 characters long; got 2001/],
      ['an empty prompt', { prompt: '' }, 'prompt', /must not be empty/],
      ['a prompt of only whitespace', { prompt: ' \n\t ' }, 'prompt', /must not be empty/],
      ['a negativePrompt of 501 characters', { prompt: 'x', negativePrompt: 'n'.repeat(501) }, 'negativePrompt', /got 501/],
      ['an image URL of 2049 characters', { prompt: 'x', image: url(2049) }, 'image', /at most 2048 characters long; got 2049/],
      ['a lastFrame URL of 2049 characters', { prompt: 'x', image: url(30), lastFrame: url(2049) }, 'lastFrame', /got 2049/],
      ['a javascript: URL', { prompt: 'x', image: 'javascript:alert(document.cookie)' }, 'image', /http or https; got "javascript"/],
      ['a javascript: URL in upper case with a tab', { prompt: 'x', image: 'JAVA\tSCRIPT:alert(1)' }, 'image', /http or https/],
      ['a file: URL', { prompt: 'x', image: 'file:///etc/passwd' }, 'image', /got "file"/],
      ['a data: URL', { prompt: 'x', image: 'data:image/png;base64,iVBORw0KGgo=' }, 'image', /got "data"/],
      ['an ftp: URL', { prompt: 'x', image: 'ftp://example.com/a.png' }, 'image', /got "ftp"/],
      ['a URL with user and password', { prompt: 'x', image: 'https://user:pass@example.com/x.png' }, 'image', /user name or password/],
      ['a URL with a user name only', { prompt: 'x', image: 'https://admin@example.com/x.png' }, 'image', /user name or password/],
      ['a scheme-relative URL', { prompt: 'x', image: '//example.com/x.png' }, 'image', /absolute http\(s\) URL/],
      ['a javascript: lastFrame', { prompt: 'x', image: url(30), lastFrame: 'javascript:alert(1)' }, 'lastFrame', /http or https/],
      ['a lastFrame without image', { prompt: 'x', lastFrame: url(30) }, 'lastFrame', /needs image/],
      ['seed -1', { prompt: 'x', seed: -1 }, 'seed', /from 0 to 2147483647; got -1/],
      ['a duration of 5', { prompt: 'x', durationSeconds: 5 }, 'durationSeconds', /4, 6 or 8; got 5/],
      ['a duration of 0', { prompt: 'x', durationSeconds: 0 }, 'durationSeconds', /got 0/],
      ['a negative duration', { prompt: 'x', durationSeconds: -8 }, 'durationSeconds', /got -8/],
      ['an empty idempotencyKey', { prompt: 'x', idempotencyKey: '' }, 'idempotencyKey', /1 to 255/],
      ['an idempotencyKey of 256 characters', { prompt: 'x', idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey', /1 to 255/],
      ['a javascript: webhookUrl', { prompt: 'x', webhookUrl: 'javascript:alert(1)' }, 'webhookUrl', /absolute https URL/],
      ['a webhookUrl on the metadata address', { prompt: 'x', webhookUrl: 'https://169.254.169.254/latest/' }, 'webhookUrl', /link-local/],
      ['a webhookUrl of 2049 characters', { prompt: 'x', webhookUrl: url(2049) }, 'webhookUrl', /at most 2048 characters long; got 2049/],
      ['an empty webhookEvents', { prompt: 'x', webhookUrl: url(30), webhookEvents: [] }, 'webhookEvents', /at least one status/],
    ];
    // Values GraphQL itself refuses before any resolver runs.
    const invalid: [string, Record<string, unknown>][] = [
      ['seed 2147483648', { prompt: 'x', seed: 2147483648 }],
      ['a fractional seed', { prompt: 'x', seed: 1.5 }],
      ['a string duration', { prompt: 'x', durationSeconds: '8' }],
      ['an unknown aspect ratio', { prompt: 'x', aspectRatio: 'RATIO_4_3' }],
      ['a prompt that is an object', { prompt: { $gt: '' } }],
      ['an unknown input field', { prompt: 'x', callbackUrl: 'https://evil.example/' }],
    ];

    for (const [what, input, field, message] of rejected) {
      const result = await generate(server.url, key, input);
      seenErrors.push(result);
      expect(result.__typename, what).toBe('InputError');
      expect(result.field, what).toBe(field);
      expect(result.message, what).toMatch(message);
    }
    for (const [what, input] of invalid) {
      const { body } = await post(server.url, GENERATE, { input }, bearer(key));
      seenErrors.push(body);
      expect(body.errors?.length, what).toBeGreaterThan(0);
      expect(body.data ?? null, what).toBeNull();
    }
    expect(await generationsOf(database, apiKey.id)).toEqual([]);

    for (const [what, input] of accepted) {
      const result = await generate(server.url, key, input);
      expect(result.__typename, `${what}: ${result.message}`).toBe('GenerateVideoSuccess');
    }
    const rows = await generationsOf(database, apiKey.id);
    expect(rows).toHaveLength(accepted.length);
    const [{ events }] = await database.sql<[{ events: number }]>`
      select count(*)::int as events from generation_events e join generations g on g.id = e.generation_id
      where g.api_key_id = ${apiKey.id} and e.type = 'created'`;
    expect(events).toBe(accepted.length);
  });
});

describe.skipIf(!hasPostgres)('the server-wide daily budget', () => {
  const started: { server: TestApp; database: TestDatabase }[] = [];
  async function start() {
    const database = await createTestDatabase();
    const server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api', DAILY_BUDGET_USD: '1' });
    started.push({ server, database });
    return { server, database };
  }
  afterAll(async () => {
    for (const { server, database } of started) {
      await server.stop();
      await database.drop();
    }
  });

  it('counts every key against DAILY_BUDGET_USD and refuses with scope SERVER', async () => {
    const { server, database } = await start();
    const one = await createKeyIn(database.url);
    const two = await createKeyIn(database.url);
    expect((await generate(server.url, one.key, cheap('server one'))).__typename).toBe('GenerateVideoSuccess');
    expect((await generate(server.url, two.key, cheap('server two'))).__typename).toBe('GenerateVideoSuccess');
    for (const key of [one.key, two.key, server.key]) {
      const refused = await generate(server.url, key, cheap('server three'));
      seenErrors.push(refused);
      expect(refused).toMatchObject({
        __typename: 'BudgetExceededError',
        scope: 'SERVER',
        limit: { amount: '1.00' },
        used: { amount: '0.80' },
        price: { amount: '0.40' },
        resetsAt: nextUtcMidnight().toISOString(),
      });
    }
    const [{ n }] = await database.sql<[{ n: number }]>`select count(*)::int as n from generations`;
    expect(n).toBe(2);
  });

  it('lets exactly two of ten concurrent requests from five keys through a $1.00 server budget', async () => {
    const { server, database } = await start();
    const keys = await Promise.all(Array.from({ length: 5 }, () => createKeyIn(database.url)));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => generate(server.url, keys[i % 5]!.key, cheap(`server race ${i}`))),
    );
    expect(results.filter((r) => r.__typename === 'GenerateVideoSuccess')).toHaveLength(2);
    expect(results.filter((r) => r.__typename === 'BudgetExceededError' && r.scope === 'SERVER')).toHaveLength(8);
    const [{ n, usd }] = await database.sql<[{ n: number; usd: string }]>`
      select count(*)::int as n, coalesce(sum(cost_usd), 0)::text as usd from generations`;
    expect(n).toBe(2);
    expect(Number(usd)).toBeLessThanOrEqual(1.0);
  });
});

describe.skipIf(!hasPostgres)('uploaded frames', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let proxy: RecordingProxy;
  let server: TestApp;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    // Uploads go through a recording proxy, so the test sees every one that reached "Segmind".
    proxy = await startRecordingProxy(sim.simulator.url);
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, SEGMIND_UPLOAD_URL: `${proxy.url}/upload-asset`, ROLE: 'api' });
    ({ key, apiKey: { id: keyId } } = await createKeyIn(database.url));
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const uploads = () => proxy.count('POST', /^\/upload-asset/);
  const rows = async () => (await generationsOf(database, keyId)).length;
  const send = (input: Record<string, unknown>, files: UploadPart[], headers: Record<string, string> = bearer(key)) =>
    postMultipart<{ generateVideo: GenerateResult }>(server.url, GENERATE, { input }, files, headers);
  const frame = (kind: 'png' | 'jpeg' | 'webp', field = 'imageFile', size?: number): UploadPart => ({
    path: `input.${field}`,
    bytes: imageBytes(kind, size),
    filename: `frame.${kind}`,
    type: `image/${kind}`,
  });

  it('accepts a real PNG, JPEG and WebP and stores the simulator’s asset URL as the image', async () => {
    for (const [kind, extension] of [['png', 'png'], ['jpeg', 'jpg'], ['webp', 'webp']] as const) {
      const before = uploads();
      const part = frame(kind);
      const { status, body } = await send({ prompt: `uploaded ${kind}`, durationSeconds: 4 }, [part]);
      expect(status, JSON.stringify(body)).toBe(200);
      const result = body.data!.generateVideo;
      expect(result.__typename, JSON.stringify(result)).toBe('GenerateVideoSuccess');
      const image = result.generation!.image!;
      expect(image.startsWith(`${sim.simulator.url}/files/assets/`), image).toBe(true);
      expect(image.endsWith(`.${extension}`)).toBe(true);
      expect(uploads()).toBe(before + 1);
      const stored = await fetch(image);
      expect(stored.headers.get('content-type')).toBe(`image/${kind}`);
      expect(Buffer.from(await stored.arrayBuffer()).equals(Buffer.from(part.bytes))).toBe(true);
    }
    // Both frames in one request.
    const both = await send({ prompt: 'first and last', durationSeconds: 4 }, [frame('png'), frame('jpeg', 'lastFrameFile')]);
    const generation = both.body.data!.generateVideo.generation!;
    expect(generation.image).toMatch(/\/files\/assets\/.+\.png$/);
    expect(generation.lastFrame).toMatch(/\/files\/assets\/.+\.jpg$/);
  });

  it('treats a different uploaded frame under the same idempotency key as a different input', async () => {
    const input = { prompt: `idempotent upload ${randomUUID()}`, durationSeconds: 4, idempotencyKey: 'upload-once' };
    const first = await send(input, [frame('png')]);
    const firstId = first.body.data!.generateVideo.generation!.id;
    const uploadsBefore = uploads();
    const same = await send(input, [frame('png')]);
    expect(same.body.data!.generateVideo.generation?.id).toBe(firstId);
    // The repeat is answered before its frame would be uploaded again.
    expect(uploads()).toBe(uploadsBefore);
    // Another picture is another request: it must not silently come back as the first one's video.
    const other = await send(input, [frame('jpeg')]);
    expect(other.body.data!.generateVideo).toMatchObject({ __typename: 'IdempotencyKeyReusedError', generationId: firstId });
  });

  it('refuses a request over its budget before uploading its frames', async () => {
    const poor = await createKeyIn(database.url, { dailyBudgetUsd: 0.3 });
    const before = uploads();
    const { body } = await send({ prompt: 'too dear to upload', durationSeconds: 4, generateAudio: false }, [frame('png')], bearer(poor.key));
    expect(body.data!.generateVideo).toMatchObject({ __typename: 'BudgetExceededError', scope: 'KEY' });
    expect(uploads()).toBe(before);
    expect(await generationsOf(database, poor.apiKey.id)).toHaveLength(0);
  });

  it('refuses a bad upload with an InputError before anything is sent to Segmind', async () => {
    const before = { uploads: uploads(), rows: await rows() };
    const text: UploadPart = { path: 'input.imageFile', bytes: Buffer.from('just some text, honest\n'), filename: 'cat.png', type: 'image/png' };
    const html: UploadPart = { path: 'input.imageFile', bytes: Buffer.from('<svg onload=alert(1)>'), filename: 'x.png', type: 'image/png' };
    const empty: UploadPart = { path: 'input.imageFile', bytes: new Uint8Array(0), filename: 'empty.png', type: 'image/png' };
    // A real PNG header, but 21 MB.
    const huge = frame('png', 'imageFile', 21 * 1024 * 1024);
    const cases: [string, Record<string, unknown>, UploadPart[], string, RegExp][] = [
      ['a text file renamed .png', { prompt: 'x' }, [text], 'imageFile', /JPEG, PNG or WebP/],
      ['markup renamed .png', { prompt: 'x' }, [html], 'imageFile', /JPEG, PNG or WebP/],
      ['an empty file', { prompt: 'x' }, [empty], 'imageFile', /empty/],
      ['a 21 MB file', { prompt: 'x' }, [huge], 'imageFile', /at most 20 MB/],
      ['image and imageFile together', { prompt: 'x', image: 'https://example.com/a.png' }, [frame('png')], 'imageFile', /not both/],
      ['a lastFrameFile without a first frame', { prompt: 'x' }, [frame('png', 'lastFrameFile')], 'lastFrame', /needs image/],
      ['a good frame with a bad prompt', { prompt: '   ' }, [frame('png')], 'prompt', /must not be empty/],
      ['a good frame with a bad duration', { prompt: 'x', durationSeconds: 5 }, [frame('png')], 'durationSeconds', /4, 6 or 8/],
    ];
    for (const [what, input, files, field, message] of cases) {
      const { status, body } = await send(input, files);
      expect(status, what).toBe(200);
      const result = body.data?.generateVideo;
      seenErrors.push(body);
      expect(result?.__typename, `${what}: ${JSON.stringify(body)}`).toBe('InputError');
      expect(result?.field, what).toBe(field);
      expect(result?.message, what).toMatch(message);
      expect(uploads(), `${what} was uploaded`).toBe(before.uploads);
    }
    expect(await rows()).toBe(before.rows);
  });

  it('refuses a multipart request without a key before reading it, and what a cross-site page could send with credentials', async () => {
    const before = { uploads: uploads(), rows: await rows() };
    // Without a key, with or without the CSRF header: refused as unauthenticated, the frame never leaves the server.
    for (const headers of [{}, { 'x-graphql-yoga-csrf': '1' }] as Record<string, string>[]) {
      const anonymous = await send({ prompt: 'anonymous' }, [frame('png')], headers);
      seenErrors.push(anonymous.body);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    // The requests a cross-site page can send without a preflight, with a cookie the browser would attach: refused
    // before anything runs, and the answer names the header to send.
    const query = encodeURIComponent('{ generations { edges { node { id } } } }');
    const cookie = { cookie: 'session=1' };
    const forgedGet = await fetch(`${server.url}/graphql?query=${query}`, { headers: cookie });
    expect(forgedGet.status).toBe(403);
    expect(((await forgedGet.json()) as GraphqlBody<unknown>).errors?.[0]?.extensions?.code).toBe('CSRF_PREVENTED');
    const textPlain = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...cookie },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'text/plain' } } }),
    });
    expect(textPlain.status).toBe(403);
    const form = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...cookie },
      body: `query=${query}`,
    });
    expect(form.status).toBe(403);
    expect(uploads()).toBe(before.uploads);
    expect(await rows()).toBe(before.rows);
    const [{ n }] = await database.sql<[{ n: number }]>`select count(*)::int as n from generations where prompt in ('cross-site', 'anonymous', 'text/plain')`;
    expect(n).toBe(0);
  });

  it('refuses request bodies over the limits before reading them', async () => {
    const head = (contentType: string, length: number) =>
      `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n${Object.entries(bearer(key))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
    const json = await rawHttp(server.url, head('application/json', 1024 * 1024 + 1));
    expect(json.status).toBe(413);
    expect(json.text).toContain('BAD_REQUEST');
    const multipart = await rawHttp(server.url, head('multipart/form-data; boundary=x', 42 * 1024 * 1024));
    expect(multipart.status).toBe(413);
    const chunked = await rawHttp(
      server.url,
      `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      '5\r\n{"a":\r\n0\r\n\r\n',
    );
    expect(chunked.status).toBe(411);
    // Just under the JSON limit is read and answered (here: a prompt that is too long).
    const big = JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'a'.repeat(1_000_000) } } });
    expect(big.length).toBeLessThan(1024 * 1024);
    const answered = await post(server.url, GENERATE, { input: { prompt: 'a'.repeat(1_000_000) } }, bearer(key));
    expect(answered.body.data!.generateVideo.field).toBe('prompt');
  });
});

describe.skipIf(!hasPostgres)('GraphQL limits over HTTP and WebSocket', () => {
  let database: TestDatabase;
  let server: TestApp;
  let queued: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: generations stay QUEUED, so subscriptions to them stay open.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    queued = (await generate(server.url, server.key, cheap('stays queued'))).generation!.id;
  });
  afterAll(async () => {
    await Promise.all(clients.map(async (c) => {
      await c.dispose();
    }));
    await server?.stop();
    await database?.drop();
  });

  const client = (key = server.key) => {
    const c = createWsClient(server.url, { key: key });
    clients.push(c);
    return c;
  };

  /** A live subscription: resolves `first` on its first result, `error` if refused. */
  function hold(c: Client, id = queued) {
    let unsubscribe = () => {};
    const state = { results: 0, errors: undefined as unknown, completed: false };
    const settled = new Promise<'open' | 'error'>((resolve) => {
      unsubscribe = c.subscribe(
        { query: `subscription($id: ID!) { generationStatus(id: $id) { id status } }`, variables: { id } },
        {
          next: () => {
            state.results += 1;
            resolve('open');
          },
          error: (error) => {
            state.errors = error;
            resolve('error');
          },
          complete: () => {
            state.completed = true;
          },
        },
      );
    });
    return { settled, state, unsubscribe: () => unsubscribe() };
  }

  /** `__type(name: "Generation") { fields { type { ofType { … name } } } }` with `depth` field levels. */
  const deepType = (depth: number) =>
    `{ __type(name: "Generation") { fields { type { ${'ofType { '.repeat(depth - 4)}name${' }'.repeat(depth - 4)} } } } }`;
  /** The same depth, spread over fragments: they must not hide it. */
  const deepFragments = (depth: number) => {
    const levels = depth - 3;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment L${i} on __Type { name }` : `fragment L${i} on __Type { ofType { ...L${i + 1} } }`,
    );
    return `{ __type(name: "Generation") { fields { type { ...L0 } } } } ${fragments.join(' ')}`;
  };
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `g${i}: generation(id: "${queued}") { id }`).join(' ')} }`;
  const aliasesInFragments = `{ ...A ...B } fragment A on Query { ${Array.from({ length: 8 }, (_, i) => `a${i}: generations { nodes { id } }`).join(' ')} }
    fragment B on Query { ${Array.from({ length: 8 }, (_, i) => `b${i}: estimateCost(input: { prompt: "x" }) { amount }`).join(' ')} }`;
  /** About 15 tokens plus one per listed status. */
  const statuses = (n: number) => `{ generations(status: [${'QUEUED '.repeat(n)}]) { nodes { id } } }`;
  const manyTokens = statuses(2000);

  it('refuses a too deep, too aliased or too long query over HTTP and allows the ones at the limit', async () => {
    const ok = async (query: string) => {
      const { body } = await post(server.url, query, {}, bearer(server.key));
      expect(body.errors, query.slice(0, 80)).toBeUndefined();
    };
    await ok(deepType(12));
    await ok(aliases(15));
    await ok(statuses(1980));

    const refused: [string, RegExp][] = [
      [deepType(13), /Query depth limit of 12 exceeded, found 13/],
      [deepType(40), /Query depth limit of 12 exceeded/],
      [deepFragments(13), /Query depth limit of 12 exceeded, found 13/],
      [aliases(16), /Aliases limit of 15 exceeded, found 16/],
      [aliasesInFragments, /Aliases limit of 15 exceeded, found 16/],
      [manyTokens, /Token limit of 2000 exceeded/],
    ];
    for (const [query, message] of refused) {
      const { body } = await post(server.url, query, {}, bearer(server.key));
      seenErrors.push(body);
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.message, query.slice(0, 80)).toMatch(message);
    }
  });

  it('gives an ordinary page query the same cost verdict however it is written', async () => {
    const fields = `id status progress etaSeconds prompt negativePrompt image lastFrame aspectRatio durationSeconds resolution
      generateAudio seed idempotencyKey attempts provider costIsFinal cost { amount currency } video { url contentType sizeBytes }
      error { code message retryable } events { type status message version } createdAt updatedAt completedAt`;
    const page = (first: string, node: string) => `query${first === '$n' ? '($n: Int)' : ''} { generations(first: ${first}) { edges { cursor node { ${node} } } pageInfo { hasNextPage endCursor } } }`;
    const fragment = 'fragment G on Generation { ' + fields + ' }';
    const verdicts: Record<string, string> = {};
    const variants: [string, string, number][] = [
      ['20, inline', page('20', fields), 20],
      ['20, through a named fragment', `${page('20', '...G')} ${fragment}`, 20],
      ['20, as a variable', page('$n', fields), 20],
      ['100 (the largest page), inline', page('100', fields), 100],
      ['100, as a variable', page('$n', fields), 100],
    ];
    for (const [what, query, n] of variants) {
      const { body } = await post(server.url, query, { n }, bearer(server.key));
      verdicts[what] = body.errors?.[0]?.message ?? 'allowed';
    }
    // The resolver already caps a page at 100, so every legitimate page is allowed, whichever way it is spelled.
    expect(verdicts).toEqual(Object.fromEntries(variants.map(([what]) => [what, 'allowed'])));
  });

  it('answers the same refusals over WebSocket as errors of that operation, keeping the connection and its other subscriptions', async () => {
    const refused: [string, string][] = [
      ['too deep', deepType(13)],
      ['too deep through fragments', deepFragments(13)],
      ['too many aliases', aliases(16)],
      ['too many aliases through fragments', aliasesInFragments],
      ['too many tokens', manyTokens],
    ];
    const problems: string[] = [];
    for (const [what, query] of refused) {
      // Each on its own connection, next to a live subscription that must survive it.
      const c = client();
      const kept = hold(c);
      expect(await kept.settled).toBe('open');
      let closedWith: number | undefined;
      c.on('closed', (event) => (closedWith = (event as { code: number }).code));
      const { body: overHttp } = await post(server.url, query, {}, bearer(server.key));
      const overWs = await collectWs(c, query, {}, 3000).catch(() => ({ results: [] as GraphqlBody<unknown>[], completed: false }));
      seenErrors.push(overWs.results);
      await sleep(50);
      const httpMessage = overHttp.errors?.[0]?.message;
      const wsMessage = overWs.results[0]?.errors?.[0]?.message;
      if (!httpMessage) problems.push(`${what}: HTTP allowed it`);
      if (wsMessage !== httpMessage) problems.push(`${what}: HTTP "${httpMessage}", WebSocket "${wsMessage ?? 'no error message'}"`);
      if (closedWith !== undefined) problems.push(`${what}: the socket was closed with ${closedWith}`);
      if (kept.state.errors !== undefined || kept.state.completed) problems.push(`${what}: the other subscription ended`);
    }
    expect(problems).toEqual([]);
  });

  it('closes a socket whose message is over 64 KiB, and takes one just under it', async () => {
    const connect = async () => {
      const raw = openRawSocket(server.url);
      await raw.openedAt;
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${server.key}` } });
      await waitFor('ack', () => (raw.messages.some((m) => m.type === 'connection_ack') ? true : undefined));
      return raw;
    };
    const query = 'query($id: ID!) { generation(id: $id) { id } }';
    const fits = await connect();
    const filler = 'f'.repeat(60 * 1024);
    fits.send({ id: '1', type: 'subscribe', payload: { query, variables: { id: filler } } });
    await waitFor('the answer', () => (fits.messages.some((m) => m.type === 'complete') ? true : undefined));
    expect(fits.messages.find((m) => m.type === 'next')?.payload).toEqual({ data: { generation: null } });
    fits.socket.close();

    const tooBig = await connect();
    tooBig.send({ id: '1', type: 'subscribe', payload: { query, variables: { id: 'f'.repeat(64 * 1024) } } });
    const closed = await tooBig.closed;
    expect(closed.code).toBe(1009);
    expect(tooBig.messages.filter((m) => m.type !== 'connection_ack')).toEqual([]);
  });

  it('closes a socket that never sends ConnectionInit after about 5 seconds with 4408', async () => {
    const raw = openRawSocket(server.url);
    const opened = await raw.openedAt;
    const closed = await raw.closed;
    expect(closed.code).toBe(4408);
    expect(closed.at - opened).toBeGreaterThan(4500);
    expect(closed.at - opened).toBeLessThan(7000);
  }, 15_000);

  it('runs 20 subscriptions on one connection and refuses the 21st, until one ends', async () => {
    const c = client();
    const held = Array.from({ length: 20 }, () => hold(c));
    const outcomes = await Promise.all(held.map((h) => h.settled));
    expect(outcomes.filter((o) => o === 'open'), `refused: ${JSON.stringify(held.find((h) => h.state.errors)?.state.errors)}`).toHaveLength(20);
    const extra = hold(c);
    expect(await extra.settled).toBe('error');
    seenErrors.push(extra.state.errors);
    expect((extra.state.errors as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(JSON.stringify(extra.state.errors)).toContain('At most 20 operations');
    // Everything else on the connection is still live.
    expect(held.every((h) => h.state.errors === undefined && !h.state.completed)).toBe(true);

    held[0]!.unsubscribe();
    // The server frees the slot once it has the unsubscribe; a refused try holds no slot.
    await waitFor('the freed slot to take a new subscription', async () => ((await hold(c).settled) === 'open' ? true : undefined));
    held.forEach((h) => h.unsubscribe());
  });

  it('limits one key to 100 subscriptions across connections, and frees them when the sockets close', async () => {
    const { key } = await createKeyIn(database.url);
    const own = (await generate(server.url, key, cheap('watched a lot'))).generation!.id;
    const connections = Array.from({ length: 10 }, () => createWsClient(server.url, { key: key }));
    try {
      const held = connections.flatMap((c) => Array.from({ length: 10 }, () => hold(c, own)));
      expect((await Promise.all(held.map((h) => h.settled))).filter((o) => o === 'open')).toHaveLength(100);
      const another = createWsClient(server.url, { key: key });
      connections.push(another);
      const extra = hold(another, own);
      expect(await extra.settled).toBe('error');
      expect(JSON.stringify(extra.state.errors)).toContain('At most 100 generationStatus subscriptions may be open at once for one API key');
      // Another key is not limited by this one.
      expect(await hold(client(), queued).settled).toBe('open');
    } finally {
      await Promise.all(connections.map(async (c) => {
        await c.dispose();
      }));
    }
    const fresh = createWsClient(server.url, { key: key });
    clients.push(fresh);
    // The server frees the slots as it sees each socket close: ten fit again once it has seen them all.
    const again: string[] = [];
    await waitFor('the closed sockets to free their slots', async () => {
      while (again.length < 10) {
        if ((await hold(fresh, own).settled) !== 'open') return undefined; // a refused try holds no slot
        again.push('open');
      }
      return true;
    });
    expect(again).toEqual(Array(10).fill('open'));
  });

  it('counts subscriptions over SSE against the same per-key limit, so switching transport does not lift it', async () => {
    const { key } = await createKeyIn(database.url);
    const own = (await generate(server.url, key, cheap('watched over SSE'))).generation!.id;
    const subscribe = () => openSse(server.url, key, `subscription($id: ID!) { generationStatus(id: $id) { id } }`, { id: own });
    const streams = Array.from({ length: 100 }, subscribe);
    const ws = createWsClient(server.url, { key: key });
    clients.push(ws);
    try {
      expect((await Promise.all(streams.map((s) => s.settled))).filter((o) => o === 'open')).toHaveLength(100);
      const overSse = subscribe();
      streams.push(overSse);
      const overWs = hold(ws, own);
      expect({ sse: await overSse.settled, webSocket: await overWs.settled }).toEqual({ sse: 'error', webSocket: 'error' });
    } finally {
      streams.forEach((s) => s.close());
      await Promise.all(streams.map((s) => s.settled.catch(() => undefined)));
    }
  });

  it('answers a forged page cursor as bad input, not as an internal error', async () => {
    for (const iso of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
      const after = Buffer.from(`${iso}|${randomUUID()}`).toString('base64url');
      const { body } = await post(server.url, 'query($after: String) { generations(after: $after) { nodes { id } } }', { after }, bearer(server.key));
      expect(body.errors?.[0]?.extensions?.code, `${iso}: ${JSON.stringify(body).slice(0, 300)}`).toBe('BAD_USER_INPUT');
    }
  });
});

describe.skipIf(!hasPostgres)('errors a client sees in production', () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api', NODE_ENV: 'production' });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('never carry a stack trace, SQL or a field suggestion, even for an unexpected failure', async () => {
    const bodies: unknown[] = [];
    // A cursor whose date Postgres cannot store makes the query itself fail.
    const after = Buffer.from(`-271821-04-20T00:00:00.000Z|${randomUUID()}`).toString('base64url');
    const failing = await post(server.url, 'query($after: String) { generations(after: $after) { nodes { id } } }', { after }, bearer(server.key));
    bodies.push(failing.body);
    expect(failing.body.errors?.length).toBeGreaterThan(0);
    bodies.push((await post(server.url, '{ generatons { nodes { id } } }', {}, bearer(server.key))).body);
    bodies.push((await post(server.url, '{ generation(id: 1) { idd } }', {}, bearer(server.key))).body);
    bodies.push((await post(server.url, '{ generations { nodes { id } } }', {}, {})).body);
    const text = JSON.stringify(bodies);
    expect(text).not.toMatch(leakPattern);
    expect(text).not.toMatch(/did you mean/i);
    expect(text).not.toContain('originalError');
  });
});

describe.skipIf(!hasPostgres)('downloading results only from allowed hosts', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 150 });
    // The simulator serves results from 127.0.0.1, which this server does not allow.
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, SEGMIND_OUTPUT_HOSTS: '*.segmind.com,storage.googleapis.com' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('fails the generation with STORAGE_FAILED and never fetches a video from a host off the list', async () => {
    const created = await generate(server.url, server.key, cheap('from the wrong host'));
    const c = createWsClient(server.url, { key: server.key });
    const { results, completed } = await collectWs(c, WATCH, { id: created.generation!.id }, 15_000);
    await c.dispose();
    expect(completed).toBe(true);
    const final = results.at(-1)!.data!.generationStatus;
    expect(final.status).toBe('FAILED');
    expect(final.error).toMatchObject({ code: 'STORAGE_FAILED', retryable: false });
    expect(final.video).toBeNull();
    // Segmind did finish the job: the result was there to be fetched, and was not.
    expect(sim.simulator.jobs().find((job) => job.input.prompt === 'from the wrong host')?.status).toBe('COMPLETED');
    expect(existsSync(path.join(server.dataDir, 'videos', `${final.id}.mp4`))).toBe(false);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/reelql_segmind_request_duration_seconds_count\{endpoint="result",status="200"\} [1-9]/);
    expect(metrics).not.toMatch(/endpoint="download"/);
  });

  it('allows https on listed hosts only, and plain http only for a listed loopback host', () => {
    const policy = { allowedHosts: ['*.segmind.com', 'storage.googleapis.com', '127.0.0.1:9000'] };
    const allowed = [
      'https://a.segmind.com/v.mp4',
      'https://deep.cdn.segmind.com/v.mp4',
      'https://A.SEGMIND.COM/v.mp4',
      'https://storage.googleapis.com/bucket/v.mp4',
      'http://127.0.0.1:9000/v.mp4',
      'http://2130706433:9000/v.mp4',
    ];
    const refused = [
      'https://segmind.com/v.mp4',
      'https://evilsegmind.com/v.mp4',
      'https://segmind.com.evil.example/v.mp4',
      'https://a.segmind.com.evil.example/v.mp4',
      'https://a.segmind.com@evil.example/v.mp4',
      'http://a.segmind.com/v.mp4',
      'http://storage.googleapis.com/v.mp4',
      'https://storage.googleapis.com.evil.example/v.mp4',
      'https://bucket.storage.googleapis.com/v.mp4',
      'http://127.0.0.1:9001/v.mp4',
      'http://localhost/v.mp4',
      'http://[::1]/v.mp4',
      'http://169.254.169.254/latest/meta-data/',
      'ftp://a.segmind.com/v.mp4',
      'file:///etc/passwd',
    ];
    for (const url of allowed) expect(() => assertDownloadable(new URL(url), policy), url).not.toThrow();
    for (const url of refused) expect(() => assertDownloadable(new URL(url), policy), url).toThrow(UnsafeDownloadError);
    expect(hostAllowed(new URL('https://a.segmind.com/'), ['*.segmind.com'])).toBe(true);
    expect(hostAllowed(new URL('https://evilsegmind.com/'), ['*.segmind.com'])).toBe(false);
    expect(hostAllowed(new URL('https://segmind.com/'), ['*.segmind.com'])).toBe(false);
    expect(hostAllowed(new URL('https://anything.example/'), [])).toBe(false);
  });

  it('checks every redirect hop over real HTTP, so a listed host cannot bounce the download elsewhere', async () => {
    const hits: string[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> => {
      const s = createServer(handler);
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
      return { server: s, port: (s.address() as AddressInfo).port };
    };
    const target = await listen((req, res) => {
      hits.push(req.url ?? '');
      res.end('secret');
    });
    const bouncer = await listen((req, res) => {
      const to: Record<string, string> = {
        '/to-unlisted': `http://localhost:${target.port}/internal`,
        '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
        '/to-https-elsewhere': 'https://evil.example/v.mp4',
        '/loop': '/loop',
        '/to-self': '/video.mp4',
      };
      if (req.url === '/video.mp4') return void res.end('video');
      res.writeHead(302, { location: to[req.url ?? ''] ?? '/' }).end();
    });
    try {
      const policy = { allowedHosts: [`127.0.0.1:${bouncer.port}`] };
      const base = `http://127.0.0.1:${bouncer.port}`;
      const signal = AbortSignal.timeout(5000);
      for (const hop of ['/to-unlisted', '/to-metadata', '/to-https-elsewhere']) {
        await expect(safeDownload(`${base}${hop}`, policy, fetch, signal), hop).rejects.toThrow(UnsafeDownloadError);
      }
      await expect(safeDownload(`${base}/loop`, policy, fetch, signal)).rejects.toThrow(/too many redirects/);
      const followed = await safeDownload(`${base}/to-self`, policy, fetch, signal);
      expect(await followed.text()).toBe('video');
      expect(hits).toEqual([]);
    } finally {
      for (const s of [target.server, bouncer.server]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    }
  });
});

describe('every refusal seen in this file', () => {
  it('carries no stack trace and no SQL', () => {
    expect(seenErrors.length).toBeGreaterThan(0);
    for (const error of seenErrors) expect(JSON.stringify(error)).not.toMatch(leakPattern);
  });
});
