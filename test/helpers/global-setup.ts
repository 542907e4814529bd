import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the Postgres server for tests, or null when none is reachable. */
    postgresUrl: string | null;
    /** Name of the migrated template database each test file clones. */
    templateDatabase: string;
  }
}

export const TEMPLATE_DATABASE = 'reelql_test_template';

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
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  project.provide('templateDatabase', TEMPLATE_DATABASE);
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
    return;
  }
  await admin.unsafe(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();
  const template = await openDatabase({ url: withDatabase(url, TEMPLATE_DATABASE), dataDir: '', maxConnections: 1 });
  await template.close();
  project.provide('postgresUrl', url);
}
