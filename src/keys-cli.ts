/**
 * Manages API keys: `npm run keys -- create <name> [--daily-budget-usd N] [--max-active N]`,
 * `npm run keys -- list`, `npm run keys -- revoke <name|prefix>`. An entry file: it reads the environment.
 */
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from './auth/keys.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';

const USAGE = `Usage:
  npm run keys -- create <name> [--daily-budget-usd N] [--max-active N]
  npm run keys -- list
  npm run keys -- revoke <name|prefix>`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function positiveNumber(flag: string, raw: string | undefined, integer: boolean): number | null {
  if (raw === undefined) return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(`--${flag} must be a positive ${integer ? 'whole number' : 'number'}; got "${raw}".`);
  }
  return value;
}

const parseOptions = () =>
  parseArgs({
    allowPositionals: true,
    options: { 'daily-budget-usd': { type: 'string' }, 'max-active': { type: 'string' } },
  });

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  const [command, target] = positionals;
  if (!command || !['create', 'list', 'revoke'].includes(command)) fail('Say what to do: create, list or revoke.');
  if (command !== 'list' && !target) fail(`"${command}" needs a key name${command === 'revoke' ? ' or prefix' : ''}.`);

  const config = loadConfig(process.env);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, maxConnections: 1 });
  try {
    if (command === 'create') {
      const { key, apiKey } = await createApiKey(database.db, {
        name: target!,
        dailyBudgetUsd: positiveNumber('daily-budget-usd', values['daily-budget-usd'], false),
        maxActive: positiveNumber('max-active', values['max-active'], true),
      });
      process.stdout.write(
        `Created key "${apiKey.name}" (${apiKey.prefix}…). It is shown only now; keep it secret.\n` +
          `Daily budget: ${apiKey.dailyBudgetUsd ? `$${apiKey.dailyBudgetUsd}` : 'none'}; ` +
          `max active generations: ${apiKey.maxActive ?? 'no limit'}.\n${key}\n`,
      );
    } else if (command === 'list') {
      const keys = await listApiKeys(database.db);
      if (keys.length === 0) process.stdout.write('No keys yet. Create one with: npm run keys -- create <name>\n');
      for (const k of keys) {
        process.stdout.write(
          [
            k.prefix,
            k.name,
            k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active',
            `budget ${k.dailyBudgetUsd ? `$${k.dailyBudgetUsd}/day` : 'none'}`,
            `max active ${k.maxActive ?? '-'}`,
            `created ${k.createdAt.toISOString()}`,
          ].join('\t') + '\n',
        );
      }
    } else {
      const revoked = await revokeApiKey(database.db, target!);
      if (!revoked) fail(`No active key is named or starts with "${target}".`);
      process.stdout.write(`Revoked key "${revoked.name}" (${revoked.prefix}…). It stops working at once, everywhere.\n`);
    }
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  } finally {
    await database.close();
  }
}

await main();
