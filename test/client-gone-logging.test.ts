import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EXIT_CODES } from '../src/cli/generate/exit-codes.js';
import { DEFAULTS } from '../src/config/defaults.js';
import { authHeaders, GENERATE, WATCH } from './helpers/clients.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What must never appear on the server's terminal when a client merely went away. */
function noisyLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /"level":"(error|fatal)"/.test(line) || /^\s+at /.test(line) || /Internal error|Please check your implementation/.test(line));
}

describe('a client that goes away', () => {
  let server: ServerProcess;
  let outDir: string;
  /** How much the server had printed when the current test began. */
  let printedBefore = 0;
  const printedSince = () => server.output().slice(printedBefore);

  beforeAll(async () => {
    // The embedded default a new user runs (PGlite, the built-in simulator): API, worker and database in one
    // process, so an update reaches a subscriber within microseconds of the change that caused it.
    server = await spawnServer({ LOG_LEVEL: 'debug', SIMULATOR_PROCESSING_MS: '4000' });
    outDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-gone-'));
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    printedBefore = server.output().length;
  });

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  }
  const allClosed = async () =>
    (await metric('reelql_websocket_connections')) === 0 && (await metric('reelql_active_subscriptions')) === 0 ? true : undefined;

  async function create(prompt: string): Promise<string> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(server.key) },
      body: JSON.stringify({ query: GENERATE, variables: { input: { prompt, durationSeconds: 4 } } }),
    });
    const body = (await response.json()) as { data: { generateVideo: { generation: { id: string } } } };
    return body.data.generateVideo.generation.id;
  }

  it('logs nothing at error level and no stack trace when the generate command is canceled with Ctrl-C', async () => {
    // Every cancel used to print the trace; two rounds make a lucky pass unlikely.
    for (let round = 1; round <= 2; round++) {
      const cli = spawn(process.execPath, ['dist/cli/generate/main.js', `a canceled clip ${round}`, '--duration', '4'], {
        cwd: root,
        env: { ...process.env, REELQL_URL: server.url, REELQL_API_KEY: server.key!, DATA_DIR: outDir },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let printed = '';
      cli.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      cli.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
      await waitFor('a progress line', () => (/^PROCESSING \d+%/m.test(printed) ? true : undefined), { timeoutMs: 15_000 });
      cli.kill('SIGINT');
      await waitFor('the question', () => (printed.includes('[y/N]') ? true : undefined));
      cli.stdin.write('y\n');
      expect(await exited, printed).toBe(EXIT_CODES.CANCELED.code);
      await waitFor('the server to see the client gone', allClosed);
    }
    expect(noisyLines(printedSince())).toEqual([]);
  });

  it('logs nothing at error level and no stack trace when an SSE subscriber aborts mid-stream', async () => {
    const id = await create('an SSE stream aborted');
    const abort = new AbortController();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeaders(server.key) },
      body: JSON.stringify({ query: WATCH, variables: { id } }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    let received = '';
    while ((received.match(/^event: next$/gm)?.length ?? 0) < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      received += Buffer.from(value).toString();
    }
    abort.abort();
    await waitFor('the server to see the client gone', allClosed, { timeoutMs: 15_000 });
    expect(noisyLines(printedSince())).toEqual([]);
  });

  it('logs a WebSocket message over the size limit as one info line, without a stack trace', async () => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('error', () => {}); // the server cuts this client off; that is the point
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('x'.repeat(DEFAULTS.limits.webSocketPayloadBytes.default + 1));
    expect(await closed).toBe(1009);
    const line = await waitFor('the log line', () => printedSince().split('\n').find((l) => l.includes('broke the protocol')));
    expect(JSON.parse(line)).toMatchObject({ level: 'info', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    expect(noisyLines(printedSince())).toEqual([]);
  });
});
