import { readdirSync, readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './helpers/wait.js';

/**
 * postgres.js 3.4.9 can throw from a deferred write after its socket closed (porsager/postgres#1154), which no
 * caller can catch, so the server would exit while Postgres restarts. patches/postgres+3.4.9.patch, applied by
 * `patch-package --error-on-fail` on install, guards that write (#1168), fails the query it belonged to instead
 * of leaving it waiting (#1209) unless the connection is still connecting (closed() reconnects those), and
 * resets the pending write timer and chunk when a connection closes, without which write() never schedules a
 * flush again on that connection. Remove the patch, this file and the dependency once a postgres.js release
 * contains a guarded nextWrite() and a closed() that resets nextWriteTimer: watch #1168 and #1209.
 */

const root = new URL('../', import.meta.url);
const patchFile = readdirSync(new URL('patches/', root)).find((name) => name.startsWith('postgres+'));

/** The lines the patch adds, per file it touches (paths relative to the project). */
function addedLinesByFile(patch: string): Map<string, string[]> {
  const files = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of patch.split('\n')) {
    const header = /^\+\+\+ b\/(.+)$/.exec(line);
    if (header) files.set(header[1]!, (current = []));
    else if (line.startsWith('+')) current.push(line.slice(1));
  }
  return files;
}

describe('the postgres.js patch', () => {
  it('is made for the postgres.js version that is installed', () => {
    const installed = (JSON.parse(readFileSync(new URL('node_modules/postgres/package.json', root), 'utf8')) as { version: string })
      .version;
    expect(patchFile).toBe(`postgres+${installed}.patch`);
  });

  it('is applied to every build of postgres.js (ESM, CommonJS, Cloudflare)', () => {
    const files = addedLinesByFile(readFileSync(new URL(`patches/${patchFile}`, root), 'utf8'));
    expect([...files.keys()].sort()).toEqual(
      ['cf/src', 'cjs/src', 'src'].map((dir) => `node_modules/postgres/${dir}/connection.js`).sort(),
    );
    for (const [file, added] of files) {
      const source = readFileSync(new URL(file, root), 'utf8');
      expect(added.length, file).toBeGreaterThan(0);
      for (const line of added) expect(source.includes(line), `${file} lacks: ${line}`).toBe(true);
    }
  });
});

describe.skipIf(!hasPostgres)('a connection whose backend was terminated', () => {
  let database: TestDatabase;
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await sql.end({ timeout: 1 });
    await database.drop();
  });

  it('fails later queries with CONNECTION_CLOSED instead of throwing from a deferred write', async () => {
    // A reserved connection is not rotated out by the pool, so its next writes meet the closed socket.
    const reserved = await sql.reserve();
    const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await database.sql`select pg_terminate_backend(${row!.pid})`;
    // Once the client has seen the close, every query on the connection fails as CONNECTION_CLOSED. (A query
    // sent while the close is still in flight meets the reset socket instead; that race is not what this checks.)
    await waitFor('the terminated backend to be gone', async () =>
      (await database.sql`select 1 from pg_stat_activity where pid = ${row!.pid}`).length === 0,
    );
    await sleep(500);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    }
    reserved.release();
  });
});
