/**
 * Scenario 8: start-up time and footprint of the real entry point, `node --import tsx src/main.ts`, as a child
 * process: spawn → the "reelql is ready" log line, and its resident memory then (VmRSS, Linux) and after 2 s idle.
 * With PGlite (a fresh DATA_DIR) and with Postgres (a fresh database, so migrations run). Both use the built-in
 * simulator and ROLE=all. TypeScript is compiled by tsx at start, which is part of the measured time.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBenchDatabase, serverEnv } from './support.js';

export interface StartupRun {
  database: 'pglite' | 'postgres';
  readyMs: number;
  rssAtReadyMb: number;
  rssIdleMb: number;
}

export interface StartupResult {
  scenario: 'startup';
  runs: StartupRun[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function startOnce(database: StartupRun['database'], databaseUrl?: string): Promise<StartupRun> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-start-'));
  const env = serverEnv(dataDir, databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${database}: not ready within 30 s:\n${output.slice(-2000)}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('reelql is ready')) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${database}: exited with ${code} before ready:\n${output.slice(-2000)}`));
      });
    });
    const rssAtReadyMb = await rssMb(child.pid!);
    await sleep(2000);
    return { database, readyMs, rssAtReadyMb, rssIdleMb: await rssMb(child.pid!) };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runStartupScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  runs?: number;
}): Promise<StartupResult> {
  const runs: StartupRun[] = [];
  for (let i = 0; i < (options.runs ?? 2); i += 1) {
    runs.push(await startOnce('pglite'));
    options.log(`startup: pglite run ${i + 1}: ready in ${runs.at(-1)!.readyMs.toFixed(0)} ms`);
    const database = await createBenchDatabase(options.adminUrl);
    options.defer(() => database.drop());
    runs.push(await startOnce('postgres', database.url));
    options.log(`startup: postgres run ${i + 1}: ready in ${runs.at(-1)!.readyMs.toFixed(0)} ms`);
  }
  return { scenario: 'startup', runs };
}
