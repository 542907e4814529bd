import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { seedPgliteDataDir } from './helpers/pglite-template.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const LIST = `query List { generations(first: 1) { edges { node { id } } } }`;
/** The embedded default, whatever the environment running the tests holds (empty counts as unset). */
const EMBEDDED = { DATABASE_URL: '', SEGMIND_API_KEY: '', NODE_ENV: 'development', SIMULATOR_PROCESSING_MS: '200' };

interface KeysRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real keys command (what `npm run keys --` runs, as built: see ensureBuild) as its own process. */
function keys(args: string[], env: Record<string, string>): Promise<KeysRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/cli/keys.js', ...args],
      { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)!.trim();

/** Whether the server at `url` accepts `key` for an operation that needs one. */
async function accepts(url: string, key: string): Promise<boolean> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: LIST }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  if (body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') return false;
  expect(body.errors).toBeUndefined();
  return true;
}

/** A graphql-ws connection acknowledged for `key`; resolves `closed` with the code the server closes it with. */
async function openSocket(url: string, key: string): Promise<{ closed: Promise<number> }> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.once('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if ((JSON.parse(text) as { type: string }).type === 'connection_ack') resolve();
      else reject(new Error(`no connection_ack: ${text}`));
    });
    socket.once('error', reject);
  });
  return { closed };
}

/** A failure the operator can act on: one line, non-zero exit, no stack, no SQL, no key material. */
function expectOneLineFailure(run: KeysRun, pattern: RegExp): void {
  expect(run.code, run.stdout).not.toBe(0);
  expect(run.stderr.trim()).toMatch(pattern);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/insert into|select |params:|\n\s+at |RuntimeError/i);
  expect(run.stderr).not.toMatch(/[0-9a-f]{64}/);
  expect(run.stdout).not.toContain('rql_');
}

/** A lock file as a process that has since exited would have left it. */
async function leaveStaleLock(dataDir: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
  await writeFile(path.join(dataDir, 'pglite.lock'), JSON.stringify({ pid, since: new Date().toISOString(), holder: 'reelql server' }));
}

/** A Unix socket file nobody listens on any more: its process was killed before it could remove it. */
async function leaveStaleSocket(socketPath: string): Promise<void> {
  const listener = `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('listening'))`;
  const child = spawn(process.execPath, ['-e', listener], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  expect((await stat(socketPath)).isSocket()).toBe(true);
}

describe('the keys command on the embedded database while the server runs', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let bobKey: string;
  const env = () => ({ ...EMBEDDED, DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-keys-embedded-'));
    await seedPgliteDataDir(dataDir);
    server = await spawnServer(env(), 60_000);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a key the running server accepts at once', async () => {
    const created = await keys(['create', 'bob', '--daily-budget-usd', '3'], env());
    expect(created.code, created.stderr).toBe(0);
    bobKey = lastLine(created.stdout);
    expect(bobKey).toMatch(/^rql_[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toContain('Created key "bob"');
    expect(await accepts(server!.url, bobKey)).toBe(true);
  }, 60_000);

  it('answers a duplicate name with one line saying so, and creates nothing', async () => {
    const again = await keys(['create', 'bob'], env());
    expectOneLineFailure(again, /a key named "?bob"? already exists/i);
    const listed = await keys(['list'], env());
    expect(listed.stdout.split('\n').filter((line) => line.includes('\tbob\t'))).toHaveLength(1);
  }, 60_000);

  it('lists the keys while the server runs, never a key itself', async () => {
    const listed = await keys(['list'], env());
    expect(listed.code, listed.stderr).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.includes('\tbob\t'));
    expect(line).toContain(bobKey.slice(0, 12));
    expect(line).toContain('budget $3.00/day');
    expect(listed.stdout).toMatch(/\tdevelopment\t/);
    expect(listed.stdout + listed.stderr).not.toContain(bobKey);
  }, 60_000);

  it('answers a revoke of a key that does not exist with one line', async () => {
    expectOneLineFailure(await keys(['revoke', 'nobody'], env()), /no active key is named or starts with "nobody"/i);
  }, 60_000);

  it('revokes through the running server, which closes the open socket of that key and refuses it at once', async () => {
    const created = await keys(['create', 'short-lived'], env());
    expect(created.code, created.stderr).toBe(0);
    const key = lastLine(created.stdout);
    expect(await accepts(server!.url, key)).toBe(true);
    const socket = await openSocket(server!.url, key);
    const revoked = await keys(['revoke', 'short-lived'], env());
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('Revoked key "short-lived"');
    const closedWith = await Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 3000))]);
    expect(closedWith).toBe(4403);
    expect(await accepts(server!.url, key)).toBe(false);
  }, 60_000);

  it('keeps its channel to the keys command private to the owner', async () => {
    const channel = await stat(path.join(dataDir, 'admin.sock'));
    expect(channel.isSocket()).toBe(true);
    expect(channel.mode & 0o077).toBe(0);
  });

  it('refuses to start a second server on the same data directory, naming the process that holds it', async () => {
    const error = await spawnServer(env(), 60_000).then(
      (second) => second.stop().then(() => new Error('a second server started')),
      (refused: Error) => refused,
    );
    expect(error.message).toMatch(/exited with 1 before it was ready/);
    expect(error.message).toContain(`in use by process ${server!.process.pid}`);
    expect(error.message).toContain('Stop that process first, or set DATA_DIR to another directory.');
    expect(error.message).not.toMatch(/RuntimeError|\n\s+at /);
    // The first server is untouched.
    expect(await accepts(server!.url, bobKey)).toBe(true);
  }, 90_000);

  it('with no server running, opens the database itself, and every key survives a restart', async () => {
    expect(await server!.stop()).toBe(0);
    server = undefined;
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    // What a server killed with SIGKILL leaves behind: its lock and its socket, both of a process that is gone.
    await leaveStaleLock(dataDir);
    await leaveStaleSocket(path.join(dataDir, 'admin.sock'));

    const created = await keys(['create', 'carol'], env());
    expect(created.code, created.stderr).toBe(0);
    const carolKey = lastLine(created.stdout);
    const listed = await keys(['list'], env());
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/\tbob\t/);
    expect(listed.stdout).toMatch(/\tcarol\t/);
    expectOneLineFailure(await keys(['create', 'carol'], env()), /a key named "?carol"? already exists/i);

    await leaveStaleLock(dataDir);
    server = await spawnServer(env(), 60_000);
    expect(await accepts(server.url, bobKey)).toBe(true);
    expect(await accepts(server.url, carolKey)).toBe(true);
    expect((await keys(['list'], env())).stdout).toMatch(/\tcarol\t/);
  }, 150_000);
});

describe('the keys command on an embedded database held by a process that does not answer', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-keys-held-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says which process holds it and what to do, without opening it', async () => {
    // This test's own process is alive and serves no channel: it stands for a hung or foreign holder.
    const lock = path.join(dataDir, 'pglite.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, since: new Date(Date.now() - 60_000).toISOString() }));
    const run = await keys(['list'], { ...EMBEDDED, DATA_DIR: dataDir });
    expectOneLineFailure(run, new RegExp(`in use by process ${process.pid}`));
    expect(run.stderr).toContain(lock);
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
  }, 60_000);
});

describe.skipIf(!hasPostgres)('the keys command on Postgres', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('answers a duplicate name with the same one line, without the SQL or the hash', async () => {
    const taken = (await createKeyIn(database.url, { name: 'dana' })).apiKey.name;
    const run = await keys(['create', taken], { DATABASE_URL: database.url, DATA_DIR: os.tmpdir() });
    expectOneLineFailure(run, /a key named "?dana"? already exists/i);
  }, 60_000);

  it('answers a database it cannot reach with one line naming it', async () => {
    const run = await keys(['list'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', DATA_DIR: os.tmpdir() });
    expectOneLineFailure(run, /cannot reach the database/i);
    expect(run.stderr).toContain('127.0.0.1:1');
  }, 60_000);
});

describe('the keys command line', () => {
  it('answers --help and -h with the usage on stdout and exit code 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await keys([flag], { DATA_DIR: os.tmpdir() });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('npm run keys -- create <name>');
      expect(run.stderr).toBe('');
    }
  }, 60_000);

  it('names a wrong flag and the allowed ones, without advice about positional arguments', async () => {
    const run = await keys(['create', 'bob', '--budget', '5'], { DATA_DIR: os.tmpdir() });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('Unknown flag --budget. Allowed flags: --daily-budget-usd, --max-active, --help.');
    expect(run.stderr).toContain('npm run keys -- list');
    expect(run.stderr).not.toContain('positional');
  }, 60_000);

  it('says a bad value on one line pointing to --help, and a value-less flag without node\'s words', async () => {
    const negative = await keys(['create', 'bob', '--daily-budget-usd', '-3'], { DATA_DIR: os.tmpdir() });
    expect(negative.code).toBe(2);
    expect(negative.stderr.split('\n')[0]).toBe(
      '--daily-budget-usd needs a value after it (write --daily-budget-usd=VALUE for a value that starts with "-").',
    );
    expect(negative.stderr).not.toMatch(/ambiguous|Did you forget|XYZ/);
    const belowZero = await keys(['create', 'bob', '--daily-budget-usd=-3'], { DATA_DIR: os.tmpdir() });
    expect(belowZero.code).toBe(2);
    expect(belowZero.stderr.trimEnd().split('\n')).toEqual([
      '--daily-budget-usd must be a positive number; got "-3".',
      'Run npm run keys -- --help for the usage.',
    ]);
    const badName = await keys(['create', 'bad name!'], { DATA_DIR: os.tmpdir() });
    expect(badName.code).toBe(2);
    expect(badName.stderr.trimEnd().split('\n')).toHaveLength(2);
    expect(badName.stderr).not.toContain('Usage:');
  }, 60_000);

  it('names an unknown command instead of only asking what to do', async () => {
    const run = await keys(['delete', 'bob'], { DATA_DIR: os.tmpdir() });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('Unknown command "delete": say create, list or revoke.');
  }, 60_000);
});
