import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startStatementCounter, type StatementCounter } from './helpers/statement-counter.js';
import { waitFor } from './helpers/wait.js';

/**
 * The hot path of generateVideo: what one request costs in statements, and that the fewer statements still commit
 * the generation with its first event before the answer and notify both the subscribers and the workers.
 */

const GENERATE_ID = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { __typename ... on GenerateVideoSuccess { generation { id version } } }
}`;

describe.skipIf(!hasPostgres)('statements of one generateVideo', () => {
  let database: TestDatabase;
  let counter: StatementCounter;
  let server: TestApp;
  const notified: { channel: string; payload: string }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    counter = await startStatementCounter(database.url);
    // API only: no worker, so nothing else runs SQL between requests.
    server = await startTestApp({ DATABASE_URL: counter.url, ROLE: 'api' });
    for (const channel of ['generation_updates', 'generation_jobs']) {
      await database.sql.listen(channel, (payload) => notified.push({ channel, payload }));
    }
  });
  afterAll(async () => {
    await server?.stop();
    await counter?.close();
    await database?.drop();
  });

  async function generate(prompt: string) {
    const before = counter.statements().length;
    const body = await server.graphql<{ generateVideo: { generation: { id: string; version: number } } }>(GENERATE_ID, {
      input: { prompt, durationSeconds: 4 },
    });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return { id: body.data!.generateVideo.generation.id, statements: counter.statements().slice(before) };
  }

  it('takes six statements: the key, and one transaction whose event INSERT carries both NOTIFYs', async () => {
    // The first request of a connection prepares the statements; later ones only bind and run them.
    await generate('warm-up');
    const { statements } = await generate('a lighthouse at dusk');
    expect(statements.map((s) => s.trim().split(/\s+/)[0]!.toLowerCase())).toEqual([
      'select', // the API key
      'begin',
      'select', // the key row, locked
      'insert', // the generation
      'with', // its first event and both NOTIFYs
      'commit',
    ]);
    expect(statements[4]).toMatch(/insert into generation_events[\s\S]*pg_notify\(\$8, \$9\), pg_notify\(\$10, \$11\)/);
  });

  it('has the generation and its created event committed when it answers, and notifies subscribers and workers', async () => {
    const { id } = await generate('committed before the answer');
    const [row] = await database.sql`select status, version from generations where id = ${id}`;
    expect(row).toEqual({ status: 'QUEUED', version: 1 });
    const events = await database.sql`select version, type, snapshot from generation_events where generation_id = ${id}`;
    expect(events).toHaveLength(1);
    expect(events[0]!.version).toBe(1);
    expect(events[0]!.snapshot).toMatchObject({ id, status: 'QUEUED', version: 1, prompt: 'committed before the answer' });
    expect(typeof events[0]!.snapshot.createdAt).toBe('string');
    await waitFor('the job notification', () => notified.some((n) => n.channel === 'generation_jobs' && n.payload === id));
    expect(notified.some((n) => n.channel === 'generation_updates' && n.payload.startsWith(`${id}:1`))).toBe(true);
  });
});
