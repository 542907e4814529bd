import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { graphiqlTabs } from '../src/server/graphiql-tabs.js';
import { createKey, createTestDatabase, dbOf, hasPostgres } from './helpers/database.js';
import { NPM_START_COMMAND, spawnServer } from './helpers/process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** npm 11 has `install-scripts`; older npm runs every install script and has nothing to warn about. */
async function npmKnowsInstallScripts(): Promise<boolean> {
  try {
    await run('npm', ['help', 'install-scripts'], { cwd: root, timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

describe('a fresh npm install', () => {
  it('ends without a warning about dependency install scripts nobody decided on', async (context) => {
    if (!(await npmKnowsInstallScripts())) context.skip();
    const { stdout, stderr } = await run('npm', ['install-scripts', 'ls'], { cwd: root, timeout: 30_000 });
    expect(`${stdout}${stderr}`).toContain('No packages with unreviewed install scripts.');
  }, 60_000);
});

describe.skipIf(!hasPostgres)('starting on a port that is taken', () => {
  it('says in one line that the port is in use and how to choose another, with no stack trace', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-port-'));
    try {
      const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: database.url, SEGMIND_API_KEY: '', LOG_LEVEL: 'info' };
      const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, timeout: 60_000 }).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `reelql cannot start: port ${port} on 127.0.0.1 is already in use (another reelql, or another program). ` +
          `Stop it, or choose a free port, e.g. PORT=${port + 1} npm start.`,
      );
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at |WebSocket server error/);
    } finally {
      holder.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("GraphiQL's example tabs", () => {
  // GraphiQL keeps its tabs in the browser's localStorage, so a later visit shows the tabs of the first one.
  it('do not promise that the Watch tab follows the latest generation, which only holds on the first visit', () => {
    const [generate, watch] = graphiqlTabs({ simulator: true, latestId: '00000000-0000-4000-8000-000000000000' });
    expect(watch!.query).not.toMatch(/run Generate first for a new one/);
    expect(watch!.query).toMatch(/when GraphiQL first\s*(#\s*)?opened/);
    expect(generate!.query).toMatch(/put its id in the\s*(#\s*)?Watch tab/);
  });
});

describe.skipIf(!hasPostgres)('a development server without a development key', () => {
  it('says at start why the page will ask for a key, and how to make one', async () => {
    const database = await createTestDatabase();
    // Keys made before the first start (or a revoked development key) mean no development key is made.
    await createKey(dbOf(database), { name: 'made-first' });
    const server = await spawnServer({ DATABASE_URL: database.url, SEGMIND_API_KEY: '', NODE_ENV: 'development' }, undefined, NPM_START_COMMAND);
    try {
      expect(server.output()).not.toContain('Development API key');
      expect(server.output()).toContain('no development key: this database already has keys');
      expect(server.output()).toContain('npm run keys -- create <name>');
    } finally {
      await server.stop();
      await database.drop();
    }
  }, 60_000);
});

describe('the npm scripts', () => {
  it('exec the server and the command-line tools, so a signal to npm reaches them and their exit code comes back', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'start:prod', 'keys', 'generate']) expect(scripts[name], name).toMatch(/^exec node /);
  });
});
