/**
 * Scenario 1's bare `node:http` baseline on its own, as a process that can be profiled:
 * `node --import tsx bench/mutation-baseline-server.ts <database url> <api key id>` prints `listening <url>` and
 * stops on SIGTERM. Used by bench/profile.ts.
 */

import { startBaseline } from './mutation.js';

const [databaseUrl, apiKeyId] = process.argv.slice(2);
if (!databaseUrl || !apiKeyId) {
  console.error('usage: node --import tsx bench/mutation-baseline-server.ts <database url> <api key id>');
  process.exit(2);
}
const server = await startBaseline(databaseUrl, apiKeyId);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
console.log(`listening ${server.url}`);
