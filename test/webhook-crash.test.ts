import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, VIEWER, WEBHOOK_DELIVERIES } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';

const LEASE_MS = 3000;

describe.skipIf(!hasPostgres)('a worker killed with SIGKILL in the middle of a webhook delivery', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let receiver: WebhookReceiver;
  let api: TestApp;
  let dataDir: string;
  const workers: ServerProcess[] = [];

  const workerEnv = () => ({
    ROLE: 'worker',
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ...sim.env,
    WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
    WEBHOOK_LEASE_MS: String(LEASE_MS),
    WEBHOOK_TIMEOUT_MS: String(LEASE_MS - 500),
    WEBHOOK_RETRY_DELAYS_MS: '200',
    SEGMIND_POLL_MIN_MS: '50',
    SEGMIND_POLL_MAX_MS: '200',
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-webhook-crash-'));
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    receiver = await startWebhookReceiver();
    api = await startTestApp({ ROLE: 'api', DATABASE_URL: database.url, DATA_DIR: dataDir, ...sim.env, WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}` });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await api?.stop();
    await receiver?.close();
    await sim?.simulator.stop();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves the delivery to another worker process, which makes it with the same webhook-id', async () => {
    const first = await spawnServer(workerEnv());
    workers.push(first);
    // The first attempt reaches the receiver, which holds it while the worker that sent it is killed.
    let killed: Promise<number | null> | undefined;
    receiver.answer = (_request, index) => {
      if (index > 0) return 200;
      killed = first.stop('SIGKILL');
      return 'hang';
    };
    const body = await api.graphql(GENERATE, { input: { prompt: 'A paper crane unfolds', durationSeconds: 4, webhookUrl: `${receiver.url}/crash` } });
    const id = body.data!.generateVideo.generation.id as string;
    await waitFor('the first attempt', () => receiver.received.length === 1, { timeoutMs: 30_000 });
    await waitFor('the worker to be killed', () => killed !== undefined);
    await killed;
    const [held] = await database.sql`select state, attempts, lease_owner from webhook_deliveries where generation_id = ${id}`;
    expect(held).toMatchObject({ state: 'PENDING', attempts: 0 });
    expect(held!.lease_owner).toContain(`:${first.process.pid}:`);

    workers.push(await spawnServer(workerEnv()));
    await waitFor('the delivery by the second worker', () => receiver.received.length === 2, { timeoutMs: 30_000 });
    const [a, b] = receiver.received;
    expect(b!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
    const secret = (await api.graphql(VIEWER)).data!.viewer.webhookSecret as string;
    expect(verifyWebhook(secret, b!)).toMatchObject({ type: 'generation.succeeded', data: { id } });
    const delivery = await waitFor('the delivery recorded', async () => {
      const [d] = (await api.graphql(WEBHOOK_DELIVERIES, { id })).data!.generation.webhookDeliveries as any[];
      return d?.state === 'DELIVERED' ? d : undefined;
    });
    // The killed worker's attempt never got recorded; the one that counts is the second process's.
    expect(delivery).toMatchObject({ id: a!.headers['webhook-id'], attempt: 1, statusCode: 200 });
  });
});
