import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authHeaders, GENERATE, GET } from './helpers/clients.js';
import { seedPgliteDataDir } from './helpers/pglite-template.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';

const PROCESSING_MS = 5000;

async function graphql(server: ServerProcess, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(server.key) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

/** The embedded simulator's URL, from the line the server logs when it starts it. */
const simulatorUrlOf = (server: ServerProcess) => /"simulatorUrl":"(http:\/\/[^"]+)"/.exec(server.output())?.[1];

const statusOf = async (server: ServerProcess, id: string) => (await graphql(server, GET, { id })).data?.generation;

describe('the embedded simulator across a server restart', () => {
  let dataDir: string | undefined;
  let servers: ServerProcess[] = [];
  const start = async () => {
    const server = await spawnServer({ DATA_DIR: dataDir!, SIMULATOR_PROCESSING_MS: String(PROCESSING_MS), LEASE_MS: '1500' });
    servers.push(server);
    return server;
  };

  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    servers = [];
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'finishes a job that was PROCESSING when the server got %s, on the same simulator port, with one submission',
    async (signal) => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-sim-restart-'));
      await seedPgliteDataDir(dataDir); // the restart is under test here, not the very first start
      const first = await start();
      const firstSimulator = simulatorUrlOf(first);
      expect(firstSimulator).toBeDefined();
      const created = await graphql(first, GENERATE, { input: { prompt: 'a paper boat on a river', durationSeconds: 4 } });
      const id = created.data?.generateVideo.generation.id as string;
      expect(id).toBeDefined();
      await waitFor('the generation to be with the simulator', async () => {
        const status = (await statusOf(first, id))?.status;
        return status === 'SUBMITTED' || status === 'PROCESSING' ? status : undefined;
      });
      await first.stop(signal);

      const second = await start();
      expect(simulatorUrlOf(second)).toBe(firstSimulator);
      const final = await waitFor(
        'the generation to end',
        async () => {
          const generation = await statusOf(second, id);
          return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(generation?.status) ? generation : undefined;
        },
        { timeoutMs: PROCESSING_MS + 15_000, intervalMs: 100 },
      );
      expect(final.error).toBeNull();
      expect(final.status).toBe('SUCCEEDED');
      const stats = (await (await fetch(`${simulatorUrlOf(second)}/__sim/stats`)).json()) as { submissions: number; jobs: unknown[] };
      expect(stats.jobs).toHaveLength(1);
      expect(stats.submissions).toBe(1);
    },
    60_000,
  );
});
