import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * An exclusive, cross-process lock on a directory, as a lock file next to it holding the owner's pid.
 * PGlite itself has none: two processes that open one data directory each keep their own copy in memory and
 * overwrite each other's files, which loses data. A lock whose process is gone is taken over, so a crash or
 * SIGKILL never keeps the next start out.
 */

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** What kind of process it is, for the message another process shows: "reelql server", "keys command". */
  holder?: string;
}

/** The directory is held by another live process. */
export class DirectoryInUseError extends Error {
  override name = 'DirectoryInUseError';
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded database in ${path.dirname(lockFile)} is in use by process ${holder.pid}` +
        `${holder.holder ? ` (${holder.holder})` : ''} since ${holder.since}.`,
    );
  }
}

export interface DirectoryLock {
  /** Gives the lock up (only if it is still ours). */
  release(): Promise<void>;
}

/** Attempts at taking a lock that keeps changing hands before giving up. */
const ATTEMPTS = 5;

/** Takes the lock in `lockFile`, or throws {@link DirectoryInUseError} when a live process holds it. */
export async function lockDirectory(lockFile: string, holder: string): Promise<DirectoryLock> {
  const mine = JSON.stringify({ pid: process.pid, since: new Date().toISOString(), holder } satisfies LockHolder);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createExclusively(lockFile, mine)) {
      return {
        async release() {
          const current = await fs.readFile(lockFile, 'utf8').catch(() => undefined);
          if (current === mine) await fs.rm(lockFile, { force: true });
        },
      };
    }
    const raw = await fs.readFile(lockFile, 'utf8').catch(ignoreMissing);
    if (raw === undefined) continue; // released meanwhile
    const current = parseHolder(raw);
    if (current && holdsLock(current)) throw new DirectoryInUseError(lockFile, current);
    await removeIfUnchanged(lockFile, raw);
  }
  throw new Error(`Could not take ${lockFile}: it changed hands ${ATTEMPTS} times. Try again.`);
}

/** Who holds `lockFile` now, if a live process does. */
export async function currentHolder(lockFile: string): Promise<LockHolder | undefined> {
  const raw = await fs.readFile(lockFile, 'utf8').catch(ignoreMissing);
  const current = raw === undefined ? undefined : parseHolder(raw);
  return current && holdsLock(current) ? current : undefined;
}

/**
 * Writes the whole file under a private name, then links it into place: the link fails when the lock file
 * exists, and a reader never sees a half-written one.
 */
async function createExclusively(lockFile: string, content: string): Promise<boolean> {
  const draft = `${lockFile}.${process.pid}.draft`;
  await fs.writeFile(draft, content, { mode: 0o600 });
  try {
    await fs.link(draft, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(draft, { force: true });
  }
}

/**
 * Removes a stale lock file unless another process took the lock over since it was read: the file is moved
 * aside (atomic) and checked; a fresh lock moved by mistake is linked back.
 */
async function removeIfUnchanged(lockFile: string, staleContent: string): Promise<void> {
  const aside = `${lockFile}.${process.pid}.stale`;
  try {
    await fs.rename(lockFile, aside);
  } catch (error) {
    return ignoreMissing(error);
  }
  const moved = await fs.readFile(aside, 'utf8').catch(ignoreMissing);
  if (moved !== undefined && moved !== staleContent) await fs.link(aside, lockFile).catch(() => {});
  await fs.rm(aside, { force: true });
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockHolder>;
    if (Number.isInteger(value.pid) && value.pid! > 0 && typeof value.since === 'string') return value as LockHolder;
  } catch {
    // Not ours or damaged: nobody can be shown to hold it.
  }
  return undefined;
}

/**
 * Whether the process named in the lock still holds it. Our own pid in a lock older than this process is a
 * previous run that had the same pid (a container restarted, where the server is always pid 1 or 7).
 */
function holdsLock(holder: LockHolder): boolean {
  if (holder.pid === process.pid) {
    const startedAt = Date.now() - process.uptime() * 1000;
    return Date.parse(holder.since) >= startedAt - 1000;
  }
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; only ESRCH says it is gone.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}
