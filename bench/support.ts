/** Shared pieces of the benchmarks: a throwaway database, the real app in process, a client, statistics. */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createApp, type App } from '../src/server/compose.js';
import { createApiKey } from '../src/auth/keys.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';

/** A database created for one benchmark run and dropped afterwards. */
export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `reelql_bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end({ timeout: 1 });
      }
    },
  };
}

/** The real server (createApp with a loadConfig environment) on a free loopback port. */
export interface BenchApp {
  app: App;
  url: string;
  /** The API key its requests carry. */
  key: string;
  /** Warnings and errors the app logged. */
  logs: string[];
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** `key`: an API key already in the database; omitted, a new key (no budget, no cap) is created. */
export async function startBenchApp(env: Record<string, string>, key?: string): Promise<BenchApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-'));
  const logs: string[] = [];
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env });
  // Lines are kept to show when a run fails (a pino destination needs only write()).
  const destination = { write: (line: string) => void logs.push(line) };
  const app = await createApp(config, { log: createLogger(config.server.logLevel, destination) });
  const url = await app.start();
  key ??= (await createApiKey(app.database.db, { name: `bench-${randomBytes(4).toString('hex')}` })).key;
  return {
    app,
    url,
    key,
    logs,
    async graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
      if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
      return body.data;
    },
    async stop() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function createBenchWsClient(bench: BenchApp): Client {
  return createClient({
    url: `${bench.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${bench.key}` },
    retryAttempts: 0,
  });
}

/** Every update of one subscription with the time it arrived; resolves when the stream ends. */
export function collectUpdates<T>(client: Client, query: string, variables: Record<string, unknown>) {
  const updates: { value: T; at: number }[] = [];
  const done = new Promise<typeof updates>((resolve, reject) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(new Error(`subscription error: ${JSON.stringify(result.errors)}`));
          else if (result.data) updates.push({ value: result.data, at: Date.now() });
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(updates),
      },
    );
  });
  return { updates, done };
}

/** Linear-interpolated percentile (q in 0..1) of a non-empty list. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export interface Summary {
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    mean: values.reduce((sum, v) => sum + v, 0) / values.length,
    min: Math.min(...values),
    p50: percentile(values, 0.5),
    p95: percentile(values, 0.95),
    max: Math.max(...values),
  };
}

/** Rejects after `ms` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resident memory of a process in MB (VmRSS from /proc, Linux). */
export async function rssMbOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat (Linux). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 3, utime and stime are fields 14 and 15, in ticks of 1/100 s.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A free loopback port (released again before it is handed out, so another process could take it first). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The real entry point (`node --import tsx src/main.ts`) as a child process, so its memory and CPU are its own. */
export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  url: string;
  /** The development key the server printed on its first start. */
  key: string;
  dataDir: string;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  rssMb(): Promise<number>;
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** SIGTERM (a graceful stop that lets `--cpu-prof` write its profile), SIGKILL after 15 s; removes the data directory. */
  stop(): Promise<void>;
}

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Spawns the server with `env` added to a minimal environment (PORT, HOST, DATA_DIR, LOG_LEVEL=warn by default)
 * and `nodeArgs` before the entry point (e.g. `--cpu-prof`). Ready = the development key on stderr, which main.ts
 * prints once the server listens. Needs a database with no key yet (a fresh one), like a first start.
 */
/** Lifts every key's budget and active cap: the long scenarios ask for far more than a development key may. */
export async function liftKeyLimits(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`update api_keys set daily_budget_usd = null, max_active = null`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * The environment of a spawned server: only PATH and HOME of this process (so nothing else leaks in), loopback,
 * a free port and its own data directory; `overrides` win.
 */
export function serverEnv(dataDir: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

export async function spawnServer(options: {
  env: Record<string, string>;
  nodeArgs?: string[];
  readyTimeoutMs?: number;
  /**
   * A key made already (another process on the same database printed it): ready is then the "reelql is ready"
   * log line, so the server is started with LOG_LEVEL=info unless `env` says otherwise.
   */
  key?: string;
}): Promise<SpawnedServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-bench-srv-'));
  const port = await freePort();
  const env = serverEnv(dataDir, { PORT: String(port), LOG_LEVEL: options.key ? 'info' : 'warn', ...options.env });
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const key = await new Promise<string>((resolve, reject) => {
      const timeoutMs = options.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => reject(new Error(`server not ready within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
      const check = () => {
        if (options.key && output.includes('reelql is ready')) {
          clearTimeout(timer);
          resolve(options.key);
          return;
        }
        const found = /(rql_[A-Za-z0-9_-]{43})/.exec(output);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (options.key) check();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        check();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before it was ready:\n${output.slice(-2000)}`));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    return {
      child,
      pid: child.pid!,
      url,
      key,
      dataDir,
      output: () => output,
      rssMb: () => rssMbOf(child.pid!),
      async graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
        if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
        return body.data;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A baseline server from bench/ (`<script> <args…>`) as a child process, run through tsx; resolves once it prints
 * `listening <url>`. `stop` sends SIGTERM, then SIGKILL after 5 s.
 */
export async function spawnBaselineScript(script: string, args: string[], nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const found = /listening (http\S+)/.exec(output);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${code}:\n${output}`));
      });
    });
    return { pid: child.pid!, url, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
