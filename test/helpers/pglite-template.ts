import { cp } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';

/**
 * Gives a fresh data directory the run's migrated PGlite database (made once by the global setup), as the
 * Postgres tests clone a template database: creating one from nothing (initdb and the migrations) costs about
 * 10 CPU-seconds, copying it a few milliseconds. The server then opens it as it would its own from an earlier
 * start. Tests of the very first start (an empty data directory) pass a DATA_DIR of their own, which is not seeded.
 */
export async function seedPgliteDataDir(dataDir: string): Promise<void> {
  await cp(path.join(inject('pgliteTemplate'), 'pglite'), path.join(dataDir, 'pglite'), { recursive: true });
}
