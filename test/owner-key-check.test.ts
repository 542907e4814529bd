import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../src/auth/keys.js';
import { openDatabase, type Database } from '../src/db/open.js';
import { createOwnerKeyCheck, type OwnerKeyCheck } from '../src/storage/owner-key-check.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startStatementCounter, type StatementCounter } from './helpers/statement-counter.js';
import { waitFor } from './helpers/wait.js';

/**
 * `/videos` asks whether a generation's owner key is active on every request; the answers are cached and a key's
 * answers are forgotten when its revocation is announced. Real Postgres; the revocation comes from another
 * connection, as from the keys CLI or another replica.
 */

const GENERATE_ID = `mutation G($input: GenerateVideoInput!) {
  generateVideo(input: $input) { ... on GenerateVideoSuccess { generation { id } } }
}`;

describe.skipIf(!hasPostgres)('the owner-key check of /videos', () => {
  let database: TestDatabase;
  let counter: StatementCounter;
  let server: TestApp;
  let checked: Database;
  let check: OwnerKeyCheck;

  beforeAll(async () => {
    database = await createTestDatabase();
    counter = await startStatementCounter(database.url);
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    checked = await openDatabase({ url: counter.url, dataDir: 'memory://', maxConnections: 2 });
    check = await createOwnerKeyCheck(checked);
  });
  afterAll(async () => {
    await check?.close();
    await checked?.close();
    await server?.stop();
    await counter?.close();
    await database?.drop();
  });

  async function generationOf(key: string): Promise<string> {
    const body = await server.graphql<{ generateVideo: { generation: { id: string } } }>(
      GENERATE_ID,
      { input: { prompt: 'a cached owner', durationSeconds: 4 } },
      { authorization: `Bearer ${key}` },
    );
    return body.data!.generateVideo.generation.id;
  }
  const ownerReads = () => counter.statements().filter((sql) => /from "generations" left join "api_keys"/i.test(sql)).length;

  it('reads a generation’s owner once, then answers from the cache', async () => {
    const owner = await createKeyIn(database.url);
    const id = await generationOf(owner.key);
    const before = ownerReads();
    for (let i = 0; i < 5; i++) expect(await check.isActive(id)).toBe(true);
    expect(ownerReads() - before).toBe(1);
  });

  it('answers false once the revocation is announced, for that key’s generations only', async () => {
    const owner = await createKeyIn(database.url);
    const other = await createKeyIn(database.url);
    const [mine, alsoMine, theirs] = [await generationOf(owner.key), await generationOf(owner.key), await generationOf(other.key)];
    for (const id of [mine, alsoMine, theirs]) expect(await check.isActive(id)).toBe(true);
    expect(await revokeApiKey(dbOf(database), owner.apiKey.name)).not.toBeNull();
    await waitFor('the revocation to reach the check', async () => !(await check.isActive(mine)));
    expect(await check.isActive(alsoMine)).toBe(false);
    expect(await check.isActive(theirs)).toBe(true);
  });

  it('does not refuse an unknown generation (the file lookup answers it) and caches nothing for it', async () => {
    const before = ownerReads();
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(await check.isActive(unknown)).toBe(true);
    expect(await check.isActive(unknown)).toBe(true);
    expect(ownerReads() - before).toBe(2);
  });
});
