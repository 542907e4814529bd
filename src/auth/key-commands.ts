import type { Db } from '../db/open.js';
import { createApiKey, KeyNameInvalidError, KeyNameTakenError, listApiKeys, revokeApiKey, type ApiKey } from './keys.js';

/**
 * The key commands of `npm run keys`, with the text they print: run by the command itself on its own database
 * connection, or by the server that holds the embedded database on the command's behalf (the same answers).
 */
export type KeyCommand =
  | { command: 'create'; name: string; dailyBudgetUsd: number | null; maxActive: number | null }
  | { command: 'list' }
  | { command: 'revoke'; target: string };

/** What to print: the output on success, or one line saying what went wrong. */
export type KeyCommandResult = { ok: true; output: string } | { ok: false; message: string };

/** What a revocation canceled of the key's queue, as a sentence to append (empty when nothing was queued). */
const canceledText = (n: number) =>
  n === 0 ? '' : ` ${n} generation${n === 1 ? '' : 's'} it had queued ${n === 1 ? 'was' : 'were'} canceled before reaching Segmind.`;

/** Runs one command; refusals (a taken or bad name, nothing to revoke) are results, anything else throws. */
export async function runKeyCommand(db: Db, command: KeyCommand): Promise<KeyCommandResult> {
  try {
    switch (command.command) {
      case 'create':
        return { ok: true, output: createdText(await createApiKey(db, command)) };
      case 'list':
        return { ok: true, output: listText(await listApiKeys(db)) };
      case 'revoke': {
        const revoked = await revokeApiKey(db, command.target);
        if (!revoked) return { ok: false, message: `No active key is named or starts with "${command.target}".` };
        const gone = `Revoked key "${revoked.name}" (${revoked.prefix}…). It stops working at once, everywhere.`;
        return { ok: true, output: `${gone}${canceledText(revoked.canceledGenerations)}\n` };
      }
    }
  } catch (error) {
    if (error instanceof KeyNameTakenError || error instanceof KeyNameInvalidError) return { ok: false, message: error.message };
    throw error;
  }
}

/**
 * An unexpected failure in one line: the innermost cause's first line (drizzle wraps a driver's error in one
 * that quotes the SQL and its parameters, a key's hash among them, which no one should be shown).
 */
export function failureLine(error: unknown): string {
  let innermost = error;
  for (let depth = 0; innermost instanceof Error && innermost.cause instanceof Error && depth < 5; depth++) innermost = innermost.cause;
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  const line = message.split('\n')[0]!.trim() || (innermost instanceof Error ? innermost.name : 'unknown error');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** A command as it arrived over the wire, or null when it is not one. */
export function parseKeyCommand(value: unknown): KeyCommand | null {
  if (typeof value !== 'object' || value === null) return null;
  const { command, name, dailyBudgetUsd, maxActive, target } = value as Record<string, unknown>;
  const optionalPositive = (n: unknown) => n === null || (typeof n === 'number' && Number.isFinite(n) && n > 0);
  if (command === 'list') return { command };
  if (command === 'revoke' && typeof target === 'string') return { command, target };
  if (command === 'create' && typeof name === 'string' && optionalPositive(dailyBudgetUsd) && optionalPositive(maxActive)) {
    return { command, name, dailyBudgetUsd: dailyBudgetUsd as number | null, maxActive: maxActive as number | null };
  }
  return null;
}

function createdText({ key, apiKey }: { key: string; apiKey: ApiKey }): string {
  return (
    `Created key "${apiKey.name}" (${apiKey.prefix}…). It is shown only now; keep it secret.\n` +
    `Daily budget: ${apiKey.dailyBudgetUsd ? `$${apiKey.dailyBudgetUsd}` : 'none'}; ` +
    `max active generations: ${apiKey.maxActive ?? 'no limit'}.\n${key}\n`
  );
}

function listText(keys: ApiKey[]): string {
  if (keys.length === 0) return 'No keys yet. Create one with: npm run keys -- create <name>\n';
  return keys
    .map(
      (k) =>
        [
          k.prefix,
          k.name,
          k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active',
          `budget ${k.dailyBudgetUsd ? `$${k.dailyBudgetUsd}/day` : 'none'}`,
          `max active ${k.maxActive ?? '-'}`,
          `created ${k.createdAt.toISOString()}`,
        ].join('\t') + '\n',
    )
    .join('');
}
