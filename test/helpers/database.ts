import { createHash, randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createApiKey, createApiKeyUnlessNameTaken, KEY_PREFIX } from '../../src/auth/keys.js';
import type { Db } from '../../src/db/open.js';
import { withDatabase } from './global-setup.js';

/** Whether a Postgres server is available; tests that need one use `describe.skipIf(!hasPostgres)`. */
export const hasPostgres = inject('postgresUrl') !== null;

export interface TestDatabase {
  url: string;
  /** Runs raw SQL against the test database (for assertions and fault setup). */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template; drop it in afterAll. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('No Postgres server for tests: start one or set TEST_DATABASE_URL.');
  const name = `reelql_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

/** A drizzle handle on a test database, for the src functions that take one. */
export const dbOf = (database: TestDatabase) => drizzle(database.sql) as unknown as Db;

let counter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** Creates a key in a database the test can reach with a drizzle handle. */
export async function createKey(db: Db, options: { name?: string; dailyBudgetUsd?: number; maxActive?: number } = {}) {
  return createApiKey(db, { ...options, name: options.name ?? uniqueName('test') });
}

/**
 * One key per test database however many servers share it, so a generation created through one server is
 * visible (owned by the same key) through the others. The key is derived from the database's URL, so every
 * caller computes the same key without shared state; the first one to ask stores it.
 */
export async function keyForDatabase(databaseUrl: string): Promise<string> {
  const digest = createHash('sha256').update(`reelql test key for ${databaseUrl}`).digest('base64url');
  const key = `${KEY_PREFIX}${digest}`;
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // Null when another server on this database stored it first: the same key either way.
    await createApiKeyUnlessNameTaken(drizzle(client) as unknown as Db, { name: `test-${digest.slice(0, 16)}`, key });
  } finally {
    await client.end();
  }
  return key;
}

/** Creates a key directly in a Postgres database by URL (for servers running in other processes). */
export async function createKeyIn(databaseUrl: string, options: { name?: string; dailyBudgetUsd?: number; maxActive?: number } = {}) {
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await createKey(drizzle(client) as unknown as Db, options);
  } finally {
    await client.end();
  }
}
