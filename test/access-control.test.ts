import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { revokeApiKey } from '../src/auth/keys.js';
import { loadVideoSigningSecret, signVideo } from '../src/storage/video-route.js';
import { createApp } from '../src/server/compose.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger, lineDestination } from '../src/logger.js';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { CANCEL, collectSse, collectWs, createWsClient, GENERATE, GET, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { fetchSimulatedVideo } from './helpers/videos.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const LIST = `query List { generations(first: 100) { edges { node { id } } } }`;
const ESTIMATE = `query Estimate($input: GenerateVideoInput!) { estimateCost(input: $input) { amount } }`;

let nameCounter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++nameCounter}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** A key of the right shape that no server ever issued. */
const forgedKey = () => `rql_${randomBytes(32).toString('base64url')}`;

/** POSTs one operation as JSON with exactly the headers given (no key is added). */
async function post(baseUrl: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphqlBody<Record<string, any>> };
}

interface RawSocket {
  socket: WebSocket;
  messages: { type: string; id?: string; payload?: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  send(message: Record<string, unknown>): void;
}

/** A bare graphql-transport-ws socket, so a test controls every frame (and sees the close code). */
function openRawSocket(baseUrl: string): RawSocket {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: RawSocket['messages'] = [];
  socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8')) as RawSocket['messages'][number]));
  socket.on('error', () => undefined);
  return {
    socket,
    messages,
    opened: new Promise((resolve) => socket.once('open', () => resolve())),
    closed: new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }))),
    send: (message) => socket.send(JSON.stringify(message)),
  };
}

/** Opens a socket, sends ConnectionInit with `payload` (or none), and resolves with how the server answered. */
async function connectRaw(baseUrl: string, payload: Record<string, unknown> | undefined) {
  const raw = openRawSocket(baseUrl);
  await raw.opened;
  raw.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
  const outcome = await Promise.race([
    raw.closed.then((closed) => ({ closed, acked: false })),
    waitFor('connection_ack', () => (raw.messages.some((m) => m.type === 'connection_ack') ? true : undefined), {
      timeoutMs: 5000,
    }).then(() => ({ closed: undefined, acked: true })),
  ]);
  if (outcome.acked) raw.socket.close();
  return outcome;
}

/** A subscription that reports its first result, so a test can act while it is known to be open. */
function watchWs(client: Client, id: string) {
  const results: GraphqlBody<Record<string, any>>[] = [];
  let markFirst = () => {};
  const first = new Promise<void>((resolve) => (markFirst = resolve));
  const done = new Promise<{ outcome: 'complete' | 'error'; error?: unknown }>((resolve) => {
    client.subscribe(
      { query: WATCH, variables: { id } },
      {
        next: (value) => {
          results.push(value as GraphqlBody<Record<string, any>>);
          markFirst();
        },
        error: (error) => resolve({ outcome: 'error', error }),
        complete: () => resolve({ outcome: 'complete' }),
      },
    );
  });
  return { results, first, done };
}

/** An SSE subscription that reports its first event and when the server ended the stream. */
function watchSse(baseUrl: string, id: string, key: string) {
  const controller = new AbortController();
  let markFirst = () => {};
  const first = new Promise<void>((resolve) => (markFirst = resolve));
  const events: string[] = [];
  const done = (async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(key) },
      body: JSON.stringify({ query: WATCH, variables: { id } }),
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = /^event: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (event) events.push(event);
          if (event === 'next') markFirst();
        }
      }
      return { ended: 'by the server' as const, events };
    } catch (error) {
      if (controller.signal.aborted) return { ended: 'by the test' as const, events };
      throw error;
    }
  })();
  return { first, done, abort: () => controller.abort() };
}

/**
 * Runs the real keys CLI against a test database: as documented (`npm run keys -- …`), or for speed straight
 * through node, as built (see ensureBuild).
 */
function keysCli(args: string[], databaseUrl: string, dataDir: string, via: 'npm' | 'node' = 'npm') {
  const [command, prefix] = via === 'npm' ? ['npm', ['run', 'keys', '--']] : [process.execPath, ['dist/cli/keys.js']];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      command,
      [...prefix, ...args],
      { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'silent' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)!.trim();

describe.skipIf(!hasPostgres)('authentication on every operation and transport', () => {
  let database: TestDatabase;
  let server: TestApp;
  let ownGeneration: string;
  let revokedKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: generations stay QUEUED, so nothing but the requests under test changes them.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    const created = await server.graphql(GENERATE, { input: { prompt: 'owned by the server key', durationSeconds: 4 } });
    ownGeneration = created.data!.generateVideo.generation.id as string;
    const revoked = await createKeyIn(database.url, { name: uniqueName('to-revoke') });
    revokedKey = revoked.key;
    expect((await post(server.url, LIST, {}, bearer(revokedKey))).body.errors).toBeUndefined();
    expect(await revokeApiKey(dbOf(database), revoked.apiKey.name)).not.toBeNull();
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const operations = () => [
    { name: 'query generation', query: GET, variables: { id: ownGeneration } },
    { name: 'query generations', query: LIST, variables: {} },
    { name: 'query estimateCost', query: ESTIMATE, variables: { input: { prompt: 'x' } } },
    { name: 'mutation generateVideo', query: GENERATE, variables: { input: { prompt: 'sneaky', durationSeconds: 4 } } },
    { name: 'mutation cancelGeneration', query: CANCEL, variables: { id: ownGeneration } },
  ];
  const credentials = (): { name: string; headers: Record<string, string> }[] => [
    { name: 'no key', headers: { authorization: '' } },
    { name: 'an empty bearer', headers: { authorization: 'Bearer ' } },
    { name: 'a forged key', headers: bearer(forgedKey()) },
    { name: 'a key without the rql_ prefix', headers: bearer(server.key.slice(4)) },
    { name: 'the server key with one character changed', headers: bearer(`${server.key.slice(0, -1)}${server.key.endsWith('A') ? 'B' : 'A'}`) },
    { name: 'Basic credentials', headers: { authorization: `Basic ${Buffer.from(`user:${server.key}`).toString('base64')}` } },
    { name: 'a revoked key', headers: bearer(revokedKey) },
    { name: 'a revoked key sent bare', headers: { authorization: revokedKey } },
  ];

  async function counts() {
    const [row] = await database.sql<[{ generations: number; events: number; status: string }]>`
      select (select count(*)::int from generations) as generations,
             (select count(*)::int from generation_events) as events,
             (select status from generations where id = ${ownGeneration}) as status`;
    return row;
  }

  it('answers every query and mutation over HTTP with UNAUTHENTICATED for a missing, wrong or revoked key, and changes nothing', async () => {
    const before = await counts();
    for (const credential of credentials()) {
      for (const operation of operations()) {
        const what = `${operation.name} with ${credential.name}`;
        const { status, body } = await post(server.url, operation.query, operation.variables, credential.headers);
        expect(body.errors?.[0]?.extensions?.code, `${what}: ${JSON.stringify(body)}`).toBe('UNAUTHENTICATED');
        expect(Object.values(body.data ?? {}).every((v) => v === null), what).toBe(true);
        expect(status, what).toBe(401);
      }
    }
    // The same requests with the real key do work: the refusals above are about the key, nothing else.
    for (const operation of operations().filter((o) => o.name !== 'mutation cancelGeneration')) {
      const { body } = await post(server.url, operation.query, operation.variables, bearer(server.key));
      expect(body.errors, operation.name).toBeUndefined();
    }
    const after = await counts();
    expect(after.status).toBe('QUEUED');
    expect(after.generations).toBe(before.generations + 1);
    expect(after.events).toBe(before.events + 1);
  });

  it('answers every operation over SSE, the subscription included, with UNAUTHENTICATED and ends the stream', async () => {
    const all = [...operations(), { name: 'subscription generationStatus', query: WATCH, variables: { id: ownGeneration } }];
    const before = await counts();
    for (const credential of credentials()) {
      for (const operation of all) {
        const what = `${operation.name} over SSE with ${credential.name}`;
        const { results, completed } = await collectSse(server.url, operation.query, operation.variables, {
          key: server.key,
          headers: credential.headers,
          timeoutMs: 5000,
        });
        expect(completed, what).toBe(true);
        expect(results, what).toHaveLength(1);
        expect(results[0]!.errors?.[0]?.extensions?.code, `${what}: ${JSON.stringify(results)}`).toBe('UNAUTHENTICATED');
        const data = results[0]!.data as Record<string, unknown> | null | undefined;
        expect(Object.values(data ?? {}).every((v) => v === null), what).toBe(true);
      }
    }
    expect(await counts()).toEqual(before);
    // With the key the same subscription streams the generation.
    const own = await collectSse(server.url, WATCH, { id: ownGeneration }, { headers: bearer(server.key), timeoutMs: 500 });
    expect(own.results[0]?.data?.generationStatus?.id).toBe(ownGeneration);
  });

  it('serves introspection and GraphiQL without a key', async () => {
    const { status, body } = await post(server.url, '{ __schema { types { name } } }', {}, {});
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const names = (body.data!.__schema.types as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['Generation', 'GenerateVideoInput', 'BudgetExceededError']));
    const type = await post(server.url, '{ __type(name: "Generation") { fields { name } } }', {}, {});
    expect(type.body.errors).toBeUndefined();

    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('reelql');
    // Introspection is not a way around the key: a query mixing it with data is still refused.
    const mixed = await post(server.url, '{ __typename generations { edges { node { id } } } }', {}, {});
    expect(mixed.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('closes a graphql-ws socket with 4403 for no connectionParams, a wrong key or a revoked key', async () => {
    const refused: [string, Record<string, unknown> | undefined][] = [
      ['no connectionParams at all', undefined],
      ['empty connectionParams', {}],
      ['an empty authorization', { authorization: '' }],
      ['a forged key', { authorization: `Bearer ${forgedKey()}` }],
      ['a key in the wrong parameter', { token: server.key, apiKey: server.key, headers: { authorization: `Bearer ${server.key}` } }],
      ['a non-string authorization', { authorization: { key: server.key } }],
      ['a revoked key', { authorization: `Bearer ${revokedKey}` }],
      ['a revoked key sent bare', { authorization: revokedKey }],
    ];
    for (const [what, payload] of refused) {
      const outcome = await connectRaw(server.url, payload);
      expect(outcome.acked, what).toBe(false);
      expect(outcome.closed?.code, what).toBe(4403);
    }
    // The valid key is acknowledged, bare or as a bearer: the refusals above are about the key.
    expect((await connectRaw(server.url, { authorization: `Bearer ${server.key}` })).acked).toBe(true);
    expect((await connectRaw(server.url, { authorization: server.key })).acked).toBe(true);
    // GraphiQL sends its header editor as connectionParams, capitalized.
    expect((await connectRaw(server.url, { Authorization: `Bearer ${server.key}` })).acked).toBe(true);

    // A Subscribe before ConnectionInit is refused with 4401 and never executed.
    const early = openRawSocket(server.url);
    await early.opened;
    early.send({ id: '1', type: 'subscribe', payload: { query: WATCH, variables: { id: ownGeneration } } });
    expect((await early.closed).code).toBe(4401);
    expect(early.messages).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)('revoking a key', () => {
  let database: TestDatabase;
  let server: TestApp;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-keys-cli-'));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('closes the open WebSocket with 4403 and ends the open SSE stream at once, and the next request is refused', async () => {
    const victim = await createKeyIn(database.url, { name: uniqueName('victim') });
    const bystander = await createKeyIn(database.url, { name: uniqueName('bystander') });
    const generationOf = async (key: string) => {
      const { body } = await post(server.url, GENERATE, { input: { prompt: 'stays queued', durationSeconds: 4 } }, bearer(key));
      return body.data!.generateVideo.generation.id as string;
    };
    const victimGeneration = await generationOf(victim.key);
    const bystanderGeneration = await generationOf(bystander.key);

    const victimClient = createWsClient(server.url, { key: victim.key });
    const bystanderClient = createWsClient(server.url, { key: bystander.key });
    const closes: { who: string; code: number }[] = [];
    victimClient.on('closed', (event) => closes.push({ who: 'victim', code: (event as { code: number }).code }));
    bystanderClient.on('closed', (event) => closes.push({ who: 'bystander', code: (event as { code: number }).code }));
    try {
      const victimWs = watchWs(victimClient, victimGeneration);
      const bystanderWs = watchWs(bystanderClient, bystanderGeneration);
      const victimSse = watchSse(server.url, victimGeneration, victim.key);
      const bystanderSse = watchSse(server.url, bystanderGeneration, bystander.key);
      await Promise.all([victimWs.first, bystanderWs.first, victimSse.first, bystanderSse.first]);

      const revoked = await keysCli(['revoke', victim.apiKey.name], database.url, dataDir);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain(`Revoked key "${victim.apiKey.name}"`);
      const cliDone = Date.now();

      await waitFor('the victim socket to close', () => (closes.some((c) => c.who === 'victim') ? true : undefined), {
        timeoutMs: 3000,
      });
      expect(closes).toEqual([{ who: 'victim', code: 4403 }]);
      const sse = await Promise.race([
        victimSse.done,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000)),
      ]);
      expect(sse?.ended, 'the SSE stream of the revoked key is still open').toBe('by the server');
      expect(Date.now() - cliDone).toBeLessThan(3000);
      expect((await victimWs.done).outcome).toBe('error');

      const next = await post(server.url, GET, { id: victimGeneration }, bearer(victim.key));
      expect(next.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await connectRaw(server.url, { authorization: `Bearer ${victim.key}` })).closed?.code).toBe(4403);

      // Only the revoked key's sessions ended.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(closes.filter((c) => c.who === 'bystander')).toEqual([]);
      expect((await post(server.url, GET, { id: bystanderGeneration }, bearer(bystander.key))).body.data?.generation?.id).toBe(
        bystanderGeneration,
      );
      bystanderSse.abort();
      expect((await bystanderSse.done).ended).toBe('by the test');
    } finally {
      await victimClient.dispose();
      await bystanderClient.dispose();
    }
  });
});

describe.skipIf(!hasPostgres)('one key cannot see or touch another key’s generations', () => {
  let database: TestDatabase;
  let server: TestApp;
  let other: string;
  let ownerGeneration: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    other = (await createKeyIn(database.url, { name: uniqueName('other') })).key;
    const created = await server.graphql(GENERATE, { input: { prompt: 'private to its owner', durationSeconds: 4 } });
    ownerGeneration = created.data!.generateVideo.generation.id as string;
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  /** The body with an id replaced, to compare an answer about A's id with one about an unknown id. */
  const masked = (value: unknown, id: string) => JSON.stringify(value).replaceAll(id, '<id>');

  it('gets null for the generation, exactly as for an unknown id, and does not list it', async () => {
    const unknown = randomUUID();
    const foreign = await post(server.url, GET, { id: ownerGeneration }, bearer(other));
    const missing = await post(server.url, GET, { id: unknown }, bearer(other));
    expect(foreign.body).toEqual({ data: { generation: null } });
    expect(foreign).toEqual(missing);
    // The owner does see it, so the null above is about ownership.
    expect((await server.graphql(GET, { id: ownerGeneration })).data!.generation.id).toBe(ownerGeneration);

    const listed = (key: string) =>
      post(server.url, LIST, {}, bearer(key)).then(({ body }) =>
        (body.data!.generations.edges as { node: { id: string } }[]).map((e) => e.node.id),
      );
    expect(await listed(server.key)).toContain(ownerGeneration);
    expect(await listed(other)).not.toContain(ownerGeneration);
    const filtered = await post(server.url, `{ generations(status: [QUEUED]) { edges { node { id } } } }`, {}, bearer(other));
    expect(filtered.body.data!.generations.edges).toEqual([]);
  });

  it('gets NotFoundError on cancel, exactly as for an unknown id, and the generation is not canceled', async () => {
    const unknown = randomUUID();
    const foreign = await post(server.url, CANCEL, { id: ownerGeneration }, bearer(other));
    const missing = await post(server.url, CANCEL, { id: unknown }, bearer(other));
    expect(foreign.body.data!.cancelGeneration.__typename).toBe('NotFoundError');
    expect(masked(foreign, ownerGeneration)).toBe(masked(missing, unknown));
    const [row] = await database.sql<{ status: string; version: number }[]>`select status, version from generations where id = ${ownerGeneration}`;
    expect(row).toEqual({ status: 'QUEUED', version: 1 });
    expect((await server.graphql(GET, { id: ownerGeneration })).data!.generation.status).toBe('QUEUED');
  });

  it('gets NOT_FOUND subscribing over WebSocket and SSE, exactly as for an unknown id', async () => {
    const unknown = randomUUID();
    const client = createWsClient(server.url, { key: other });
    try {
      const foreign = await collectWs(client, WATCH, { id: ownerGeneration }, 5000);
      const missing = await collectWs(client, WATCH, { id: unknown }, 5000);
      expect(foreign.completed).toBe(true);
      expect(foreign.results).toHaveLength(1);
      expect(foreign.results[0]!.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(masked(foreign, ownerGeneration)).toBe(masked(missing, unknown));
    } finally {
      await client.dispose();
    }
    const sseForeign = await collectSse(server.url, WATCH, { id: ownerGeneration }, { headers: bearer(other), timeoutMs: 5000 });
    const sseMissing = await collectSse(server.url, WATCH, { id: unknown }, { headers: bearer(other), timeoutMs: 5000 });
    expect(sseForeign.completed).toBe(true);
    expect(sseForeign.results[0]!.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(masked(sseForeign, ownerGeneration)).toBe(masked(sseMissing, unknown));
    // The owner's subscription to the same id streams it.
    const own = await collectSse(server.url, WATCH, { id: ownerGeneration }, { key: server.key, timeoutMs: 500 });
    expect(own.results[0]?.data?.generationStatus?.id).toBe(ownerGeneration);
  });
});

describe.skipIf(!hasPostgres)('signed video links', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let sampleSize: number;
  const finished: { id: string; url: string }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 150 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
    const client = createWsClient(server.url, { key: server.key });
    try {
      for (const prompt of ['the first clip', 'the second clip']) {
        const created = await server.graphql(GENERATE, { input: { prompt, durationSeconds: 4 } });
        const { results } = await collectWs(client, WATCH, { id: created.data!.generateVideo.generation.id }, 15_000);
        const final = results.at(-1)!.data!.generationStatus as { id: string; status: string; video: { url: string } };
        expect(final.status).toBe('SUCCEEDED');
        finished.push({ id: final.id, url: final.video.url });
      }
    } finally {
      await client.dispose();
    }
    // The first job's clip, as the simulator rendered it.
    sampleSize = (await fetchSimulatedVideo(sim.simulator.url, sim.simulator.jobs()[0]!.requestId)).length;
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const withQuery = (url: string, edit: (query: URLSearchParams) => void) => {
    const link = new URL(url);
    edit(link.searchParams);
    return link.toString();
  };

  it('plays the owner’s video.url in a plain GET without headers', async () => {
    const response = await fetch(finished[0]!.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect((await response.arrayBuffer()).byteLength).toBe(sampleSize);
    const expires = Number(new URL(finished[0]!.url).searchParams.get('expires'));
    // VIDEO_URL_TTL_SECONDS defaults to a day.
    expect(expires - Date.now() / 1000).toBeGreaterThan(86_400 - 60);
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(86_400);
  });

  it('refuses a tampered, a missing or a re-dated token with 403, before revealing the file', async () => {
    const url = finished[0]!.url;
    const token = new URL(url).searchParams.get('token')!;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const attempts = {
      'a changed token': withQuery(url, (q) => q.set('token', flipped)),
      'a truncated token': withQuery(url, (q) => q.set('token', token.slice(0, -2))),
      'no token': withQuery(url, (q) => q.delete('token')),
      'an empty token': withQuery(url, (q) => q.set('token', '')),
      'a later expiry with the same token': withQuery(url, (q) => q.set('expires', String(Number(q.get('expires')) + 3600))),
      'no expiry': withQuery(url, (q) => q.delete('expires')),
      'no query at all': url.split('?')[0]!,
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      const response = await fetch(attempt);
      expect(response.status, what).toBe(403);
      expect((await response.arrayBuffer()).byteLength, what).toBeLessThan(200);
      expect((await fetch(attempt, { method: 'HEAD' })).status, `${what} (HEAD)`).toBe(403);
    }
  });

  it('refuses an expired signature with 403, while the same secret with a future expiry plays', async () => {
    const secret = await loadVideoSigningSecret(dbOf(database));
    const { id } = finished[0]!;
    const base = `${server.url}/videos/${id}.mp4`;
    expect((await fetch(`${base}?${signVideo(secret, id, -5)}`)).status).toBe(403);
    expect((await fetch(`${base}?${signVideo(secret, id, -1)}`)).status).toBe(403);
    expect((await fetch(`${base}?${signVideo(secret, id, 30)}`)).status).toBe(200);
  });

  it('refuses one generation’s token on another generation’s path with 403', async () => {
    const [first, second] = finished;
    const firstQuery = new URL(first!.url).search;
    expect((await fetch(`${server.url}/videos/${second!.id}.mp4${firstQuery}`)).status).toBe(403);
    expect((await fetch(second!.url)).status).toBe(200);
  });

  it('answers 404 for a valid signature of an id that has no file', async () => {
    const secret = await loadVideoSigningSecret(dbOf(database));
    const id = randomUUID();
    const response = await fetch(`${server.url}/videos/${id}.mp4?${signVideo(secret, id, 60)}`);
    expect(response.status).toBe(404);
    // Unsigned, the same path is a 403: nothing reveals which videos exist.
    expect((await fetch(`${server.url}/videos/${id}.mp4`)).status).toBe(403);
  });
});

describe.skipIf(!hasPostgres)('the keys CLI', () => {
  let database: TestDatabase;
  let server: TestApp;
  let dataDir: string;
  let created: { name: string; key: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-keys-cli-'));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a key, prints it as the last line, and the key works', async () => {
    const name = uniqueName('cli');
    const result = await keysCli(['create', name, '--daily-budget-usd', '2.5', '--max-active', '3'], database.url, dataDir);
    expect(result.code, result.stderr).toBe(0);
    const key = lastLine(result.stdout);
    expect(key).toMatch(/^rql_[A-Za-z0-9_-]{43}$/);
    created = { name, key };
    expect(result.stdout).toContain(`Created key "${name}" (${key.slice(0, 12)}…)`);
    const { status, body } = await post(server.url, LIST, {}, bearer(key));
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const [row] = await database.sql<{ daily_budget_usd: string; max_active: number; revoked_at: Date | null }[]>`
      select daily_budget_usd, max_active, revoked_at from api_keys where name = ${name}`;
    expect(row).toEqual({ daily_budget_usd: '2.50', max_active: 3, revoked_at: null });
  });

  it('stores only a hash: the plaintext key appears nowhere in api_keys', async () => {
    const { name, key } = created;
    const rows = await database.sql<{ row: string; hash: string; prefix: string }[]>`
      select row_to_json(k)::text as row, hash, prefix from api_keys k where name = ${name}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(rows[0]!.prefix).toBe(key.slice(0, 12));
    const everything = (await database.sql<{ row: string }[]>`select row_to_json(k)::text as row from api_keys k`)
      .map((r) => r.row)
      .join('\n');
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(key.slice(12));
    expect(everything).not.toContain(key.slice(4, 24));
  });

  it('lists the prefix and name of each key, never the key', async () => {
    const { name, key } = created;
    const result = await keysCli(['list'], database.url, dataDir);
    expect(result.code, result.stderr).toBe(0);
    const line = result.stdout.split('\n').find((l) => l.includes(name));
    expect(line).toBeDefined();
    expect(line).toContain(key.slice(0, 12));
    expect(line).toContain('active');
    expect(result.stdout + result.stderr).not.toContain(key);
    expect(result.stdout + result.stderr).not.toContain(key.slice(12));
  });

  it('revokes by prefix, after which the key is refused, and says so when nothing matches', async () => {
    const { key } = created;
    const prefix = key.slice(0, 12);
    const result = await keysCli(['revoke', prefix], database.url, dataDir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(prefix);
    const { body } = await post(server.url, LIST, {}, bearer(key));
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [row] = await database.sql<{ revoked_at: Date | null }[]>`select revoked_at from api_keys where prefix = ${prefix}`;
    expect(row!.revoked_at).toBeInstanceOf(Date);

    const again = await keysCli(['revoke', prefix], database.url, dataDir);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('No active key');
    // The server's own key was not touched.
    expect((await server.graphql(LIST)).errors).toBeUndefined();
  });

  it('exits non-zero for bad arguments, with the usage for a wrong command or flag and one line for a bad value, creating nothing', async () => {
    const [{ n: before }] = await database.sql<[{ n: number }]>`select count(*)::int as n from api_keys`;
    const bad: [string, string[]][] = [
      ['no command', []],
      ['an unknown command', ['delete', 'someone']],
      ['create without a name', ['create']],
      ['revoke without a name', ['revoke']],
      ['a budget that is not a number', ['create', uniqueName('bad'), '--daily-budget-usd', 'lots']],
      ['a negative budget', ['create', uniqueName('bad'), '--daily-budget-usd', '-5']],
      ['a fractional max-active', ['create', uniqueName('bad'), '--max-active', '1.5']],
      ['a zero max-active', ['create', uniqueName('bad'), '--max-active', '0']],
      ['a name with spaces', ['create', 'two words']],
      ['an unknown option', ['create', uniqueName('bad'), '--bogus']],
      ['an option without its value', ['create', uniqueName('bad'), '--max-active']],
    ];
    const BAD_VALUES = new Set(['a budget that is not a number', 'a fractional max-active', 'a zero max-active', 'a name with spaces']);
    const results = await Promise.all(bad.map(([, args]) => keysCli(args, database.url, dataDir, 'node')));
    const problems = results.flatMap((result, i) => {
      const what = bad[i]![0];
      return [
        result.code === 0 && `${what}: exit code 0`,
        // A wrong command or flag shows the usage; a bad value says what is wrong in a line and where the usage is.
        (BAD_VALUES.has(what)
          ? !/--help/.test(result.stderr) || result.stderr.includes('Usage:') ? `${what}: not one line pointing to --help` : false
          : !result.stderr.includes('Usage:\n  npm run keys -- create <name>') && `${what}: no usage message`),
        /rql_/.test(result.stdout) && `${what}: printed a key`,
        // A usage problem is not a crash: no stack trace.
        /\n\s+at /.test(result.stderr) && `${what}: printed a stack trace`,
      ].filter((problem): problem is string => typeof problem === 'string');
    });
    expect(problems).toEqual([]);
    const [{ n: after }] = await database.sql<[{ n: number }]>`select count(*)::int as n from api_keys`;
    expect(after).toBe(before);
  }, 60_000);
});

describe.skipIf(!hasPostgres)('the development key', () => {
  it('is printed by a server started with the embedded defaults, works, and is pre-filled in GraphiQL on loopback', async () => {
    // Empty values count as unset, whatever the environment running the tests holds.
    const server = await spawnServer({ DATABASE_URL: '', SEGMIND_API_KEY: '', NODE_ENV: 'development', SIMULATOR_PROCESSING_MS: '200' }, 60_000);
    try {
      const printed = /Development API key[^\n]*\n\s*(rql_\S+)/.exec(server.output())?.[1];
      expect(printed, server.output()).toMatch(/^rql_[A-Za-z0-9_-]{43}$/);
      // It is shown to the person, not written to the JSON logs.
      const logLines = server.output().split('\n').filter((line) => line.startsWith('{'));
      expect(logLines.join('\n')).not.toContain(printed);

      const { body } = await post(server.url, LIST, {}, bearer(printed!));
      expect(body.errors).toBeUndefined();
      const html = await (await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } })).text();
      expect(html).toContain(printed);
      const dataDir = /stored in ([^\n)]+)\/development-key/.exec(server.output())?.[1];
      expect(dataDir).toBeDefined();
      const file = path.join(dataDir!, 'development-key');
      expect((await readFile(file, 'utf8')).trim()).toBe(printed);
      expect((await stat(file)).mode & 0o077).toBe(0);
    } finally {
      await server.stop();
    }
  }, 60_000);

  async function startBare(env: Record<string, string>) {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-devkey-'));
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: database.url, ROLE: 'api', ...env });
    const app = await createApp(config, { log: createLogger('silent', lineDestination(() => {})) });
    const url = await app.start();
    return {
      app,
      url,
      database,
      dataDir,
      graphiql: () => fetch(`${url}/graphql`, { headers: { accept: 'text/html' } }).then((r) => r.text()),
      async stop() {
        await app.stop();
        await database.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }

  it('is not created with NODE_ENV=production: no key in the database and none in GraphiQL', async () => {
    const server = await startBare({ NODE_ENV: 'production' });
    try {
      expect(server.app.developmentKey).toBeUndefined();
      const [{ n }] = await server.database.sql<[{ n: number }]>`select count(*)::int as n from api_keys`;
      expect(n).toBe(0);
      expect(existsSync(path.join(server.dataDir, 'development-key'))).toBe(false);
      const html = await server.graphiql();
      expect(html).toContain('reelql');
      expect(html).not.toMatch(/rql_[A-Za-z0-9_-]{20}/);
      expect(html).not.toContain('Bearer');
      const { body } = await post(server.url, LIST, {}, {});
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await server.stop();
    }
  });

  it('is not pre-filled in GraphiQL when the server listens beyond loopback', async () => {
    const server = await startBare({ HOST: '0.0.0.0' });
    try {
      const key = server.app.developmentKey;
      expect(key).toMatch(/^rql_/);
      const html = await server.graphiql();
      expect(html).toContain('reelql');
      expect(html).not.toContain(key);
      expect(html).not.toMatch(/rql_[A-Za-z0-9_-]{20}/);
    } finally {
      await server.stop();
    }
  });
});
