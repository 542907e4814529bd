import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { insertGenerationTx } from '../src/events/timeline.js';
import { openDatabase, type Database } from '../src/db/open.js';
import { activeStatuses } from '../src/generations/lifecycle.js';
import { claimNext, type SubmitLimits } from '../src/worker/claim.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { newGenerationRow } from './helpers/generation-rows.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startStatementCounter, type StatementCounter } from './helpers/statement-counter.js';

/**
 * A worker's claim is one statement (drizzle/0004_claim_function.sql): the pick, the lease, the shared submit
 * limits and the submit slot in one round trip. Real Postgres through a statement-counting relay; the generations
 * come from the API, as in production.
 */

const GENERATE_ID = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { ... on GenerateVideoSuccess { generation { id } } }
}`;

const noExclusions = { driving: [] as string[], submitWindowMs: 60_000 };
const never = () => false;

describe.skipIf(!hasPostgres)('a worker’s claim', () => {
  let database: TestDatabase;
  let counter: StatementCounter;
  let server: TestApp;
  let worker: Database;
  let key: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    counter = await startStatementCounter(database.url);
    // API only: the claims below are the only ones.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    worker = await openDatabase({ url: counter.url, dataDir: 'memory://', maxConnections: 2 });
    key = (await createKeyIn(database.url, { maxActive: 50 })).key;
  });
  afterAll(async () => {
    await worker?.close();
    await server?.stop();
    await counter?.close();
    await database?.drop();
  });

  async function generate(prompt: string): Promise<string> {
    const body = await server.graphql<{ generateVideo: { generation: { id: string } } }>(
      GENERATE_ID,
      { input: { prompt, durationSeconds: 4 } },
      { authorization: `Bearer ${key}` },
    );
    return body.data!.generateVideo.generation.id;
  }
  const limits = (overrides: Partial<SubmitLimits> = {}): SubmitLimits => ({ keyId: 'claim-test', maxInFlight: 10, submitsPerMinute: 100, ...overrides });
  const release = () => database.sql`update generations set lease_owner = null, lease_expires_at = null`;
  const finishAll = () => database.sql`update generations set status = 'CANCELED', lease_owner = null, lease_expires_at = null`;

  it('takes one statement, leases the row to the worker and records the submit slot', async () => {
    const id = await generate('claimed in one round trip');
    const before = counter.statements().length;
    const row = await claimNext(worker.db, 'worker-a', 30_000, limits(), noExclusions, never);
    expect(counter.statements().slice(before)).toHaveLength(1);
    expect(row).toMatchObject({ id, status: 'QUEUED', leaseOwner: 'worker-a', prompt: 'claimed in one round trip' });
    // Mapped like any drizzle row: timestamps are Dates.
    expect(row!.leaseExpiresAt).toBeInstanceOf(Date);
    expect(row!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(row!.createdAt).toBeInstanceOf(Date);
    const slots = await database.sql`select key_id from segmind_submits where generation_id = ${id}`;
    expect(slots).toEqual([{ key_id: 'claim-test' }]);
    // Leased: nobody claims it again.
    expect(await claimNext(worker.db, 'worker-b', 30_000, limits(), noExclusions, never)).toBeNull();
    await finishAll();
  });

  it('picks among the statuses the domain calls active (the function writes them out, as the due index does)', async () => {
    const [row] = await database.sql<{ body: string }[]>`select prosrc as body from pg_proc where proname = 'reelql_lease_due'`;
    expect(row!.body).toContain(`IN (${activeStatuses.map((status) => `'${status}'`).join(', ')})`);
  });

  it('claims no new submit past the in-flight cap or the per-minute rate, nor what the worker is driving', async () => {
    const first = await generate('in flight');
    const second = await generate('waits for a slot');
    expect((await claimNext(worker.db, 'worker-a', 30_000, limits({ maxInFlight: 1 }), noExclusions, never))?.id).toBe(first);
    // The first counts as in flight while its lease is live.
    expect(await claimNext(worker.db, 'worker-a', 30_000, limits({ maxInFlight: 1 }), noExclusions, never)).toBeNull();
    await release();
    // Both submits of the last minute are in segmind_submits (this test's and the one before it).
    expect(await claimNext(worker.db, 'worker-a', 30_000, limits({ submitsPerMinute: 2 }), noExclusions, never)).toBeNull();
    const driving = { ...noExclusions, driving: [first, second] };
    expect(await claimNext(worker.db, 'worker-a', 30_000, limits(), driving, never)).toBeNull();
    expect((await claimNext(worker.db, 'worker-a', 30_000, limits(), { ...noExclusions, driving: [first] }, never))?.id).toBe(second);
    await finishAll();
  });

  it('takes back work Segmind already has before any new submit, without a submit slot', async () => {
    const fresh = await generate('a new one');
    const resumed = await generate('already at Segmind');
    await database.sql`update generations set status = 'PROCESSING', segmind_request_id = 'req-1', run_after = now() + interval '1 second' where id = ${resumed}`;
    await database.sql`update generations set run_after = now() - interval '1 minute' where id = ${fresh}`;
    // Even with no slot left for new submits.
    const row = await claimNext(worker.db, 'worker-a', 30_000, limits({ maxInFlight: 0 }), noExclusions, never);
    expect(row).toBeNull();
    await database.sql`update generations set run_after = now() where id = ${resumed}`;
    const taken = await claimNext(worker.db, 'worker-a', 30_000, limits({ maxInFlight: 0 }), noExclusions, never);
    expect(taken).toMatchObject({ id: resumed, status: 'PROCESSING', segmindRequestId: 'req-1', leaseOwner: 'worker-a' });
    expect(await database.sql`select 1 from segmind_submits where generation_id = ${resumed}`).toHaveLength(0);
    await finishAll();
  });
});

describe('a worker’s claim on the embedded database', () => {
  it('runs the same function on PGlite: leases a queued generation, then respects the in-flight cap', async () => {
    const embedded = await openDatabase({ url: undefined, dataDir: 'memory://' });
    try {
      const { apiKey } = await createApiKey(embedded.db, { name: 'claims' });
      const row = (prompt: string) => newGenerationRow(apiKey.id, { prompt, costUsd: '0.4000' });
      const first = await embedded.db.transaction((tx) => insertGenerationTx(tx, row('first')));
      await embedded.db.transaction((tx) => insertGenerationTx(tx, row('second')));
      const oneAtATime = { keyId: 'k', maxInFlight: 1, submitsPerMinute: 10 };
      const claimed = await claimNext(embedded.db, 'worker-a', 30_000, oneAtATime, noExclusions, () => true);
      expect(claimed).toMatchObject({ id: first.id, leaseOwner: 'worker-a' });
      expect(claimed!.leaseExpiresAt).toBeInstanceOf(Date);
      expect(await claimNext(embedded.db, 'worker-a', 30_000, oneAtATime, noExclusions, () => true)).toBeNull();
    } finally {
      await embedded.close();
    }
  });
});
