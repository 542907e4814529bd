/**
 * `npm run bench`: runs the benchmark scenarios and writes bench/results/latest.md and latest.json.
 * Needs a local Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres); each run creates
 * and drops its own database. Stops by itself: a run that takes longer than DEADLINE_MS is cleaned up and fails.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { pollingMarkdown, runPollingScenario } from './polling.js';

const DEADLINE_MS = 110_000;
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
/** Optional overrides: BENCH_SCALE (real ÷ benchmark time, default 10) and BENCH_GENERATIONS (per mode, default 20). */
const positive = (name: string) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
};
const resultsDir = new URL('./results/', import.meta.url);

const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  // Last registered first; each at most once.
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.error(`bench: clean-up failed: ${String(error)}`));
  }
}

const log = (message: string) => console.log(`[bench +${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${message}`);
const startedAt = Date.now();

const deadline = setTimeout(() => {
  console.error(`bench: still running after ${DEADLINE_MS / 1000} s; cleaning up and giving up.`);
  void cleanUp().finally(() => process.exit(2));
}, DEADLINE_MS);

try {
  const polling = await runPollingScenario({
    adminUrl,
    log,
    defer: (cleanup) => void cleanups.push(cleanup),
    ...(positive('BENCH_SCALE') && { scale: positive('BENCH_SCALE') }),
    ...(positive('BENCH_GENERATIONS') && { generations: Math.round(positive('BENCH_GENERATIONS')!) }),
  });
  await cleanUp();
  const environment = {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    /** Other work on the machine skews the timings; recorded so results can be judged. */
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
  const generatedAt = new Date().toISOString();
  const json = { generatedAt, environment, durationSeconds: (Date.now() - startedAt) / 1000, scenarios: { polling } };
  const markdown = [
    '# reelql benchmarks',
    '',
    `Generated ${generatedAt} by \`npm run bench\` in ${json.durationSeconds.toFixed(1)} s ` +
      `(Node ${environment.node}, ${environment.platform}, ${environment.cpus} × ${environment.cpuModel}, ` +
      `load average ${environment.loadAverage.join(' / ')}).`,
    '',
    pollingMarkdown(polling),
  ].join('\n');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(new URL('latest.json', resultsDir), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(new URL('latest.md', resultsDir), markdown);
  console.log(`\n${markdown}`);
  log('wrote bench/results/latest.md and latest.json');
} catch (error) {
  console.error('bench failed:', error);
  await cleanUp();
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
}
