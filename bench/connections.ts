/**
 * Scenario 4: memory per idle connection. The server runs as a child process (`node --import tsx src/main.ts`,
 * ROLE=api, Postgres) so its memory is not mixed with the clients'; this process opens raw graphql-transport-ws
 * sockets that complete ConnectionInit (with the development key) and then stay idle. The server's RSS is read from
 * /proc before any connection and after each step (2 s after the last connection was acknowledged). RSS includes heap
 * not yet collected, so the per-connection figure is approximate.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { createBenchDatabase, spawnServer, within } from './support.js';

export interface ConnectionStep {
  connections: number;
  rssMb: number;
  /** (RSS now − RSS with no connection) ÷ connections. */
  kbPerConnection: number;
  openSeconds: number;
}

export interface ConnectionsResult {
  scenario: 'connections';
  idleRssMb: number;
  steps: ConnectionStep[];
}

function openIdle(url: string, key: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
      if (message.type === 'connection_ack') resolve(socket);
      else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    });
    socket.once('close', (code) => reject(new Error(`closed with ${code} before the ack`)));
  });
}

export async function runConnectionsScenario(options: {
  adminUrl: string;
  defer: (cleanup: () => Promise<void>) => void;
  log: (message: string) => void;
  steps?: number[];
}): Promise<ConnectionsResult> {
  const steps = options.steps ?? [2000, 5000];
  const database = await createBenchDatabase(options.adminUrl);
  options.defer(() => database.drop());
  const server = await spawnServer({ env: { ROLE: 'api', DATABASE_URL: database.url, LOG_LEVEL: 'info' } });
  options.defer(() => server.stop());
  const { url, key } = server;
  const sockets: WebSocket[] = [];
  try {
    const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
    await sleep(2000);
    const idleRssMb = await server.rssMb();
    options.log(`connections: server idle at ${idleRssMb.toFixed(0)} MB`);
    const result: ConnectionStep[] = [];
    for (const target of steps) {
      const started = performance.now();
      while (sockets.length < target) {
        const batch = Math.min(200, target - sockets.length);
        sockets.push(...(await within(Promise.all(Array.from({ length: batch }, () => openIdle(wsUrl, key))), 30_000, 'a batch of connections')));
      }
      const openSeconds = (performance.now() - started) / 1000;
      await sleep(2000);
      const rss = await server.rssMb();
      result.push({ connections: target, rssMb: rss, kbPerConnection: ((rss - idleRssMb) * 1024) / target, openSeconds });
      options.log(`connections: ${target} idle connections: ${rss.toFixed(0)} MB, ${result.at(-1)!.kbPerConnection.toFixed(1)} KB each`);
    }
    return { scenario: 'connections', idleRssMb, steps: result };
  } finally {
    for (const socket of sockets) socket.terminate();
    await server.stop();
  }
}
