import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { createApiKey } from '../../src/auth/keys.js';
import type { Db } from '../../src/db/open.js';

/** `Authorization: Bearer <key>`, or nothing without a key. */
export function authHeaders(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

let counter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** Creates a key in a database the test can reach with a drizzle handle. */
export async function createKey(db: Db, options: { name?: string; dailyBudgetUsd?: number; maxActive?: number } = {}) {
  return createApiKey(db, { ...options, name: options.name ?? uniqueName('test') });
}

const keysByDatabase = new Map<string, Promise<string>>();

/**
 * One key per test database, made once however many servers share that database, so a generation created
 * through one server is visible (owned by the same key) through the others.
 */
export function keyForDatabase(databaseUrl: string): Promise<string> {
  let key = keysByDatabase.get(databaseUrl);
  if (!key) keysByDatabase.set(databaseUrl, (key = createKeyIn(databaseUrl).then((created) => created.key)));
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
