import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './helpers/app.js';
import { authHeaders, GENERATE, WATCH } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { since, waitFor } from './helpers/wait.js';

interface Row {
  status: string;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  segmind_request_id: string | null;
  submit_started_at: Date | null;
}

/** Worker ids are `<host>:<pid>:<random>`. */
const ownedBy = (row: Row | undefined, server: ServerProcess) => row?.lease_owner?.includes(`:${server.process.pid}:`) ?? false;

/** A graphql-transport-ws message. */
type WsMessage = { type: string; id?: string; payload?: any };

describe.skipIf(!hasPostgres)('SIGTERM', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let processes: ServerProcess[] = [];
  /** Creates generations for the worker tests; the API test starts its own process. */
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 4000 });
    api = await startTestApp({ ROLE: 'api', DATABASE_URL: database.url, ...sim.env });
  });
  beforeEach(() => sim.simulator.reset());
  afterEach(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    processes = [];
    // A generation a test left unfinished must not become the next test's work.
    await database.sql`update generations set status = 'CANCELED' where status not in ('SUCCEEDED', 'FAILED', 'CANCELED')`;
  });
  afterAll(async () => {
    await api?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const server = await spawnServer({
      DATABASE_URL: database.url,
      ...sim.env,
      SEGMIND_POLL_MIN_MS: '50',
      SEGMIND_POLL_MAX_MS: '200',
      LOG_LEVEL: 'debug',
      ...env,
    });
    processes.push(server);
    return server;
  }

  async function row(id: string): Promise<Row | undefined> {
    const [found] = await database.sql<Row[]>`
      select status, lease_owner, lease_expires_at, segmind_request_id, submit_started_at from generations where id = ${id}`;
    return found;
  }

  async function create({ url, key }: { url: string; key: string | undefined }, prompt: string): Promise<string> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(key) },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt, durationSeconds: 4 } } }),
    });
    const body = (await response.json()) as { data?: { generateVideo: { generation?: { id: string } } } };
    const id = body.data?.generateVideo.generation?.id;
    expect(id, JSON.stringify(body)).toBeTruthy();
    return id!;
  }

  /** Stops a process with SIGTERM; resolves to its exit code and how long it took. */
  async function terminate(server: ServerProcess): Promise<{ code: number | null; ms: number }> {
    const startedAt = Date.now();
    const code = await server.stop('SIGTERM');
    return { code, ms: since(startedAt) };
  }

  it('makes a worker hand its PROCESSING generation back and exit 0 at once, so the next worker resumes it without waiting for the lease', async () => {
    const graceMs = 10_000;
    const workerEnv = { ROLE: 'worker', LEASE_MS: '60000', SHUTDOWN_GRACE_MS: String(graceMs) };
    const first = await start(workerEnv);
    const prompt = 'a worker that is told to stop';
    const id = await create(api, prompt);
    await waitFor('the first worker to be polling a PROCESSING job', async () => {
      const current = await row(id);
      return current?.status === 'PROCESSING' && ownedBy(current, first) ? true : undefined;
    });

    const stopped = await terminate(first);
    console.log(`[graceful-shutdown] worker exited ${stopped.ms} ms after SIGTERM (grace ${graceMs} ms)`);
    expect(stopped.code, first.output()).toBe(0);
    expect(stopped.ms).toBeLessThan(3000);
    expect(first.output()).not.toContain('grace period exceeded');

    // Right after the exit the lease is free: nobody has to wait 60 s for it to expire.
    const handedBack = await row(id);
    expect(handedBack).toMatchObject({ status: 'PROCESSING', lease_owner: null, lease_expires_at: null });
    expect(handedBack!.segmind_request_id).toBeTruthy();

    const second = await start(workerEnv);
    const readyAt = Date.now();
    const tookOverMs = await waitFor('the second worker to take it over', async () =>
      ownedBy(await row(id), second) ? since(readyAt) : undefined,
    );
    await waitFor('the generation to succeed', async () => ((await row(id))?.status === 'SUCCEEDED' ? true : undefined), {
      timeoutMs: 15_000,
    });
    const doneMs = since(readyAt);
    console.log(`[graceful-shutdown] second worker took over after ${tookOverMs} ms, SUCCEEDED after ${doneMs} ms (lease 60000 ms)`);
    expect(tookOverMs).toBeLessThan(3000);
    expect(doneMs).toBeLessThan(15_000);

    expect(sim.simulator.jobs().filter((job) => job.input.prompt === prompt)).toHaveLength(1);
    const types = (await database.sql<{ type: string }[]>`
      select type from generation_events where generation_id = ${id} order by version`).map((e) => e.type);
    expect(types.filter((t) => t === 'submitted')).toHaveLength(1);
    expect(types).not.toContain('resubmitting_after_crash');
  });

  it('closes open graphql-ws subscriptions with 1001 and then refuses new connections', async () => {
    // No worker: the generation stays QUEUED, so its subscription stays open until the server goes away.
    const apiProcess = await start({ ROLE: 'api', SHUTDOWN_GRACE_MS: '10000' });
    const id = await create(apiProcess, 'a subscriber told to go away');

    const wsUrl = `${apiProcess.url.replace(/^http/, 'ws')}/graphql`;
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const messages: WsMessage[] = [];
    socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as WsMessage));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiProcess.key}` } }));
    await waitFor('connection_ack', () => (messages.some((m) => m.type === 'connection_ack') ? true : undefined));
    socket.send(JSON.stringify({ id: 'watch', type: 'subscribe', payload: { query: WATCH, variables: { id } } }));
    const firstResult = await waitFor('the current state', () => messages.find((m) => m.type === 'next'));
    expect(firstResult.payload.data.generationStatus.status).toBe('QUEUED');

    const stopped = await terminate(apiProcess);
    expect(stopped.code, apiProcess.output()).toBe(0);
    const close = await Promise.race([closed, sleep(1000).then(() => undefined)]);
    expect(close, 'the socket was still open after the process exited').toBeDefined();
    expect(close!.code).toBe(1001);
    expect(messages.map((m) => m.type)).not.toContain('error');

    const refused = await new Promise<string>((resolve) => {
      const retry = new WebSocket(wsUrl, 'graphql-transport-ws');
      retry.once('open', () => {
        retry.terminate();
        resolve('open');
      });
      retry.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('exits anyway, with a non-zero code, when a worker stuck in a submit cannot finish within SHUTDOWN_GRACE_MS', async () => {
    const worker = await start({
      ROLE: 'worker',
      SHUTDOWN_GRACE_MS: '1000',
      SEGMIND_REQUEST_TIMEOUT_MS: '60000',
    });
    sim.simulator.injectFault({ endpoint: 'submit', hang: true });
    const id = await create(api, 'a submit that never comes back');
    await waitFor('the submit to go out', async () => {
      const current = await row(id);
      return current?.submit_started_at && ownedBy(current, worker) ? true : undefined;
    });
    await sleep(200);

    const stopped = await terminate(worker);
    console.log(`[graceful-shutdown] stuck worker exited with ${stopped.code} ${stopped.ms} ms after SIGTERM (grace 1000 ms)`);
    expect(stopped.code, worker.output()).not.toBe(0);
    expect(stopped.code).not.toBeNull();
    expect(stopped.ms).toBeGreaterThanOrEqual(900);
    expect(stopped.ms).toBeLessThan(3000);
    expect(worker.output()).toContain('grace period exceeded');

    // Nothing is lost: the row still says a submit may be out, so the next worker resubmits and records it.
    const left = await row(id);
    expect(left).toMatchObject({ status: 'QUEUED', segmind_request_id: null });
    expect(left!.submit_started_at).not.toBeNull();
    expect(sim.simulator.submissions()).toBe(0);
  });
});
