import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';

/** Opens a graphql-transport-ws socket, sends ConnectionInit with `key`, and resolves with the close code (or 'ack'). */
function connect(url: string, key: string): Promise<number | 'ack'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') {
        resolve('ack');
        socket.close(1000);
      }
    });
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

describe.skipIf(!hasPostgres)('a WebSocket connection while the database is away', () => {
  let database: TestDatabase;
  let admin: postgres.Sql;
  let server: TestApp;
  const name = () => new URL(database.url).pathname.slice(1);

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = postgres(inject('postgresUrl')!, { max: 1, onnotice: () => {} });
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
  });
  afterAll(async () => {
    await admin?.unsafe(`alter database ${name()} with allow_connections true`);
    await server?.stop();
    await admin?.end({ timeout: 1 });
    await database?.drop();
  });

  it('is closed with 1013 Try Again Later, which clients retry, not as a client that went away or a server fault', async () => {
    expect(await connect(server.url, server.key)).toBe('ack');
    await admin.unsafe(`alter database ${name()} with allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name()} and pid <> pg_backend_pid()`;
    await sleep(100);
    const code = await connect(server.url, server.key);
    await admin.unsafe(`alter database ${name()} with allow_connections true`);

    expect(code).toBe(1013);
    expect(server.logs.some((line) => line.includes('the client is asked to reconnect'))).toBe(true);
    // Back again, the same key connects as before.
    await expect.poll(() => connect(server.url, server.key), { timeout: 10_000 }).toBe('ack');
  });
});
