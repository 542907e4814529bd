import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey, type ApiKey } from '../../src/auth/keys.js';
import { openDatabase, type Database } from '../../src/db/open.js';
import { generations, type NewGenerationRow } from '../../src/db/schema.js';
import { admitGeneration, KeyRevokedError, nextUtcMidnight } from '../../src/generations/admission.js';
import { BudgetExceededError, IdempotencyKeyReusedError, TooManyActiveGenerationsError } from '../../src/generations/errors.js';
import { seedPgliteDataDir } from '../helpers/pglite-template.js';

// Admission's rules against an in-process PGlite: no Postgres server, no HTTP.
let dataDir: string;
let database: Database;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-admission-'));
  await seedPgliteDataDir(dataDir); // a migrated copy: creating one costs about 10 CPU-seconds
  database = await openDatabase({ url: undefined, dataDir });
});

afterAll(async () => {
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
});

const newKey = async (limits: { maxActive?: number; dailyBudgetUsd?: number } = {}): Promise<ApiKey> =>
  (await createApiKey(database.db, { name: `admission-${randomUUID().slice(0, 8)}`, ...limits })).apiKey;

/** A 4-second silent request: $0.40 at list price. */
function request(apiKey: ApiKey, extra: Partial<NewGenerationRow> = {}): NewGenerationRow {
  return {
    id: randomUUID(),
    prompt: 'a lighthouse at dusk',
    aspectRatio: '16:9',
    durationSeconds: 4,
    resolution: '720p',
    generateAudio: false,
    seed: 7,
    apiKeyId: apiKey.id,
    provider: 'SIMULATOR',
    costUsd: '0.40',
    deadlineAt: new Date(Date.now() + 3_600_000),
    inputHash: 'input-a',
    ...extra,
  };
}

const admit = (apiKey: ApiKey, values: NewGenerationRow, priceUsd = 0.4, serverDailyBudgetUsd?: number) =>
  admitGeneration(database.db, { apiKey, values, priceUsd, serverDailyBudgetUsd });

const countOf = async (apiKey: ApiKey) =>
  (await database.db.select().from(generations).where(eq(generations.apiKeyId, apiKey.id))).length;

describe('idempotency', () => {
  it('answers a repeat with the same input with the earlier generation and creates nothing', async () => {
    const key = await newKey();
    const first = await admit(key, request(key, { idempotencyKey: 'once' }));
    const again = await admit(key, request(key, { idempotencyKey: 'once' }));
    expect(first.repeated).toBe(false);
    expect(again).toMatchObject({ repeated: true, generation: { id: first.generation.id } });
    expect(await countOf(key)).toBe(1);
  });

  it('refuses the same idempotency key with a different input, naming the first generation', async () => {
    const key = await newKey();
    const first = await admit(key, request(key, { idempotencyKey: 'reused' }));
    const reuse = admit(key, request(key, { idempotencyKey: 'reused', inputHash: 'input-b' }));
    await expect(reuse).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(reuse).rejects.toMatchObject({ idempotencyKey: 'reused', generationId: first.generation.id });
    expect(await countOf(key)).toBe(1);
  });

  it('keeps idempotency keys apart between API keys', async () => {
    const [a, b] = [await newKey(), await newKey()];
    await admit(a, request(a, { idempotencyKey: 'shared' }));
    const other = await admit(b, request(b, { idempotencyKey: 'shared', inputHash: 'input-b' }));
    expect(other.repeated).toBe(false);
  });
});

describe('active cap', () => {
  it('refuses a generation over the cap and counts only unfinished ones', async () => {
    const key = await newKey({ maxActive: 2 });
    const first = await admit(key, request(key));
    await admit(key, request(key));
    await expect(admit(key, request(key))).rejects.toMatchObject({ constructor: TooManyActiveGenerationsError, limit: 2, active: 2 });
    await database.db.update(generations).set({ status: 'SUCCEEDED', completedAt: new Date() }).where(eq(generations.id, first.generation.id));
    await expect(admit(key, request(key))).resolves.toMatchObject({ repeated: false });
  });
});

describe('key budget', () => {
  it('admits up to the budget exactly and refuses the next one, saying when it resets', async () => {
    // $0.10 + $0.20 is 0.30000000000000004 in floating point: the margin still lets it fill a $0.30 budget.
    const key = await newKey({ dailyBudgetUsd: 0.3 });
    await admit(key, request(key, { costUsd: '0.10' }), 0.1);
    await admit(key, request(key, { costUsd: '0.20' }), 0.2);
    const refused = admit(key, request(key, { costUsd: '0.10' }), 0.1);
    await expect(refused).rejects.toBeInstanceOf(BudgetExceededError);
    await expect(refused).rejects.toMatchObject({ scope: 'KEY', limitUsd: 0.3, usedUsd: 0.3, priceUsd: 0.1, resetsAt: nextUtcMidnight() });
  });

  it('counts what is still running from an earlier day, and what ended today, but not what ended before', async () => {
    const key = await newKey({ dailyBudgetUsd: 1 });
    const yesterday = new Date(Date.now() - 30 * 3_600_000);
    const earlier = (extra: Partial<NewGenerationRow>) =>
      database.db.insert(generations).values(request(key, { createdAt: yesterday, costUsd: '0.30', ...extra }));
    await earlier({ status: 'PROCESSING' });
    await earlier({ status: 'SUCCEEDED', completedAt: new Date() });
    await earlier({ status: 'SUCCEEDED', completedAt: yesterday, costUsd: '5' });
    const refused = admit(key, request(key, { costUsd: '0.50' }), 0.5);
    await expect(refused).rejects.toMatchObject({ scope: 'KEY', usedUsd: 0.6 });
    await expect(admit(key, request(key), 0.4)).resolves.toMatchObject({ repeated: false });
  });
});

describe('server budget', () => {
  it("counts every key's spend and refuses what would go over it", async () => {
    await database.db.execute(sql`truncate generations cascade`);
    const [a, b] = [await newKey(), await newKey()];
    await admit(a, request(a, { costUsd: '0.60' }), 0.6, 1);
    const refused = admit(b, request(b, { costUsd: '0.60' }), 0.6, 1);
    await expect(refused).rejects.toMatchObject({ constructor: BudgetExceededError, scope: 'SERVER', limitUsd: 1, usedUsd: 0.6 });
    await expect(admit(b, request(b), 0.4, 1)).resolves.toMatchObject({ repeated: false });
    await expect(admit(b, request(b), 0.4)).resolves.toMatchObject({ repeated: false });
  });
});

describe('revoked key', () => {
  it('queues nothing for a key revoked after it authenticated, nor for one that is gone', async () => {
    const key = await newKey();
    await revokeApiKey(database.db, key.name);
    await expect(admit(key, request(key))).rejects.toBeInstanceOf(KeyRevokedError);
    const gone = { ...key, id: randomUUID() };
    await expect(admit(gone, request(key))).rejects.toBeInstanceOf(KeyRevokedError);
    expect(await countOf(key)).toBe(0);
  });
});
