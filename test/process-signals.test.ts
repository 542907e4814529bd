import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/cli/generate/exit-codes.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GET } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { processesInGroup, signalGroup } from './helpers/process-group.js';
import { startSimulator } from './helpers/simulator.js';
import { hasTmux, openTerminal } from './helpers/terminal.js';
import { since, waitFor } from './helpers/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = 'npm';

/** The environment of a user with nothing configured: no database, Segmind key or CLI settings of the test run. */
function plainEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(DATABASE_URL|SEGMIND_|REELQL_|DATA_DIR$|PORT$|ROLE$)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

describe.skipIf(process.platform === 'win32')('npm start and a signal', () => {
  it('stops the whole process tree (npm, the shell and the server) within the grace period when npm start gets SIGTERM', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-signals-'));
    const graceMs = 5000;
    // Its own process group, as at a terminal, so everything it starts can be found (and cleaned up) by group.
    const child = spawn(npm, ['start'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: plainEnv({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(graceMs) }),
    });
    const pgid = child.pid!;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await waitFor('npm start to be ready', () => /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1], { timeoutMs: 60_000 });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const tree = processesInGroup(pgid);
      expect(tree.some((p) => p.includes('src/main.ts')), tree.join('\n')).toBe(true);

      const signaledAt = Date.now();
      process.kill(pgid, 'SIGTERM'); // npm's pid only, as `kill -TERM <pid>` does
      const left = await waitFor('every process of npm start to exit', () => (processesInGroup(pgid).length === 0 ? true : undefined), {
        timeoutMs: graceMs + 3000,
      }).then(
        () => [],
        () => processesInGroup(pgid),
      );
      const goneMs = since(signaledAt);
      console.log(`[process-signals] ${tree.length} processes of npm start gone ${goneMs} ms after SIGTERM (grace ${graceMs} ms)`);
      expect(left, `still running after SIGTERM:\n${left.join('\n')}\n${output}`).toEqual([]);
      expect(goneMs).toBeLessThan(graceMs);
      // The server itself shut down cleanly rather than dying with its parents.
      expect(output).toContain('"msg":"shutting down"');
      expect(output).not.toContain('grace period exceeded');
      expect(await exited).toBe(0);
      await expect(fetch(`${url}/readyz`)).rejects.toThrow();
    } finally {
      signalGroup(pgid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
    // Up to 60 s for a cold `npm start` on a machine busy with the rest of the suite, then the grace period.
  }, 90_000);
});

describe.skipIf(!hasPostgres || !hasTmux)('npm run generate at a real terminal', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let workDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Long enough that the generation is still running when Ctrl-C is pressed.
    sim = await startSimulator({ processingMs: 30_000 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
    workDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-terminal-'));
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('hands the documented exit code 4 to the shell after Ctrl-C and "y", and the next command of the line runs', async () => {
    const terminal = openTerminal(root, plainEnv({ DATA_DIR: workDir }));
    try {
      terminal.type(
        `npm run generate -- 'a lighthouse at dusk' --duration 4 --url ${server.url} --key ${server.key} --out ${workDir}; echo "rc=$?"`,
      );
      terminal.press('Enter');
      const id = await waitFor('the generation to be under way', () => /Generation ([0-9a-f-]{36})[\s\S]*%/.exec(terminal.screen())?.[1], {
        timeoutMs: 30_000,
      });

      terminal.press('C-c');
      await waitFor('the question', () => (terminal.screen().includes(`Cancel generation ${id}?`) ? true : undefined));
      terminal.type('y');
      terminal.press('Enter');
      const rc = await waitFor('the shell to print the exit code', () => /^rc=(\d+)$/m.exec(terminal.screen())?.[1], {
        timeoutMs: 15_000,
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- terminal ---\n${terminal.screen()}`);
      });

      const screen = terminal.screen();
      expect(Number(rc), screen).toBe(EXIT_CODES.CANCELED.code);
      // One Ctrl-C is one Ctrl-C: the copy npm relays must not count as a second press ("leave it running").
      expect(screen).toContain(`Canceled generation ${id}.`);
      expect((await server.graphql(GET, { id })).data?.generation.status).toBe('CANCELED');
    } finally {
      terminal.close();
    }
  });
});
