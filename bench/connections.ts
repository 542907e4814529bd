/**
 * Scenario 4: memory per idle connection. The server runs as a child process (`node --import tsx src/main.ts`,
 * ROLE=api, Postgres) so its memory is not mixed with the clients'; this process opens raw graphql-transport-ws
 * sockets that complete ConnectionInit (with the development key) and then stay idle. The server's RSS is read from
 * /proc before any connection and after each step (2 s after the last connection was acknowledged). RSS includes heap
 * not yet collected, so the per-connection figure is approximate.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { createBenchDatabase, within } from './support.js';

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

const root = fileURLToPath(new URL('..', import.meta.url));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
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
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-conn-'));
  options.defer(() => rm(dataDir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ROLE: 'api',
    DATABASE_URL: database.url,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  options.defer(stopChild);
  let output = '';
  const sockets: WebSocket[] = [];
  try {
    const { url, key } = await new Promise<{ url: string; key: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server not ready within 30 s:\n${output.slice(-2000)}`)), 30_000);
      const check = () => {
        const ready = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
        const key = /(rql_[A-Za-z0-9_-]+)/.exec(output);
        if (output.includes('reelql is ready') && ready && key) {
          clearTimeout(timer);
          resolve({ url: ready[1]!, key: key[1]! });
        }
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        check();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        check();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${output.slice(-2000)}`));
      });
    });
    const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
    await sleep(2000);
    const idleRssMb = await rssMb(child.pid!);
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
      const rss = await rssMb(child.pid!);
      result.push({ connections: target, rssMb: rss, kbPerConnection: ((rss - idleRssMb) * 1024) / target, openSeconds });
      options.log(`connections: ${target} idle connections: ${rss.toFixed(0)} MB, ${result.at(-1)!.kbPerConnection.toFixed(1)} KB each`);
    }
    return { scenario: 'connections', idleRssMb, steps: result };
  } finally {
    for (const socket of sockets) socket.terminate();
    await stopChild();
  }
}
