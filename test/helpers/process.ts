import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyForDatabase } from './database.js';
import { seedPgliteDataDir } from './pglite-template.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `node dist/main.js`: the server as the image runs it, built once per run by the global setup. */
export const BUILT_SERVER_COMMAND = ['dist/main.js'];
/** What `npm start` runs: the TypeScript sources under tsx. */
export const NPM_START_COMMAND = ['--import', 'tsx', 'src/main.ts'];

export interface ServerProcess {
  process: ChildProcess;
  /** Base URL once ready. */
  url: string;
  /** The key helpers send to this server. */
  key: string | undefined;
  /** Everything the process printed. */
  output: () => string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the server as a real separate process and waits until it is ready: by default the build the global setup
 * made (`node dist/main.js`, as the image runs it; see ensureBuild), or `npm start`'s TypeScript entry when asked.
 */
export async function spawnServer(
  env: Record<string, string>,
  timeoutMs = 30_000,
  /** What node runs: the built server by default, or NPM_START_COMMAND (the TypeScript entry, as `npm start`). */
  command: string[] = BUILT_SERVER_COMMAND,
): Promise<ServerProcess> {
  let dataDir = env.DATA_DIR;
  if (!dataDir) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-proc-'));
    if (!env.DATABASE_URL) await seedPgliteDataDir(dataDir);
  }
  const child = spawn(process.execPath, command, {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const removeOwnDataDir = () => (env.DATA_DIR ? Promise.resolve() : rm(dataDir, { recursive: true, force: true }));
  const url = await new Promise<string>((resolve, reject) => {
    // A server that is not ready in time is killed before the test goes on, so it cannot go on writing into a
    // directory the test removes, or hold a port, a lock or a lease the next test needs.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      void exited.then(removeOwnDataDir).finally(() => reject(new Error(`server not ready in ${timeoutMs} ms (killed):\n${output}`)));
    }, timeoutMs);
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    void exited.then(async (code) => {
      clearTimeout(timer);
      if (timedOut) return;
      await removeOwnDataDir();
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
  // The helpers authenticate as the development key the server printed, or a key made for its database.
  const printed = /Development API key[^\n]*\n\s*(rql_\S+)/.exec(output)?.[1];
  const key = env.DATABASE_URL ? await keyForDatabase(env.DATABASE_URL) : printed;
  return {
    process: child,
    url,
    key,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      await removeOwnDataDir();
      return code;
    },
  };
}
