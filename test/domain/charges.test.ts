import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, type ApiKey } from '../../src/auth/keys.js';
import { openDatabase, type Database } from '../../src/db/open.js';
import { generationEvents, generations, type GenerationRow } from '../../src/db/schema.js';
import { admitGeneration } from '../../src/generations/admission.js';
import { cancelGeneration, cancelUnsubmittedTx } from '../../src/generations/lifecycle.js';
import {
  costOnFailure,
  NOTHING_CHARGED,
  repeatedCrashFailure,
  timeoutFailure,
  unusableResultFailure,
  upstreamFailure,
} from '../../src/generations/charges.js';
import { NotCancelableError, NotFoundError } from '../../src/generations/errors.js';
import { createLogger } from '../../src/logger.js';
import { GenerationRun, type RunnerDeps } from '../../src/worker/generation-run.js';
import { seedPgliteDataDir } from '../helpers/pglite-template.js';

// What is charged when, against an in-process PGlite: no Postgres server, no HTTP, no Segmind.
let dataDir: string;
let database: Database;
let key: ApiKey;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-charges-'));
  await seedPgliteDataDir(dataDir); // a migrated copy: creating one costs about 10 CPU-seconds
  database = await openDatabase({ url: undefined, dataDir });
  key = (await createApiKey(database.db, { name: 'charges' })).apiKey;
});

afterAll(async () => {
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A queued $0.40 generation of the test key, with `changes` written straight into its row. */
async function queued(changes: Partial<GenerationRow> = {}): Promise<GenerationRow> {
  const values = {
    id: randomUUID(),
    prompt: 'waves on a pier',
    aspectRatio: '16:9',
    durationSeconds: 4,
    resolution: '720p',
    generateAudio: false,
    seed: 3,
    apiKeyId: key.id,
    provider: 'SIMULATOR',
    costUsd: '0.40',
    deadlineAt: new Date(Date.now() + 3_600_000),
  };
  const { generation } = await admitGeneration(database.db, { apiKey: key, values, priceUsd: 0.4, serverDailyBudgetUsd: undefined });
  if (Object.keys(changes).length === 0) return generation;
  const [row] = await database.db.update(generations).set(changes).where(eq(generations.id, generation.id)).returning();
  return row!;
}

const reread = async (id: string) => (await database.db.select().from(generations).where(eq(generations.id, id)))[0]!;

const canceledEventOf = async (id: string) =>
  (await database.db.select().from(generationEvents).where(eq(generationEvents.generationId, id))).find((e) => e.type === 'canceled');

describe('cancel', () => {
  it.each([
    ['before any submit: nothing is charged, and the zero is final', false, 0],
    ['after a submit was marked: a charge may apply, and the estimate is kept', true, 0.4],
  ] as const)('%s', async (_when, marked, cost) => {
    const row = await queued(marked ? { submitStartedAt: new Date() } : {});
    const outcome = await cancelGeneration(database.db, key.id, row.id);
    expect(outcome.chargeMayApply).toBe(marked);
    expect(outcome.generation).toMatchObject({ status: 'CANCELED', costFinal: !marked });
    expect(Number(outcome.generation.costUsd)).toBe(cost);
    expect((await canceledEventOf(row.id))?.data).toEqual({ chargeMayApply: marked });
  });

  it('after Segmind accepted the job: a charge may apply, and the estimate is kept', async () => {
    const row = await queued({ status: 'PROCESSING', segmindRequestId: 'job-1', submitStartedAt: new Date() });
    const outcome = await cancelGeneration(database.db, key.id, row.id);
    expect(outcome).toMatchObject({ chargeMayApply: true, generation: { status: 'CANCELED', costFinal: false } });
    expect(Number(outcome.generation.costUsd)).toBe(0.4);
  });

  it('answers a canceled generation again, refuses a finished one, and hides unknown ones', async () => {
    const row = await queued();
    const first = await cancelGeneration(database.db, key.id, row.id);
    await expect(cancelGeneration(database.db, key.id, row.id)).resolves.toEqual(first);
    const done = await queued({ status: 'SUCCEEDED', segmindRequestId: 'job-2' });
    await expect(cancelGeneration(database.db, key.id, done.id)).rejects.toBeInstanceOf(NotCancelableError);
    await expect(cancelGeneration(database.db, key.id, randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancelGeneration(database.db, key.id, 'not-an-id')).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancelGeneration(database.db, randomUUID(), row.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("on revocation cancels only what was never sent, at a final zero, and leaves a marked submit's job alone", async () => {
    await database.db.execute(sql`truncate generations cascade`);
    const unsent = await queued();
    const marked = await queued({ submitStartedAt: new Date() });
    const count = await database.db.transaction((tx) => cancelUnsubmittedTx(tx, key.id, 'Canceled: key revoked.'));
    expect(count).toBe(1);
    expect(await reread(unsent.id)).toMatchObject({ status: 'CANCELED', costUsd: '0.0000', costFinal: true });
    expect(await reread(marked.id)).toMatchObject({ status: 'QUEUED', costUsd: '0.4000', costFinal: false });
    expect(await canceledEventOf(unsent.id)).toMatchObject({ message: 'Canceled: key revoked.', data: { chargeMayApply: false } });
  });
});

describe('failures', () => {
  const accepted = { segmindRequestId: 'job-3', submitStartedAt: new Date() };
  const neverSent = { segmindRequestId: null, submitStartedAt: null };

  it('charges nothing for a job Segmind never accepted, unless it may have taken it', () => {
    expect(costOnFailure(neverSent, { code: 'UPSTREAM_UNAVAILABLE', message: 'down', retryable: true })).toEqual(NOTHING_CHARGED);
    expect(costOnFailure(neverSent, { code: 'UPSTREAM_UNREADABLE', message: '2xx', retryable: true, mayBeCharged: true })).toEqual({});
    expect(costOnFailure(accepted, { code: 'GENERATION_FAILED', message: 'failed', retryable: true })).toEqual({});
  });

  it('charges nothing for a safety block, even one Segmind accepted', () => {
    const blocked = upstreamFailure('Segmind', 'Blocked by safety filters. Support codes: 1234');
    expect(blocked).toMatchObject({ code: 'CONTENT_BLOCKED', retryable: false });
    expect(costOnFailure(accepted, blocked)).toEqual(NOTHING_CHARGED);
    expect(upstreamFailure('Segmind', 'out of memory')).toMatchObject({ code: 'GENERATION_FAILED', retryable: true });
  });

  it('says whether a timeout may be charged by how far the job got', () => {
    const unsent = timeoutFailure(neverSent, 'Segmind');
    expect(unsent.mayBeCharged).toBeFalsy();
    expect(unsent.message).toContain('nothing is charged');
    expect(costOnFailure(neverSent, unsent)).toEqual(NOTHING_CHARGED);
    const markedOnly = timeoutFailure({ segmindRequestId: null, submitStartedAt: new Date() }, 'Segmind');
    expect(markedOnly).toMatchObject({ code: 'TIMEOUT', mayBeCharged: true });
    expect(costOnFailure({ segmindRequestId: null }, markedOnly)).toEqual({});
    expect(timeoutFailure(accepted, 'the Segmind simulator').message).toContain('The Segmind simulator had accepted it');
  });

  it('keeps the estimate when a job may have been billed without a recorded answer', () => {
    for (const failure of [repeatedCrashFailure('Segmind'), unusableResultFailure(5)]) {
      expect(failure.mayBeCharged).toBe(true);
      expect(costOnFailure(neverSent, failure)).toEqual({});
    }
  });

  it('is what a worker writes when it fails a generation', async () => {
    const row = await queued({ leaseOwner: 'worker-1', leaseExpiresAt: new Date(Date.now() + 60_000) });
    const deps = { db: database.db, workerId: 'worker-1', log: createLogger('silent', { write: () => {} }) } as unknown as RunnerDeps;
    const run = new GenerationRun(row, deps, new AbortController().signal);
    const failed = await run.fail(timeoutFailure(row, run.upstream));
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'TIMEOUT', costUsd: '0.0000', costFinal: true, leaseOwner: null });
  });
});
