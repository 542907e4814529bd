import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { lockDirectory } from './directory-lock.js';
import * as schema from './schema.js';

/** The drizzle handle, the same type over postgres.js and PGlite. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle as drizzle passes it to `db.transaction`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  /** 'postgres' for a server, 'pglite' for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** The data directory this process holds exclusively while open: set for PGlite stored on disk. */
  directory?: string;
  /**
   * Subscribes to a NOTIFY channel; the returned function stops listening. `onRelisten` runs after the
   * listening connection was lost and re-established: notifications sent meanwhile are gone, so callers
   * re-read what they care about.
   */
  listen(channel: string, onPayload: (payload: string) => void, onRelisten?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Advisory lock id held while migrating (released when the migrating connection closes). */
const MIGRATION_LOCK = 7_206_411_341;

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface DatabaseOptions {
  /** Postgres URL; unset → PGlite stored in `dataDir`. */
  url: string | undefined;
  /** Directory for PGlite's files (`<dataDir>/pglite`); `memory://` keeps it in memory. */
  dataDir: string;
  /** postgres.js pool size. @default 10 */
  maxConnections?: number;
  /** What this process is, shown to another one that finds PGlite's directory taken. @default 'reelql server' */
  holder?: string;
}

/** The lock file that keeps a second process out of `<dataDir>/pglite`. */
export const pgliteLockFile = (dataDir: string) => path.join(dataDir, 'pglite.lock');

/** Opens the database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url
    ? openPostgres(options.url, options.maxConnections ?? 10)
    : openPglite(options.dataDir, options.holder ?? 'reelql server');
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  // Replicas starting together take turns: the first migrates, the others find nothing left to do.
  const migrator = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(drizzle(migrator), { migrationsFolder });
  } finally {
    await migrator.end({ timeout: 5 });
  }
  // Reconnect quickly after Postgres restarts: the driver's default waits up to 20 s between attempts.
  // fetch_types off: we use no array columns, and the driver's type query on every new connection rejects
  // unhandled when Postgres goes away during it (which would end the process).
  const client = postgres(url, {
    max,
    onnotice: () => {},
    fetch_types: false,
    backoff: (attempt) => Math.min(0.05 * 2 ** attempt, 1),
  });
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    async listen(channel, onPayload, onRelisten) {
      // postgres.js keeps one dedicated connection for all listeners and re-LISTENs after reconnecting;
      // its onlisten callback runs on every (re)connect, the first one included.
      let connected = false;
      const subscription = await client.listen(channel, onPayload, () => {
        if (connected) onRelisten?.();
        connected = true;
      });
      return () => subscription.unlisten();
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * Postgres settings of the embedded database. shared_buffers is 160 MB in PGlite's defaults, nearly all of it
 * resident once touched; one server's working set of generations and events fits in far less.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=512kB'];

/** Whether `location` already holds a PGlite (Postgres) data directory. */
const isPgliteDirectory = (location: string) =>
  fs.access(path.join(location, 'PG_VERSION')).then(
    () => true,
    () => false,
  );

/**
 * Creates the data directory in a short-lived child process. PGlite runs initdb in a second WASM instance of its
 * own, and the memory of both would otherwise stay with the server (about 500 MB more at ready: a garbage
 * collection that frees it may never come, and even a worker thread's memory is not all returned when it ends);
 * a process's memory is. The child's code is plain JavaScript, as it does not run the TypeScript loader this
 * module may be running under.
 */
async function initializePgliteDirectory(location: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const pglite = import.meta.resolve('@electric-sql/pglite');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PGLITE_INIT_SCRIPT, pglite, location], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`Creating the PGlite data directory ${location} failed (exit code ${code}): ${stderr.trim()}`)),
    );
  });
}
const PGLITE_INIT_SCRIPT = `
const [pglite, location] = process.argv.slice(1);
const { PGlite } = await import(pglite);
const client = await PGlite.create(location);
await client.close();`;

async function openPglite(dataDir: string, holder: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const onDisk = !dataDir.startsWith('memory://');
  // PGlite is single-process: a second process on the same files loses data, so it must never open them.
  if (onDisk) await fs.mkdir(dataDir, { recursive: true });
  const lock = onDisk ? await lockDirectory(pgliteLockFile(dataDir), holder) : undefined;
  try {
    const location = onDisk ? path.join(dataDir, 'pglite') : dataDir;
    if (onDisk) await fs.mkdir(location, { recursive: true });
    if (onDisk && !(await isPgliteDirectory(location))) await initializePgliteDirectory(location);
    const client = await PGlite.create(location, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] });
    const db = drizzle(client, { schema });
    try {
      await migrate(db, { migrationsFolder });
    } catch (error) {
      await client.close();
      throw error;
    }
    return {
      db: db as unknown as Db,
      kind: 'pglite',
      ...(onDisk && { directory: dataDir }),
      listen: (channel, onPayload) => client.listen(channel, onPayload),
      async close() {
        try {
          await client.close();
        } finally {
          await lock?.release();
        }
      },
    };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/** postgres.js and Node error codes for a database that cannot be reached or went away mid-query. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
/**
 * SQLSTATEs of a server shutting down or starting up, and of a database not accepting connections for now
 * (55000, e.g. during maintenance with `allow_connections false`); class 08 is "connection exception".
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '55000']);

/** What a client is told when {@link isDatabaseUnavailable}: the request can simply be sent again. */
export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable for a moment. Try again in a few seconds.';

/**
 * Whether an error (or what caused it: drizzle and GraphQL wrap the driver's error) means the database is
 * unreachable for now, rather than a bug: clients get a retryable 503 for it instead of "Unexpected error".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) {
      return true;
    }
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return false;
}
