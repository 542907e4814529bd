import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient, GENERATE, GET, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const SECRET_KEY = 'sk-live-THIS-MUST-NEVER-BE-LOGGED-4f7a';

/** The names of a JSON line's top-level fields, in order and with repeats (JSON.parse would keep only the last). */
function topLevelFieldNames(line: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        inString = false;
        if (depth === 1 && line.slice(i + 1).trimStart().startsWith(':')) names.push(line.slice(start + 1, i));
      }
    } else if (c === '"') {
      inString = true;
      start = i;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return names;
}

async function generateAndWait(server: TestApp, prompt: string) {
  const created = await server.graphql(GENERATE, { input: { prompt, durationSeconds: 4 } });
  const id = created.data!.generateVideo.generation.id as string;
  const client = createWsClient(server.url, { key: server.key });
  const { results } = await collectWs(client, WATCH, { id }, 20_000);
  await client.dispose();
  return results.at(-1)!.data!.generationStatus;
}

describe.skipIf(!hasPostgres)('operating the server', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ apiKey: SECRET_KEY, processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, METRICS_TOKEN: 'scrape-token' });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('answers /healthz, and /readyz with each check it made', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { accepting: true, database: true, worker: true } });
  });

  it('serves Prometheus metrics only with the bearer token, counting generations and Segmind requests', async () => {
    const final = await generateAndWait(server, 'metrics please');
    expect(final.status).toBe('SUCCEEDED');
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^reelql_generations\{status="SUCCEEDED",error_code=""\} [1-9]/m);
    expect(text).toMatch(/^reelql_segmind_request_duration_seconds_count\{endpoint="submit",status="200"\} 1$/m);
    expect(text).toMatch(/^reelql_segmind_request_duration_seconds_count\{endpoint="download",status="200"\} 1$/m);
    expect(text).toMatch(/^reelql_generation_status_duration_seconds_count\{status="STORING"\} 1$/m);
    expect(text).toMatch(/^reelql_event_delivery_seconds_count [1-9]/m);
    expect(text).toMatch(/^reelql_queue_depth 0$/m);
    expect(text).toContain(`reelql_spend_usd{key_prefix="${server.key.slice(0, 12)}",status="SUCCEEDED"}`);
    expect(text).toMatch(/^reelql_metrics_scrape_ok 1$/m);
  });

  it('logs JSON lines with the request id and generation id, and never a secret', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-trace-42', authorization: `Bearer ${server.key}` },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'trace me', durationSeconds: 4 } } }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-trace-42');
    const body = (await response.json()) as { data: { generateVideo: { generation: { id: string } } } };
    const id = body.data.generateVideo.generation.id;
    // Waits for the lines themselves: the access line and the worker's lines may come after the answer.
    const logLines = () => server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const lines = await waitFor('the access line and a worker line about the generation', () => {
      const all = logLines();
      const logged = all.some((l) => l.msg === 'http request' && l.requestId === 'req-trace-42') && all.some((l) => l.generationId === id && l.workerId);
      return logged ? all : undefined;
    });
    const accepted = lines.find((l) => l.msg === 'generation accepted' && l.generationId === id);
    expect(accepted?.requestId).toBe('req-trace-42');
    expect(accepted?.keyPrefix).toBe(server.key.slice(0, 12));
    expect(lines.some((l) => l.msg === 'http request' && l.requestId === 'req-trace-42' && l.status === 200)).toBe(true);
    // The worker's lines about it carry the generation id and the key prefix too.
    const workerLines = lines.filter((l) => l.generationId === id && l.workerId);
    expect(workerLines.length).toBeGreaterThan(0);
    for (const line of workerLines) expect(line.keyPrefix, JSON.stringify(line)).toBe(server.key.slice(0, 12));
    expect(server.logs.join('\n')).not.toContain(SECRET_KEY);
    expect(server.logs.join('\n')).not.toContain(server.key);
    expect(server.logs.join('\n')).not.toContain(database.url);
    // A field written twice in one line is ambiguous to log tools (most keep one copy, some reject the line).
    for (const line of server.logs) {
      const names = topLevelFieldNames(line);
      expect(names.filter((name, i) => names.indexOf(name) !== i), line).toEqual([]);
    }
  });

  it('turns readiness off and refuses new WebSocket connections as soon as shutdown starts', async () => {
    const own = await createTestDatabase();
    const other = await startTestApp({ DATABASE_URL: own.url, ...sim.env });
    try {
      // Keep the worker inside a submit (a step that is never interrupted) so that shutdown takes a while.
      sim.simulator.injectFault({ endpoint: 'submit', delayMs: 1500 });
      await other.graphql(GENERATE, { input: { prompt: 'slow to submit', durationSeconds: 4 } });
      await expect
        .poll(async () => (await own.sql`select count(*)::int as n from generations where submit_started_at is not null`)[0]?.n)
        .toBe(1);
      const stopping = other.app.stop();
      const ready = await fetch(`${other.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { accepting: boolean } }).checks.accepting).toBe(false);
      const socket = new WebSocket(`${other.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      const refusedWith = await new Promise<number>((resolve) => {
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('open', () => resolve(101));
        socket.on('error', () => undefined);
      });
      expect(refusedWith).toBe(503);
      await stopping;
      await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();
    } finally {
      await own.drop();
    }
  });
});

describe.skipIf(!hasPostgres)('retention', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
  });
  afterAll(async () => {
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('deletes old videos but keeps the generation, marked expired, and deletes old timelines', async () => {
    // Both apps share one data directory, as a restarted server would.
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-retention-'));
    const first = await startTestApp({ DATABASE_URL: database.url, ...sim.env, DATA_DIR: dataDir });
    const oldVideo = await generateAndWait(first, 'an old video');
    const oldTimeline = await generateAndWait(first, 'an old timeline');
    const recent = await generateAndWait(first, 'a recent video');
    await first.stop();
    await database.sql`update generations set completed_at = now() - interval '40 days' where id = ${oldVideo.id}`;
    await database.sql`update generations set completed_at = now() - interval '100 days' where id = ${oldTimeline.id}`;

    // The worker applies retention when it starts (and hourly after that).
    const second = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      DATA_DIR: dataDir,
      VIDEO_RETENTION_DAYS: '30',
      EVENT_RETENTION_DAYS: '90',
    });
    try {
      // The generations belong to the first server's key.
      const asOwner = { authorization: `Bearer ${first.key}` };
      await expect
        .poll(async () => (await second.graphql(GET, { id: oldVideo.id }, asOwner)).data?.generation.video, { timeout: 10_000 })
        .toBeNull();
      const expired = (await second.graphql(GET, { id: oldVideo.id }, asOwner)).data!.generation;
      expect(expired.status).toBe('SUCCEEDED');
      expect(expired.events.at(-1).type).toBe('video_expired');
      const [row] = await database.sql`select video_expired_at, video_key from generations where id = ${oldVideo.id}`;
      expect(row?.video_expired_at).toBeInstanceOf(Date);
      // Retention removes the file right after the row is marked expired, which is what the poll above saw.
      await expect.poll(() => existsSync(path.join(dataDir, 'videos', `${oldVideo.id}.mp4`)), { timeout: 5000 }).toBe(false);
      const oldLink = new URL(oldVideo.video.url);
      expect((await fetch(`${second.url}${oldLink.pathname}${oldLink.search}`)).status).toBe(404);

      const timelineRows = async () =>
        ((await database.sql`select count(*)::int as n from generation_events where generation_id = ${oldTimeline.id}`) as [{ n: number }])[0].n;
      await expect.poll(timelineRows, { timeout: 10_000 }).toBe(0);
      const stillThere = (await second.graphql(GET, { id: recent.id }, asOwner)).data!.generation;
      expect(stillThere.video.url).toBeTruthy();
      expect((await fetch(stillThere.video.url)).status).toBe(200);
    } finally {
      await second.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasPostgres)('the production build', () => {
  // dist/ is `npm run build` of these sources: the global setup builds it once per run (test/helpers/build.ts).
  const root = path.resolve(import.meta.dirname, '..');

  it('runs with plain node, and two replicas starting together migrate an empty database once', async () => {
    expect(existsSync(path.join(root, 'dist/main.js'))).toBe(true);
    const adminUrl = new URL(process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test');
    const name = `reelql_test_empty_${process.pid}`;
    const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const sim = await startSimulator({ processingMs: 200 });
    const env = { DATABASE_URL: url.toString(), ...sim.env, ROLE: 'api' };
    const replicas = await Promise.all([
      spawnServer(env, 60_000, ['dist/main.js']),
      spawnServer(env, 60_000, ['dist/main.js']),
    ]);
    try {
      const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
      const migrations = await db`select count(*)::int as n from drizzle.__drizzle_migrations`;
      await db.end();
      const journal = (await import('../drizzle/meta/_journal.json', { with: { type: 'json' } })).default as { entries: unknown[] };
      expect(migrations[0]?.n).toBe(journal.entries.length);
      for (const replica of replicas) expect((await fetch(`${replica.url}/readyz`)).status).toBe(200);
      // The web page comes prebuilt from dist/web/public: production installs have no bundler.
      const page = await (await fetch(`${replicas[0].url}/`)).text();
      const script = /src="(\/app\.[0-9a-f]{12}\.js)"/.exec(page)?.[1];
      expect(script).toBeDefined();
      const served = await (await fetch(`${replicas[0].url}${script}`)).text();
      expect(served).toBe(readFileSync(path.join(root, 'dist/web/public/app.js'), 'utf8'));
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await sim.simulator.stop();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it('stops start-up with one message naming a bad variable', async () => {
    const result = await run('node', ['dist/main.js'], { cwd: root, env: { ...process.env, PORT: 'abc' } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect('code' in result && result.code).toBe(1);
    expect(result.stderr.trim()).toBe('Invalid configuration: PORT must be a whole number from 0 to 65535; got "abc".');
  });
});
