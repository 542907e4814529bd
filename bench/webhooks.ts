/**
 * `node --import tsx bench/webhooks.ts`: the delay from a status change to the webhook receiver. The real server
 * (API and worker in one process, its built-in simulator, a fresh Postgres database) makes BENCH_WEBHOOKS
 * generations (default 100), each with a webhook for SUCCEEDED to a receiver on loopback; the delay of each
 * delivery is from the commit of the SUCCEEDED change (the payload's `updatedAt`, set in that transaction) to the
 * moment the receiver has the whole request. Writes bench/results/webhooks.md and .json.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBenchDatabase, percentile, startBenchApp, summarize } from './support.js';

const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const count = Number(process.env.BENCH_WEBHOOKS) || 100;
/** Generations asked for per second: they finish spread out, as they would in use. */
const RATE = 20;
const DEADLINE_MS = 180_000;

const received = new Map<string, number>();
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const at = Date.now();
    const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { id: string; updatedAt: string } };
    if (!received.has(payload.data.id)) received.set(payload.data.id, at - Date.parse(payload.data.updatedAt));
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const port = (receiver.address() as AddressInfo).port;

const database = await createBenchDatabase(adminUrl);
const bench = await startBenchApp({
  DATABASE_URL: database.url,
  SIMULATOR_PROCESSING_MS: '300',
  WORKER_CONCURRENCY: '50',
  WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${port}`,
});
try {
  const deadline = Date.now() + DEADLINE_MS;
  for (let i = 0; i < count; i++) {
    await bench.graphql(
      `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { __typename } }`,
      { input: { prompt: `webhook bench ${i}`, durationSeconds: 4, webhookUrl: `http://127.0.0.1:${port}/bench`, webhookEvents: ['SUCCEEDED'] } },
    );
    await sleep(1000 / RATE);
  }
  while (received.size < count && Date.now() < deadline) await sleep(50);
  const delays = [...received.values()];
  if (delays.length < count) throw new Error(`only ${delays.length} of ${count} deliveries arrived in ${DEADLINE_MS / 1000} s`);
  const summary = { ...summarize(delays), p99: percentile(delays, 0.99) };
  const result = { deliveries: delays.length, delayMs: summary, cpus: os.cpus().length, loadAverage: os.loadavg(), at: new Date().toISOString() };
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
  const markdown =
    `# Webhook delay: status change committed → receiver has the delivery\n\n` +
    `${delays.length} deliveries (generations asked for at ${RATE}/s, built-in simulator, local Postgres, ` +
    `${result.cpus} CPUs, load ${result.loadAverage.map((l) => l.toFixed(2)).join(' ')}).\n\n` +
    `| p50 | p95 | p99 | max | mean |\n|---|---|---|---|---|\n` +
    `| ${fmt(summary.p50)} | ${fmt(summary.p95)} | ${fmt(summary.p99)} | ${fmt(summary.max)} | ${fmt(summary.mean)} |\n`;
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL('webhooks.json', dir), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(new URL('webhooks.md', dir), markdown);
  console.log(markdown);
} finally {
  await bench.stop();
  await database.drop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
}
