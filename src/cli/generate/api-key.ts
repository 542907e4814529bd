import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isLoopbackHost } from '../../config/index.js';
import { CliError } from './exit-codes.js';

const NO_KEY_HINT = 'Pass --key or set REELQL_API_KEY (an operator makes keys with: npm run keys -- create <name>).';

/**
 * The key to send: the one given, or — for a server on this machine only — the development key the server
 * stored on first start. `note` says where a found key came from, for stderr.
 */
export async function resolveApiKey(options: {
  key: string | undefined;
  serverUrl: string;
  developmentKeyFile: string;
  cwd: string;
}): Promise<{ key: string; note?: string }> {
  if (options.key) return { key: options.key };
  if (!isLoopbackHost(new URL(options.serverUrl).hostname)) {
    throw new CliError('USER', `No API key for ${options.serverUrl}. ${NO_KEY_HINT}`);
  }
  const stored = await readFile(options.developmentKeyFile, 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  const relative = path.relative(options.cwd, options.developmentKeyFile);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? options.developmentKeyFile : relative;
  if (!stored) {
    throw new CliError('USER', `No API key: none given, and no development key in ${shown}. ${NO_KEY_HINT}`);
  }
  return { key: stored, note: `Using the development key from ${shown} (no --key or REELQL_API_KEY given).` };
}
