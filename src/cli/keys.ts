/**
 * Manages API keys: `npm run keys -- create <name> [--daily-budget-usd N] [--max-active N]`,
 * `npm run keys -- list`, `npm run keys -- revoke <name|prefix>`. An entry file: it reads the environment.
 *
 * With DATABASE_URL it works on Postgres directly. On the embedded database it asks the server that holds it
 * (over the data directory's socket), and opens PGlite itself only when no process holds the directory.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { keyCommandSocket, sendKeyCommand } from '../auth/key-command-channel.js';
import { failureLine, runKeyCommand, type KeyCommand, type KeyCommandResult } from '../auth/key-commands.js';
import { isValidKeyName, KEY_NAME_RULE } from '../auth/keys.js';
import { loadConfig } from '../config/index.js';
import { isDatabaseUnavailable, openDatabase, pgliteLockFile, type Database } from '../db/open.js';
import { DirectoryInUseError, type LockHolder } from '../db/directory-lock.js';
import { ConfigError } from '../generations/errors.js';
import { flagProblem } from './flag-errors.js';

const USAGE = `Usage:
  npm run keys -- create <name> [--daily-budget-usd N] [--max-active N]
  npm run keys -- list
  npm run keys -- revoke <name|prefix>`;

/** A server that took the directory this recently may still be starting: its socket opens right after PGlite. */
const STARTUP_WAIT_MS = 30_000;
const STARTUP_POLL_MS = 250;

/** The flags or the command are wrong: said with the usage. */
class UsageError extends Error {}

/** A value is wrong: the message says what is allowed, so one line points to the rest. */
class ValueError extends Error {}

const HELP_HINT = 'Run npm run keys -- --help for the usage.';

/** `--help` or `-h`: the usage on stdout, and success. */
class HelpRequested extends Error {}

const FLAGS = {
  'daily-budget-usd': { type: 'string' },
  'max-active': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAG_LIST = Object.keys(FLAGS)
  .map((name) => `--${name}`)
  .join(', ');

function positiveNumber(flag: string, raw: string | undefined, integer: boolean): number | null {
  if (raw === undefined) return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ValueError(`--${flag} must be a positive ${integer ? 'whole number' : 'number'}; got "${raw}".`);
  }
  return value;
}

function parseCommand(): KeyCommand {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: FLAGS });
  } catch (error) {
    throw new UsageError(flagProblem(error, FLAG_LIST));
  }
  const { positionals, values } = parsed;
  if (values.help) throw new HelpRequested();
  const [command, target] = positionals;
  if (command === 'list') return { command };
  if (command === undefined) throw new UsageError('Say what to do: create, list or revoke.');
  if (command !== 'create' && command !== 'revoke') {
    throw new UsageError(`Unknown command "${command}": say create, list or revoke.`);
  }
  if (!target) throw new UsageError(`"${command}" needs a key name${command === 'revoke' ? ' or prefix' : ''}.`);
  if (command === 'revoke') return { command, target };
  if (!isValidKeyName(target)) throw new ValueError(KEY_NAME_RULE);
  return {
    command,
    name: target.trim(),
    dailyBudgetUsd: positiveNumber('daily-budget-usd', values['daily-budget-usd'], false),
    maxActive: positiveNumber('max-active', values['max-active'], true),
  };
}

async function runOn(database: Database, command: KeyCommand): Promise<KeyCommandResult> {
  try {
    return await runKeyCommand(database.db, command);
  } finally {
    await database.close();
  }
}

/** On the embedded database: through the server holding it, or on it directly when nobody does. */
async function runEmbedded(dataDir: string, command: KeyCommand, answerTimeoutMs: number): Promise<KeyCommandResult> {
  const socket = keyCommandSocket(dataDir);
  const deadline = Date.now() + STARTUP_WAIT_MS;
  for (;;) {
    const answer = await sendKeyCommand(socket, command, answerTimeoutMs);
    if (answer) return answer;
    let database: Database;
    try {
      database = await openDatabase({ url: undefined, dataDir, holder: 'keys command' });
    } catch (error) {
      if (!(error instanceof DirectoryInUseError)) throw error;
      if (mayStillBeStarting(error.holder) && Date.now() < deadline) {
        await sleep(STARTUP_POLL_MS);
        continue;
      }
      return { ok: false, message: heldMessage(dataDir, error.holder, socket) };
    }
    return runOn(database, command);
  }
}

const mayStillBeStarting = (holder: LockHolder) => Date.now() - Date.parse(holder.since) < STARTUP_WAIT_MS;

const heldMessage = (dataDir: string, holder: LockHolder, socket: string) =>
  `The embedded database in ${dataDir} is in use by process ${holder.pid}` +
  `${holder.holder ? ` (${holder.holder})` : ''}, which does not answer on ${socket}. ` +
  `Stop that process and run this again; if no such process is running, delete ${pgliteLockFile(dataDir)}.`;

/** One line for a failure nobody planned for; the database being out of reach says which one and what to check. */
function unexpectedFailure(error: unknown, databaseUrl: string | undefined): string {
  if (databaseUrl && isDatabaseUnavailable(error)) {
    const host = URL.canParse(databaseUrl) ? new URL(databaseUrl).host : 'DATABASE_URL';
    return `Cannot reach the database at ${host} (${failureLine(error)}). Check DATABASE_URL and that Postgres is running.`;
  }
  return `The keys command failed: ${failureLine(error)}`;
}

async function main(): Promise<number> {
  let command: KeyCommand;
  let config: ReturnType<typeof loadConfig>;
  try {
    command = parseCommand();
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    else if (error instanceof ValueError) process.stderr.write(`${error.message}\n${HELP_HINT}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`Invalid configuration: ${error.message}\n`);
    else throw error;
    return 2;
  }
  let result: KeyCommandResult;
  try {
    result = config.database.url
      ? await runOn(await openDatabase({ url: config.database.url, dataDir: config.storage.dataDir, maxConnections: 1 }), command)
      : await runEmbedded(config.storage.dataDir, command, config.http.keyCommandTimeoutMs);
  } catch (error) {
    result = { ok: false, message: unexpectedFailure(error, config.database.url) };
  }
  if (!result.ok) {
    process.stderr.write(`${result.message}\n`);
    return 1;
  }
  process.stdout.write(result.output);
  return 0;
}

process.exitCode = await main();
