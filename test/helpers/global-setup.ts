import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { promisify } from 'node:util';
import { openDatabase } from '../../src/db/open.js';
import { ensureBuild } from './build.js';

const execFileAsync = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the Postgres server for tests, or null when none is reachable. */
    postgresUrl: string | null;
    /** Name of the migrated template database each test file clones. */
    templateDatabase: string;
    /** A data directory holding a migrated PGlite database, which test servers start from (see seedPgliteDataDir). */
    pgliteTemplate: string;
  }
}

/** One template per run, so runs against the same server do not drop each other's template. */
const TEMPLATE_DATABASE = `reelql_template_${process.pid}_${Date.now().toString(36)}`;

/**
 * Opens (so creates and migrates) a PGlite database in `dataDir` with the server's own code, in a child process:
 * vite's module runner, which runs this setup, lacks the `import.meta.resolve` that code uses.
 */
async function createPgliteTemplate(dataDir: string): Promise<void> {
  const openModule = new URL('../../src/db/open.ts', import.meta.url).href;
  const script = `const { openDatabase } = await import(${JSON.stringify(openModule)});
await (await openDatabase({ url: '', dataDir: ${JSON.stringify(dataDir)}, maxConnections: 1 })).close();`;
  await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 120_000 });
}

/** Replaces the database name in a connection URL. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * Migrates a template database once per run; each test file then clones it (CREATE DATABASE … TEMPLATE),
 * which is much faster than migrating per file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  const pgliteTemplate = await mkdtemp(path.join(os.tmpdir(), 'reelql-pglite-template-'));
  await Promise.all([createPgliteTemplate(pgliteTemplate), ensureBuild()]);
  project.provide('pgliteTemplate', pgliteTemplate);
  const removePgliteTemplate = () => rm(pgliteTemplate, { recursive: true, force: true });
  const admin = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 3 });
  try {
    await admin`select 1`;
  } catch (error) {
    await admin.end({ timeout: 1 });
    if (process.env.CI) {
      throw new Error(`Postgres is required in CI but ${url} is unreachable: ${String(error)}`, { cause: error });
    }
    console.warn(
      `\nPostgres is not reachable at ${url}: the Postgres tests are SKIPPED.\n` +
        'Start Postgres (or set TEST_DATABASE_URL) to run them.\n',
    );
    project.provide('postgresUrl', null);
    return removePgliteTemplate;
  }
  // In CI (the only run on its server) clear databases left behind by runs that were killed.
  const leftovers = !process.env.CI ? [] : await admin<{ datname: string }[]>`
    select datname from pg_database
    where (datname like 'reelql_template_%' or datname like 'reelql_test_%')
      and (select count(*) from pg_stat_activity a where a.datname = pg_database.datname) = 0
      and datname <> ${TEMPLATE_DATABASE}`;
  for (const { datname } of leftovers) await admin.unsafe(`drop database if exists ${datname}`).catch(() => undefined);
  await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  const template = await openDatabase({ url: withDatabase(url, TEMPLATE_DATABASE), dataDir: '', maxConnections: 1 });
  await template.close();
  project.provide('postgresUrl', url);
  return async () => {
    await admin.unsafe(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await admin.end();
    await removePgliteTemplate();
  };
}
