import type { Client } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { createWsClient, GENERATE, openSse } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/wait.js';

const LIMIT = 3;
const SUBSCRIBE = `subscription($id: ID!) { generationStatus(id: $id) { id status } }`;

describe.skipIf(!hasPostgres)('per-key subscription slots', () => {
  let database: TestDatabase;
  let server: TestApp;
  const clients: Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: the generation stays QUEUED, so a subscription to it stays open until it is closed.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api', MAX_SUBSCRIPTIONS_PER_KEY: String(LIMIT) });
  });
  afterAll(async () => {
    await Promise.all(
      clients.map(async (c) => {
        await c.dispose();
      }),
    );
    await server?.stop();
    await database?.drop();
  });
  /** Each test has its own key (so its own slots) and a generation of it that stays QUEUED. */
  let key: string;
  let queued: string;
  beforeEach(async () => {
    ({ key } = await createKeyIn(database.url));
    const body = await server.graphql(GENERATE, { input: { prompt: 'watched', durationSeconds: 4 } }, { authorization: `Bearer ${key}` });
    queued = (body.data!.generateVideo as { generation: { id: string } }).generation.id;
  });

  const wsClient = () => {
    const c = createWsClient(server.url, { key: key });
    clients.push(c);
    return c;
  };

  /** A WebSocket subscription: `settled` is 'open' on its first result, 'error' with the errors otherwise. */
  function overWs(c: Client) {
    let errors: unknown;
    let unsubscribe = () => {};
    const settled = new Promise<'open' | 'error'>((resolve) => {
      unsubscribe = c.subscribe(
        { query: SUBSCRIBE, variables: { id: queued } },
        {
          next: (value) => resolve((value as GraphqlBody<unknown>).errors ? 'error' : 'open'),
          error: (error) => {
            errors = error;
            resolve('error');
          },
          complete: () => resolve('error'),
        },
      );
    });
    return { settled, errors: () => errors, close: () => unsubscribe() };
  }

  /** Opens and closes one subscription, so the socket is connected and authenticated before the lock. */
  async function connected(c: Client) {
    const first = overWs(c);
    expect(await first.settled).toBe('open');
    first.close();
  }

  /** An SSE subscription that stays open until `close`. */
  const overSse = () => openSse(server.url, key, SUBSCRIBE, { id: queued });

  /** Holds the generations table locked, so the app's read of it waits; `release` rolls back. */
  async function lockGenerations(): Promise<{ connection: postgres.ReservedSql; release: () => Promise<void> }> {
    const connection = await database.sql.reserve();
    await connection`begin`;
    await connection`lock table generations in access exclusive mode`;
    return {
      connection,
      release: async () => {
        await connection`rollback`;
        connection.release();
      },
    };
  }

  /** Waits until `n` of the app's queries wait for the lock. */
  const waitingOnLock = (n: number) =>
    waitFor(`${n} queries waiting on the lock`, async () => {
      const [{ waiting }] = await database.sql<[{ waiting: number }]>`
        select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      return waiting >= n ? true : undefined;
    });

  /** Opens LIMIT subscriptions (WebSocket and SSE mixed) and closes them, until all open (a slot is given back
   * a moment after its stream ends); all must open within the wait. */
  async function expectEverySlotFree() {
    const c = wsClient();
    let last = '';
    const attempt = async () => {
      const streams = [overWs(c), overSse(), ...Array.from({ length: LIMIT - 2 }, () => overWs(c))];
      try {
        const outcomes = await Promise.all(streams.map((s) => s.settled));
        last = JSON.stringify(streams.map((s) => ('errors' in s ? s.errors() : s.text())));
        return outcomes.every((o) => o === 'open') ? outcomes : undefined;
      } finally {
        streams.forEach((s) => s.close());
      }
    };
    const outcomes = await waitFor('every slot to be free', attempt, { timeoutMs: 5000, intervalMs: 100 }).catch(() => undefined);
    expect(outcomes, last).toEqual(Array(LIMIT).fill('open'));
  }

  it('gives back the slot of a subscribe that fails because the database went down, over WebSocket and SSE', async () => {
    await expectEverySlotFree();
    const c = wsClient();
    // Authenticated first (the WebSocket at connect, SSE per request), then the read of the generation waits.
    await connected(c);
    const lock = await lockGenerations();
    const stalled = [overWs(c), overWs(c), overSse()];
    try {
      await waitingOnLock(3);
    } catch (error) {
      await lock.release();
      throw error;
    }
    // The outage: no new connections, and every open one of the app is cut.
    const name = new URL(database.url).pathname.slice(1);
    const admin = postgres(inject('postgresUrl')!, { max: 1, onnotice: () => {} });
    try {
      const [{ pid: lockPid }] = await lock.connection<[{ pid: number }]>`select pg_backend_pid() as pid`;
      await admin.unsafe(`alter database ${name} with allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> ${lockPid}`;
      const outcomes = await Promise.all(stalled.map((s) => s.settled));
      expect(outcomes, JSON.stringify(stalled.map((s) => ('errors' in s ? s.errors() : s.text())))).toEqual(['error', 'error', 'error']);
    } finally {
      await admin.unsafe(`alter database ${name} with allow_connections true`);
      await admin.end();
      await lock.release();
    }
    await waitFor('the app to reach the database again', async () => {
      const body = await server.graphql('{ generations(first: 1) { edges { node { id } } } }');
      return body.errors ? undefined : true;
    });
    await expectEverySlotFree();
  });

  /** A graphql-sse client in single-connection mode: one reserved stream that carries all its operations. */
  const singleConnection = () =>
    createSseClient({
      url: `${server.url}/graphql/stream`,
      singleConnection: true,
      headers: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });

  /** A subscription over that stream: `settled` is 'open' on its first result, 'error' otherwise. */
  function overSingle(c: SseClient<true>) {
    let unsubscribe = () => {};
    const settled = new Promise<'open' | 'error'>((resolve) => {
      unsubscribe = c.subscribe(
        { query: SUBSCRIBE, variables: { id: queued } },
        { next: (value) => resolve(value.errors ? 'error' : 'open'), error: () => resolve('error'), complete: () => resolve('error') },
      );
    });
    return { settled, close: () => unsubscribe() };
  }

  /** Reserves a single-connection stream by hand (graphql-sse's PUT) and never opens it. */
  const reserve = () =>
    fetch(`${server.url}/graphql/stream`, { method: 'PUT', headers: { accept: 'text/plain', authorization: `Bearer ${key}` } });

  it('counts a single-connection SSE stream and each subscription on it against the key, and frees them when it closes', async () => {
    const c = singleConnection();
    try {
      // LIMIT 3: the stream holds one slot and each of its two subscriptions one more.
      const first = overSingle(c);
      expect(await first.settled).toBe('open');
      const second = overSingle(c);
      expect(await second.settled).toBe('open');
      const overLimit = [overSse(), overWs(wsClient())];
      expect(await Promise.all(overLimit.map((s) => s.settled))).toEqual(['error', 'error']);
      overLimit.forEach((s) => s.close());
      // A second stream cannot even be reserved.
      const refused = await reserve();
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as GraphqlBody<unknown>).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      c.dispose();
    }
    await expectEverySlotFree();
  });

  it('drops a reserved stream that is never opened, and gives its slot back', async () => {
    const reservations = await Promise.all(Array.from({ length: LIMIT }, reserve));
    expect(reservations.map((r) => r.status)).toEqual(Array(LIMIT).fill(201));
    expect((await reserve()).status).toBe(429);
    const sse = overSse();
    expect(await sse.settled).toBe('error');
    sse.close();
    // Unopened reservations are dropped after sseReservationMs (5 s).
    await waitFor(
      'the reservations to be dropped',
      async () => {
        const stream = overSse();
        try {
          return (await stream.settled) === 'open';
        } finally {
          stream.close();
        }
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    // A dropped reservation's token is gone with it.
    const token = await reservations[0]!.text();
    const late = await fetch(`${server.url}/graphql/stream`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${key}`, 'x-graphql-event-stream-token': token },
    });
    expect(late.status).toBe(404);
    await late.body?.cancel();
    await expectEverySlotFree();
  });

  it('gives back the slot of a subscription closed by its client before its first event', async () => {
    const c = wsClient();
    await connected(c);
    const lock = await lockGenerations();
    const abandoned = [overWs(c), overWs(c), overSse()];
    try {
      await waitingOnLock(3);
      abandoned.forEach((s) => s.close());
    } finally {
      await lock.release();
    }
    await expectEverySlotFree();
  });
});
