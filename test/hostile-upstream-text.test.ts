import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatorFault } from '../src/segmind/simulator/index.js';
import { cleanUpstreamText } from '../src/segmind/upstream-text.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient, GENERATE, type TestGeneration as Generation, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { imageBytes, postMultipart } from './helpers/multipart.js';
import { startSimulator } from './helpers/simulator.js';

/** The Segmind key of these tests: hostile answers echo it, and it must never come back out. */
const API_KEY = 'sk-hostile-echo-0123456789abcdef';
const INPUT = { durationSeconds: 4, generateAudio: false };
const SUBMIT_PATH = /^\/v2\/veo-3\.1-fast$/;

/** Characters no stored or shown text may carry: NUL, other C0 controls but tab and newline, DEL, C1, lone surrogates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_TEXT = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe.skipIf(!hasPostgres)('text and addresses from a hostile upstream', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let proxy: RecordingProxy;
  let server: TestApp;
  let ws: Client;
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 300, apiKey: API_KEY, credits: 1000 });
    proxy = await startRecordingProxy(sim.simulator.url);
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      SEGMIND_BASE_URL: proxy.url,
      SEGMIND_UPLOAD_URL: `${proxy.url}/upload-asset`,
      SEGMIND_REQUEST_TIMEOUT_MS: '1000',
      // Retries of an unusable result wait at most this long, so the bounded tries end within a second or two.
      SEGMIND_POLL_MAX_MS: '200',
      // One slot: a job that runs after a hostile one shows that the slot was given back.
      WORKER_CONCURRENCY: '1',
    });
    ws = createWsClient(server.url, { key: server.key });
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await ws?.dispose();
    await server?.stop();
    await proxy?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });
  beforeEach(() => sim.simulator.reset());

  async function create(prompt: string): Promise<Generation> {
    const created = await server.graphql<{ generateVideo: { __typename: string; generation?: Generation } }>(GENERATE, {
      input: { prompt, ...INPUT },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
    return created.data!.generateVideo.generation!;
  }

  async function untilFinal(id: string, timeoutMs = 12_000): Promise<Generation> {
    const { results, completed } = await collectWs<{ generationStatus: Generation }>(ws, WATCH, { id }, timeoutMs);
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(completed, 'the generation did not become final in time').toBe(true);
    return results.at(-1)!.data!.generationStatus;
  }

  const logsSince = (index: number) => server.logs.slice(index).join('\n');
  const crashes = (logs: string) => logs.split('\n').filter((line) => line.includes('generation run crashed'));

  /** Nothing about the generation, as stored or as shown, carries unsafe text or the key. */
  async function expectCleanRow(id: string, final: Generation): Promise<void> {
    const [row] = await sql<{ error_message: string | null; output_url: string | null }[]>`
      select error_message, output_url from generations where id = ${id}`;
    for (const text of [final.error?.message ?? '', row!.error_message ?? '', ...final.events.map((e) => e.message)]) {
      expect(text).not.toMatch(UNSAFE_TEXT);
      expect(text).not.toContain(API_KEY);
    }
  }

  describe('a FAILED status whose error message is hostile', () => {
    const messages: [string, string][] = [
      ['contains a NUL character', 'the model gave up\u0000 here'],
      ['is 100 KB long', `the model gave up: ${'x'.repeat(100_000)}`],
      ['is an HTML page with terminal escapes', '<html><script>alert(1)</script>\u001b[2J\u001b]0;owned\u0007 gave up</html>'],
      ['has a lone surrogate', 'the model gave up \uD800 here'],
      ['echoes the API key', `upstream worker rejected key ${API_KEY} for this job`],
    ];

    it.each(messages)('fails a job whose error message %s with our own words and a short, clean excerpt', async (name, error) => {
      const since = server.logs.length;
      sim.simulator.injectFault({ endpoint: 'status', merge: { status: 'FAILED', error } });
      const generation = await create(`a paper boat, failed with a message that ${name}`);
      const final = await untilFinal(generation.id);

      expect(final.status).toBe('FAILED');
      expect(final.error?.code).toBe('GENERATION_FAILED');
      expect(final.error!.message).toMatch(/^Segmind reported that the generation failed/);
      expect(final.error!.message.length).toBeLessThanOrEqual(400);
      await expectCleanRow(generation.id, final);
      const logs = logsSince(since);
      expect(crashes(logs)).toEqual([]);
      expect(logs).not.toContain(API_KEY);
      expect(logs).not.toMatch(/\\u0000/);
    });

    it('keeps a safety block recognizable: its support code is in the excerpt and the code is CONTENT_BLOCKED', async () => {
      sim.simulator.injectFault({
        endpoint: 'status',
        merge: { status: 'FAILED', error: 'The prompt could not be submitted. Support codes: 58061214\u0000' },
      });
      const generation = await create('a paper boat, blocked');
      const final = await untilFinal(generation.id);
      expect(final.error?.code).toBe('CONTENT_BLOCKED');
      expect(final.error!.message).toContain('Support codes: 58061214');
      await expectCleanRow(generation.id, final);
    });
  });

  describe('status answers with unexpected statuses', () => {
    it('reads a status in lowercase as the status it names', async () => {
      sim.simulator.injectFault({ endpoint: 'status', merge: { status: 'failed', error: 'the model gave up' } });
      const generation = await create('a paper boat, failed in lowercase');
      const final = await untilFinal(generation.id);
      expect(final.status).toBe('FAILED');
      expect(final.error?.code).toBe('GENERATION_FAILED');
    });

    it('fails a job answered 200 with status FAILED, and one answered 422 without a status, each with a typed code and our own words', async () => {
      sim.simulator.injectFault({ endpoint: 'status', status: 200, body: '{"status":"FAILED","error":"gave up"}' });
      const first = await untilFinal((await create('a paper boat, 200 FAILED')).id);
      expect(first.error?.code).toBe('GENERATION_FAILED');

      sim.simulator.injectFault({ endpoint: 'status', status: 422, body: '{"detail":"nope"}', times: 1000 });
      const second = await untilFinal((await create('a paper boat, 422 without status')).id);
      expect(second.status).toBe('FAILED');
      // A status request carries no input of the user's: the refusal is Segmind's, after a few tries.
      expect(second.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true });
      expect(second.error!.message).not.toContain('nope');
    });
  });

  describe('a COMPLETED job whose result cannot be used', () => {
    const results: [string, Omit<SimulatorFault, 'endpoint'>][] = [
      ['keeps answering "no output yet"', { times: 1000, merge: { output: '', video: { url: '' } } }],
      ['names its video with a NUL character', { times: 1000, merge: { output: 'http://127.0.0.1:1/a\u0000.mp4' } }],
      ['names a javascript: URL', { times: 1000, merge: { output: 'javascript:alert(1)' } }],
      ['names a data: URL', { times: 1000, merge: { output: 'data:video/mp4;base64,AAAA' } }],
      ['names a relative URL', { times: 1000, merge: { output: '/files/video.mp4' } }],
      ['names a URL with credentials', { times: 1000, merge: { output: 'https://user:secret@example.com/v.mp4' } }],
      ['names a URL of 100 KB', { times: 1000, merge: { output: `https://example.com/${'a'.repeat(100_000)}.mp4` } }],
      ['says FAILED after the status said COMPLETED', { times: 1000, merge: { status: 'FAILED', output: '', video: { url: '' } } }],
    ];

    it.each(results)('fails a job whose result %s within seconds, stores no address, and frees the worker', async (name, fault) => {
      const since = server.logs.length;
      sim.simulator.injectFault({ endpoint: 'result', ...fault });
      const generation = await create(`a paper boat whose result ${name}`);
      const started = Date.now();
      const final = await untilFinal(generation.id);
      expect(Date.now() - started).toBeLessThan(10_000);

      expect(final.status).toBe('FAILED');
      expect(final.error).toMatchObject({ code: 'UPSTREAM_UNREADABLE', retryable: true });
      expect(final.error!.message).toMatch(/charge/i);
      const [row] = await sql<{ output_url: string | null }[]>`select output_url from generations where id = ${generation.id}`;
      expect(row!.output_url).toBeNull();
      await expectCleanRow(generation.id, final);
      expect(crashes(logsSince(since))).toEqual([]);
      // The slot is free: the next job runs to the end.
      sim.simulator.reset();
      const next = await untilFinal((await create(`the next paper boat after ${name}`)).id);
      expect(next.status).toBe('SUCCEEDED');
    });
  });

  describe('a result download redirected to an unusable address', () => {
    const targets: [string, (host: string) => string][] = [
      ['one with credentials', (host) => `http://user:secret@${host}/files/elsewhere.mp4`],
    ];

    it.each(targets)('fails at once with STORAGE_FAILED when the redirect points to %s', async (_name, target) => {
      const since = server.logs.length;
      sim.simulator.injectFault({ endpoint: 'file', status: 302, times: 10, headers: { location: target(new URL(sim.simulator.url).host) } });
      const generation = await create('a paper boat redirected');
      const started = Date.now();
      const final = await untilFinal(generation.id);
      expect(final.status).toBe('FAILED');
      expect(final.error?.code).toBe('STORAGE_FAILED');
      // Refused as unsafe, not retried as a failed download.
      expect(Date.now() - started).toBeLessThan(3000);
      const logs = logsSince(since);
      expect(logs).toContain('refused the result download');
      expect(logs).not.toContain('secret');
    });
  });

  describe('the upload endpoint', () => {
    const frame = { path: 'input.imageFile', bytes: imageBytes('png'), filename: 'frame.png', type: 'image/png' };
    const send = (prompt: string) =>
      postMultipart<{ generateVideo: { __typename: string; message?: string } }>(
        server.url,
        GENERATE,
        { input: { prompt, ...INPUT } },
        [frame],
        { authorization: `Bearer ${server.key}` },
      );

    const answers: [string, unknown][] = [
      ['a javascript: URL', ['javascript:alert(1)']],
      ['a relative URL', ['/files/assets/a.png']],
      ['a URL with a NUL character', ['https://example.com/a\u0000.png']],
      ['a URL of 100 KB', [`https://example.com/${'a'.repeat(100_000)}.png`]],
      ['a URL with credentials', ['https://user:secret@example.com/a.png']],
    ];

    it.each(answers)('refuses an upload answered with %s: nothing is stored or submitted', async (_name, urls) => {
      const submits = proxy.count('POST', SUBMIT_PATH);
      sim.simulator.injectFault({ endpoint: 'upload', merge: { file_urls: urls } });
      const answer = await send('a paper boat from a frame');
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data?.generateVideo.__typename).toBe('UploadFailedError');
      const rows = await sql`select id from generations where prompt = 'a paper boat from a frame'`;
      expect(rows).toHaveLength(0);
      await sleep(300);
      expect(proxy.count('POST', SUBMIT_PATH)).toBe(submits);
    });

    const stalls: [string, Omit<SimulatorFault, 'endpoint'>][] = [
      ['never answers', { hang: true }],
      ['stops mid-body', { stallAfterBytes: 5 }],
    ];

    it.each(stalls)('answers a generateVideo whose upload endpoint %s within the request timeout', async (_name, fault) => {
      sim.simulator.injectFault({ endpoint: 'upload', ...fault });
      const started = Date.now();
      const answer = await send('a paper boat from a stalled frame');
      expect(Date.now() - started).toBeLessThan(4000);
      expect(answer.body.data?.generateVideo.__typename).toBe('UploadFailedError');
      // The database is not held either: a plain query answers at once.
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
    });
  });

  it('never writes the Segmind key to logs or errors, whatever upstream echoes back', async () => {
    const since = server.logs.length;
    const echo = JSON.stringify({ error: `invalid x-api-key: ${API_KEY}` });
    sim.simulator.injectFault({ endpoint: 'status', status: 500, body: echo, times: 2 });
    sim.simulator.injectFault({ endpoint: 'result', status: 502, body: `<html>${API_KEY}</html>` });
    const generation = await create('a paper boat in echoing weather');
    const final = await untilFinal(generation.id);
    expect(final.status).toBe('SUCCEEDED');

    sim.simulator.injectFault({ endpoint: 'submit', status: 401, body: echo });
    const refused = await untilFinal((await create('a paper boat refused')).id);
    expect(refused.status).toBe('FAILED');
    expect(JSON.stringify(refused)).not.toContain(API_KEY);

    const logs = logsSince(since);
    expect(logs).toContain('status poll failed');
    expect(logs).not.toContain(API_KEY);
    expect(logs).not.toMatch(/x-api-key"\s*:\s*"sk-/);
  });
});

describe.skipIf(!hasPostgres)('a status Segmind never names', () => {
  it('keeps polling a status it does not know only until the deadline, then frees the worker for the next job', async () => {
    const database = await createTestDatabase();
    const sim = await startSimulator({ processingMs: 300 });
    const server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, GENERATION_DEADLINE_MS: '2000', WORKER_CONCURRENCY: '1' });
    const ws = createWsClient(server.url, { key: server.key });
    try {
      const run = async (prompt: string) => {
        const created = await server.graphql<{ generateVideo: { generation: { id: string } } }>(GENERATE, { input: { prompt, ...INPUT } });
        const { results, completed } = await collectWs<{ generationStatus: Generation }>(ws, WATCH, { id: created.data!.generateVideo.generation.id }, 20_000);
        expect(completed).toBe(true);
        return results.at(-1)!.data!.generationStatus;
      };
      sim.simulator.injectFault({ endpoint: 'status', times: 1000, merge: { status: 'SOMETHING_NEW' } });
      const stuck = await run('a paper boat in an unknown state');
      expect(stuck.status).toBe('FAILED');
      expect(stuck.error?.code).toBe('TIMEOUT');
      sim.simulator.reset();
      expect((await run('the paper boat after it')).status).toBe('SUCCEEDED');
      expect(server.logs.filter((line) => line.includes('generation run crashed'))).toEqual([]);
    } finally {
      await ws.dispose();
      await server.stop();
      await sim.simulator.stop();
      await database.drop();
    }
  });
});

describe('cleaning upstream text', () => {
  it('never cuts a surrogate pair in half, and redacts a secret before cutting so no part of it is left', () => {
    for (let length = 280; length <= 300; length++) {
      const cleaned = cleanUpstreamText('😀'.repeat(400), { maxLength: length });
      expect(cleaned.length).toBeLessThanOrEqual(length);
      expect(cleaned).not.toMatch(UNSAFE_TEXT);
    }
    const secret = 'sk-0123456789';
    const cleaned = cleanUpstreamText(`${'x'.repeat(290)}${secret}`, { maxLength: 300, secrets: [secret] });
    expect(cleaned).not.toContain('sk-01');
  });
});
