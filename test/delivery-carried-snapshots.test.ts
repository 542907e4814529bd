import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { generationUpdates, MAX_NOTIFY_PAYLOAD_BYTES } from '../src/events/channels.js';
import { transition } from '../src/events/timeline.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createWsClient } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startStatementCounter, type StatementCounter } from './helpers/statement-counter.js';
import { waitFor } from './helpers/wait.js';

/**
 * A notification carries the new version's row when it fits, so subscribers get it without reading the timeline;
 * a version whose notification was lost, or was too big to carry its row, or carried something else, is read from
 * the timeline instead. Either way every subscriber gets every version exactly once and in order.
 */

const WATCH_LIGHT = `subscription W($id: ID!) { generationStatus(id: $id) { id version status progress prompt } }`;
const GENERATE_ID = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id } } }
}`;

interface Seen {
  version: number;
  status: string;
  progress: number;
  prompt: string;
}

describe('the generation_updates payload', () => {
  it('carries the snapshot after a newline when the whole payload fits, and only id:version when it does not', () => {
    const id = '0b8a4d2e-7f39-4a55-9b9e-1c2d3e4f5a6b';
    const small = JSON.stringify({ id, version: 3, prompt: 'line one\nline two' });
    const payload = generationUpdates.encode({ id, version: 3, snapshot: small });
    expect(payload).toBe(`${id}:3\n${small}`);
    expect(generationUpdates.parse(payload)).toEqual({ id, version: 3, snapshot: small });
    // Measured in bytes, as Postgres limits it: a multi-byte snapshot that is short in characters may not fit.
    const head = `${id}:3\n`;
    const fits = 'a'.repeat(MAX_NOTIFY_PAYLOAD_BYTES - head.length);
    expect(generationUpdates.encode({ id, version: 3, snapshot: fits })).toBe(head + fits);
    expect(generationUpdates.encode({ id, version: 3, snapshot: `${fits}a` })).toBe(`${id}:3`);
    expect(generationUpdates.encode({ id, version: 3, snapshot: 'é'.repeat(4000) })).toBe(`${id}:3`);
    expect(generationUpdates.parse(`${id}:3`)).toEqual({ id, version: 3 });
  });
});

describe.skipIf(!hasPostgres)('delivery with snapshots carried in notifications', () => {
  let database: TestDatabase;
  let counter: StatementCounter;
  let server: TestApp;
  let ws: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    counter = await startStatementCounter(database.url);
    server = await startTestApp({ DATABASE_URL: counter.url, ROLE: 'api' });
    ws = createWsClient(server.url, { key: server.key });
  });
  afterAll(async () => {
    await ws?.dispose();
    await server?.stop();
    await counter?.close();
    await database?.drop();
  });

  async function created(prompt: string): Promise<string> {
    const body = await server.graphql<{ generateVideo: { generation: { id: string } } }>(GENERATE_ID, { input: { prompt, durationSeconds: 4 } });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!.generateVideo.generation.id;
  }

  /** Subscribes and waits for the first result; `seen` grows as versions arrive. */
  async function watch(id: string) {
    const seen: Seen[] = [];
    let ended = false;
    const stop = ws.subscribe<{ generationStatus: Seen }>(
      { query: WATCH_LIGHT, variables: { id } },
      { next: (value) => void seen.push(value.data!.generationStatus), error: () => (ended = true), complete: () => (ended = true) },
    );
    await waitFor('the first result', () => seen.length > 0);
    return { seen, stop, ended: () => ended };
  }

  const timelineReads = (statements: readonly string[]) => statements.filter((sql) => /from "generation_events"/i.test(sql));
  const setProgress = (id: string, progress: number) => transition(server.app.database.db, id, { set: { progress } });

  /** A version committed with no notification, as if the notification were lost. */
  async function silentVersion(id: string, progress: number) {
    await database.sql`
      with changed as (update generations set version = version + 1, progress = ${progress} where id = ${id} returning id, version, status)
      insert into generation_events (generation_id, version, type, status, message, snapshot)
      select changed.id, changed.version, 'progress', changed.status, 'silent',
        (select snapshot from generation_events where generation_id = ${id} order by version desc limit 1)
          || jsonb_build_object('version', changed.version, 'progress', ${progress}::real)
      from changed`;
  }

  it('delivers versions from the notifications alone, reading no timeline', async () => {
    const id = await created('carried');
    const watcher = await watch(id);
    const before = counter.statements().length;
    for (const progress of [0.1, 0.2, 0.3]) await setProgress(id, progress);
    await waitFor('three more versions', () => watcher.seen.length === 4);
    expect(watcher.seen.map((s) => [s.version, s.progress])).toEqual([
      [1, 0],
      [2, 0.1],
      [3, 0.2],
      [4, 0.3],
    ]);
    expect(timelineReads(counter.statements().slice(before))).toEqual([]);
    watcher.stop();
  });

  it('reads the timeline for a version whose notification never came, and delivers it before the next one', async () => {
    const id = await created('lost');
    const watcher = await watch(id);
    await silentVersion(id, 0.5);
    const before = counter.statements().length;
    await setProgress(id, 0.6);
    await waitFor('both versions', () => watcher.seen.length === 3);
    expect(watcher.seen.map((s) => [s.version, s.progress])).toEqual([
      [1, 0],
      [2, 0.5],
      [3, 0.6],
    ]);
    expect(timelineReads(counter.statements().slice(before)).length).toBeGreaterThan(0);
    // And nothing twice: one more version arrives alone.
    await setProgress(id, 0.7);
    await waitFor('the next version', () => watcher.seen.length === 4);
    expect(watcher.seen.map((s) => s.version)).toEqual([1, 2, 3, 4]);
    watcher.stop();
  });

  it('reads the timeline for a version too big to carry, with two subscribers getting every version once', async () => {
    const id = await created('big');
    const first = await watch(id);
    const second = await watch(id);
    const longPrompt = `a very long prompt ${'x'.repeat(9000)}`;
    const before = counter.statements().length;
    await transition(server.app.database.db, id, { set: { prompt: longPrompt } });
    await setProgress(id, 0.9);
    await waitFor('both versions at both subscribers', () => first.seen.length === 3 && second.seen.length === 3);
    for (const watcher of [first, second]) {
      expect(watcher.seen.map((s) => s.version)).toEqual([1, 2, 3]);
      expect(watcher.seen[1]!.prompt).toBe(longPrompt);
      expect(watcher.seen[2]!.progress).toBeCloseTo(0.9);
    }
    expect(timelineReads(counter.statements().slice(before)).length).toBeGreaterThan(0);
    first.stop();
    second.stop();
  });

  it('reads the timeline when a notification carries something that is not the version it names', async () => {
    const id = await created('forged');
    const watcher = await watch(id);
    await silentVersion(id, 0.25);
    // Anyone with access may NOTIFY: a payload naming version 2 with another row in it must not be delivered.
    const forged = JSON.stringify({ id, version: 7, progress: 0.99 });
    await database.sql`select pg_notify('generation_updates', ${`${id}:2\n${forged}`})`;
    await waitFor('version 2 from the timeline', () => watcher.seen.length === 2);
    expect(watcher.seen.map((s) => [s.version, s.progress])).toEqual([
      [1, 0],
      [2, 0.25],
    ]);
    watcher.stop();
  });
});
