import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/cli/generate/exit-codes.js';
import { SAME_PRESS_MS } from '../src/cli/generate/follow.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GET } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { imageBytes } from './helpers/multipart.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { VIEWER } from './helpers/clients.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { SAVED, USER, UPSTREAM, CANCELED } = EXIT_CODES;

interface CliRun {
  stdout: () => string;
  stderr: () => string;
  /** Sends a signal to the command; a SIGINT no sooner than a person would press Ctrl-C again. */
  kill(signal: NodeJS.Signals): void;
  /** Writes to the command's stdin. */
  type(text: string): void;
  /** The exit code, once the command has exited. */
  exited: Promise<number | null>;
}

/** Empty: the command must never find a development key it was not pointed at. */
let noKeyDir: string;

/**
 * Runs the generate command as its own process, with only the given REELQL_* variables: as built (see ensureBuild)
 * unless `command` says otherwise, e.g. through `npm run generate` as documented.
 */
function runCli(args: string[], env: Record<string, string> = {}, command = [process.execPath, 'dist/cli/generate/main.js']): CliRun {
  const inherited = { ...process.env };
  for (const name of ['REELQL_URL', 'REELQL_API_KEY', 'DATA_DIR']) delete inherited[name];
  const [program, ...rest] = command;
  const child = spawn(program!, [...rest, ...args], {
    cwd: root,
    env: { ...inherited, DATA_DIR: noKeyDir, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A person presses Ctrl-C again only after reading the question; the command takes SIGINTs closer together than
  // SAME_PRESS_MS as one press (the terminal's and npm's copy), so a second press is sent no sooner.
  let lastInterruptAt = -Infinity;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal) => {
      if (signal !== 'SIGINT') return void child.kill(signal);
      const dueAt = Math.max(Date.now(), lastInterruptAt + SAME_PRESS_MS + 50);
      lastInterruptAt = dueAt;
      setTimeout(() => child.kill(signal), dueAt - Date.now());
    },
    type: (text) => child.stdin.write(text),
    exited,
  };
}

/** Waits for the command to exit and returns its code with everything it printed. */
async function finish(run: CliRun) {
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

const idOf = (stdout: string) => /Generation ([0-9a-f-]{36})/.exec(stdout)?.[1];

/** The plain progress lines (`PROCESSING 42% ETA 58s`) the command prints when stdout is not a terminal. */
const progressLines = (stdout: string) =>
  [...stdout.matchAll(/^(QUEUED|SUBMITTED|PROCESSING|STORING|SUCCEEDED) (\d+)%/gm)].map((m) => ({ status: m[1]!, percent: Number(m[2]) }));

beforeAll(async () => {
  noKeyDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-cli-nokey-'));
});
afterAll(async () => {
  await rm(noKeyDir, { recursive: true, force: true });
});

describe('the generate command without a server', () => {
  it('rejects unknown flags and bad values with exit code 2 and says what is allowed', async () => {
    const cases: [string[], RegExp][] = [
      [['a prompt', '--colour', 'red'], /Unknown flag --colour\. Allowed flags: --url, --key, --duration/],
      [['a prompt', '--duration', '5'], /--duration must be 4, 6 or 8; got "5"/],
      [['a prompt', '--aspect', '4:3'], /--aspect must be 16:9 or 9:16; got "4:3"/],
      [['a prompt', '--resolution', '4k'], /--resolution must be 720p or 1080p/],
      [['a prompt', '--seed', 'abc'], /--seed must be a whole number from 0 to 2147483647/],
      [['a prompt', '--last-frame', 'https://example.com/end.png'], /--last-frame needs --image/],
      [['a prompt', '--url', 'ftp://example.com'], /--url must use http or https/],
      [[], /give the prompt as the first argument/],
      [['two', 'words'], /Give the prompt as one argument, in quotes/],
      [['a prompt', '--shot', 'one'], /Give either a prompt or --shot prompts, not both/],
      [Array.from({ length: 9 }, (_, i) => ['--shot', `shot ${i}`]).flat(), /A story has at most 8 shots; got 9 --shot flags/],
      [['--shot', 'one', '--shot', ' '], /--shot number 2 is empty/],
      [['a prompt', '--continue-from', 'abc', '--image', 'https://example.com/a.png'], /Give --continue-from or --image, not both/],
      [['--shot', 'one', '--continue-from', 'abc'], /--continue-from is for a single video/],
      [['a prompt', '--deadline', 'soon'], /--deadline must be a whole number of seconds/],
    ];
    const results = await Promise.all(cases.map(([args]) => finish(runCli(args))));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![0].join(' ')).toBe(USER.code);
      expect(result.stderr).toMatch(cases[i]![1]);
      expect(result.stdout).toBe('');
    });
    // The usage comes with a wrong flag only; every other message is followed by one line that points to --help.
    const [unknownFlag, ...others] = results;
    expect(unknownFlag!.stderr).toContain('Usage: npm run generate');
    for (const result of others) {
      expect(result.stderr).not.toContain('Usage:');
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(2);
      expect(result.stderr.trimEnd().split('\n')[1]).toBe('Run npm run generate -- --help for the options.');
    }
  });

  it("says in its own words that a flag needs a value, also when the value starts with a dash, never in node's", async () => {
    for (const args of [['a prompt', '--seed', '-5'], ['a prompt', '--seed']]) {
      const { code, stderr } = await finish(runCli(args));
      expect(code).toBe(USER.code);
      expect(stderr.split('\n')[0]).toBe('--seed needs a value after it (write --seed=VALUE for a value that starts with "-").');
      expect(stderr).not.toMatch(/ambiguous|Did you forget|argument missing|XYZ/);
    }
  });

  it('shows the usage for a flag that is missing its value', async () => {
    const { code, stderr } = await finish(runCli(['a prompt', '--duration']));
    expect(code).toBe(USER.code);
    expect(stderr).toMatch(/--duration/);
    expect(stderr).toContain('Usage: npm run generate');
  });

  it('prints its help, with every exit code, through the npm script', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const { code, stdout } = await finish(runCli(['--help'], {}, [npm, 'run', '--silent', 'generate', '--']));
    expect(code).toBe(0);
    expect(stdout).toContain('--no-audio');
    for (const { code: exitCode, meaning } of Object.values(EXIT_CODES)) expect(stdout).toContain(`${exitCode}  ${meaning}`);
  });

  it('documents the same exit codes in the README as in --help', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    for (const { code, meaning } of Object.values(EXIT_CODES)) {
      expect(readme).toContain(`| ${code} | ${meaning[0]!.toUpperCase()}${meaning.slice(1)} |`);
    }
  });

  it('exits 3 and says so when the server cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const { code, stderr } = await finish(runCli(['a prompt', '--url', `http://127.0.0.1:${port}`, '--key', 'rql_whatever']));
    expect(code).toBe(UPSTREAM.code);
    expect(stderr).toContain(`Cannot reach the reelql server at http://127.0.0.1:${port}`);
  });
});

describe.skipIf(!hasPostgres)('the generate command against a real server', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let outDir: string;
  let receiver: WebhookReceiver;
  /** Where the server is and which key to send, as a user would set them. */
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startWebhookReceiver();
    // Short jobs; "[sim:slow]" prompts take ten times as long, which leaves time for two Ctrl-C rounds even on a
    // loaded machine.
    sim = await startSimulator({ processingMs: 1000 });
    // With a Segmind key set (the simulator's), a development key is made only when asked for.
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, DEVELOPMENT_KEY: 'on', WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}` });
    outDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-cli-out-'));
    env = { REELQL_URL: server.url, REELQL_API_KEY: server.key };
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await sim?.simulator.stop();
    await database?.drop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  const generation = async (id: string) => (await server.graphql(GET, { id })).data?.generation;

  it('shows the price and each step, then saves exactly the video the server stored', async () => {
    const { code, stdout, stderr } = await finish(
      runCli(['a paper boat in a puddle', '--duration', '4', '--no-audio', '--aspect', '9:16', '--resolution', '720p', '--out', outDir], env),
    );
    expect(code, stderr).toBe(SAVED.code);
    expect(stdout).toContain('Price: $0.40 USD (4 s, 720p, 9:16, no audio).');
    const id = idOf(stdout)!;

    const steps = progressLines(stdout);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    const percents = steps.map((s) => s.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(steps.at(-1)).toEqual({ status: 'SUCCEEDED', percent: 100 });
    expect(stdout).toContain('[succeeded]');

    const saved = path.join(outDir, `${id}.mp4`);
    const bytes = await readFile(saved);
    expect(stdout).toContain(`Saved ${saved} (`);
    expect(stdout).toContain(`${bytes.length} bytes`);
    const stored = await generation(id);
    expect(stored).toMatchObject({ durationSeconds: 4, generateAudio: false, aspectRatio: 'RATIO_9_16', resolution: 'RES_720P' });
    const served = Buffer.from(await (await fetch(stored.video.url)).arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    expect(bytes.equals(served)).toBe(true);
    expect(bytes.length).toBe(stored.video.sizeBytes);
  });

  it('uploads a local first frame as a multipart request', async () => {
    const frame = path.join(outDir, 'first-frame.png');
    await writeFile(frame, imageBytes('png', 2048));
    const out = path.join(outDir, 'with-frame.mp4');
    const { code, stdout, stderr } = await finish(runCli(['a kite', '--duration', '4', '--image', frame, '--out', out], env));
    expect(code, stderr).toBe(SAVED.code);
    const stored = await generation(idOf(stdout)!);
    // The server stored the upload at Segmind's (here the simulator's) asset storage and used that URL.
    expect(stored.image).toMatch(new RegExp(`^${sim.simulator.url}/files/assets/`));
    expect(existsSync(out)).toBe(true);
  });

  it('continues an earlier video from its last frame with --continue-from', async () => {
    const first = await finish(runCli(['a paper boat is set on a puddle', '--duration', '4', '--out', outDir], env));
    expect(first.code, first.stderr).toBe(SAVED.code);
    const source = idOf(first.stdout)!;
    const { code, stdout, stderr } = await finish(
      runCli(['the boat drifts under a bridge', '--duration', '4', '--continue-from', source, '--out', outDir], env),
    );
    expect(code, stderr).toBe(SAVED.code);
    const [row] = await database.sql`select continue_from_id from generations where id = ${idOf(stdout)!}`;
    expect(row!.continue_from_id).toBe(source);
  });

  it('makes a story from --shot prompts: the price of all shots, each shot as it goes, then the stitched MP4', async () => {
    const { code, stdout, stderr } = await finish(
      runCli(['--shot', 'a paper boat is set on a puddle', '--shot', 'it sails across', '--duration', '4', '--out', outDir], env),
    );
    expect(code, stderr).toBe(SAVED.code);
    expect(stdout).toContain('Price: $1.20 USD for 2 shots (4 s each, 1080p, 16:9, with audio).');
    const storyId = /Story (\S+): QUEUED, 2 shots/.exec(stdout)?.[1];
    expect(storyId, stdout).toBeTruthy();
    for (const line of ['[shot 1/2] SUCCEEDED', '[shot 2/2] SUCCEEDED', '(shot 2 of 2)']) expect(stdout).toContain(line);
    // Shot 2 is sent only after shot 1 succeeded (a short job may be seen finished at its first status request,
    // so its PROCESSING is not always shown; SUBMITTED always is).
    expect(stdout.indexOf('[shot 1/2] SUCCEEDED')).toBeLessThan(stdout.indexOf('[shot 2/2] SUBMITTED'));
    const saved = path.join(outDir, `${storyId}.mp4`);
    const bytes = await readFile(saved);
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    expect(stdout).toContain(`Saved ${saved} (`);
  });

  it('passes --webhook through, so the receiver gets the signed delivery of the result', async () => {
    const out = path.join(outDir, 'with-webhook.mp4');
    const { code, stdout, stderr } = await finish(runCli(['a heron', '--duration', '4', '--webhook', `${receiver.url}/cli`, '--out', out], env));
    expect(code, stderr).toBe(SAVED.code);
    const id = idOf(stdout)!;
    expect((await server.graphql(`{ generation(id: "${id}") { webhookUrl } }`)).data!.generation.webhookUrl).toBe(`${receiver.url}/cli`);
    const [delivery] = await waitFor('the delivery', () => (receiver.forGeneration(id).length > 0 ? receiver.forGeneration(id) : undefined));
    const secret = (await server.graphql(VIEWER)).data!.viewer.webhookSecret as string;
    expect(verifyWebhook(secret, delivery!)).toMatchObject({ type: 'generation.succeeded', data: { id, status: 'SUCCEEDED' } });
  });

  it('refuses a --webhook that is not a URL with exit code 2, before anything is sent', async () => {
    const { code, stderr } = await finish(runCli(['a heron', '--webhook', 'not a url'], env));
    expect(code).toBe(USER.code);
    expect(stderr.split('\n')[0]).toBe('--webhook must be an https URL such as https://example.com/hooks/reelql; got "not a url".');
  });

  it('exits 3 with the typed error code when the generation fails upstream', async () => {
    const { code, stdout, stderr } = await finish(runCli(['[sim:fail] a storm at sea', '--duration', '4', '--out', outDir], env));
    expect(code).toBe(UPSTREAM.code);
    const stored = await generation(idOf(stdout)!);
    expect(stored.status).toBe('FAILED');
    expect(stored.error.code).toBe('CONTENT_BLOCKED');
    expect(stderr).toContain(`failed: CONTENT_BLOCKED: ${stored.error.message}`);
    expect(stdout).toMatch(/^FAILED$/m);
  });

  it('cancels on Ctrl-C once the user answers "y" (after a "n"), and exits 4', async () => {
    const run = runCli(['[sim:slow] a long sunset', '--duration', '4', '--out', outDir], env);
    await waitFor('a progress line', () => (progressLines(run.stdout()).length > 0 ? true : undefined));
    const id = idOf(run.stdout())!;
    const question = `Cancel generation ${id}? Segmind may still charge if it already started. [y/N] `;

    run.kill('SIGINT');
    await waitFor('the question', () => (run.stderr().includes(question) ? true : undefined));
    run.type('n\n');
    await waitFor('the refusal', () => (run.stdout().includes('Not canceled; still waiting.') ? true : undefined));
    expect((await generation(id)).status).not.toBe('CANCELED');

    run.kill('SIGINT');
    await waitFor('the question again', () => (run.stderr().split(question).length === 3 ? true : undefined));
    run.type('y\n');
    const { code, stdout } = await finish(run);
    expect(code).toBe(CANCELED.code);
    expect(stdout).toContain(`Canceled generation ${id}.`);
    // It had reached the simulator, which cannot stop it.
    expect(stdout).toContain('chargeMayApply: true');
    expect((await generation(id)).status).toBe('CANCELED');
  });

  it('leaves the generation running when Ctrl-C is pressed again at the question, and exits 4', async () => {
    const run = runCli(['[sim:slow] clouds over hills', '--duration', '4', '--out', outDir], env);
    await waitFor('a progress line', () => (progressLines(run.stdout()).length > 0 ? true : undefined));
    const id = idOf(run.stdout())!;
    run.kill('SIGINT');
    await waitFor('the question', () => (run.stderr().includes(`Cancel generation ${id}?`) ? true : undefined));
    run.kill('SIGINT');
    const { code, stderr } = await finish(run);
    expect(code).toBe(CANCELED.code);
    expect(stderr).toContain(`Left without canceling: generation ${id} keeps running on the server.`);
    expect(['SUBMITTED', 'PROCESSING', 'STORING', 'SUCCEEDED']).toContain((await generation(id)).status);
  });

  it('exits 2 when the key is refused, and --key wins over REELQL_API_KEY', async () => {
    const [badEnv, badFlag] = await Promise.all([
      finish(runCli(['a prompt'], { ...env, REELQL_API_KEY: 'rql_not-a-real-key' })),
      finish(runCli(['a prompt', '--key', 'rql_not-a-real-key'], env)),
    ]);
    for (const { code, stdout, stderr } of [badEnv, badFlag]) {
      expect(code).toBe(USER.code);
      expect(stderr).toContain('The server refused the API key');
      expect(stdout).toBe('');
    }
  });

  it('uses the development key of a loopback server when none is given, and exits 2 when there is none', async () => {
    expect(existsSync(path.join(server.dataDir, 'development-key'))).toBe(true);
    // The server rejects this prompt as input, which proves the key was accepted first.
    const tooLong = 'x'.repeat(2001);
    const [withDevKey, withoutKey] = await Promise.all([
      finish(runCli([tooLong], { REELQL_URL: server.url, DATA_DIR: server.dataDir })),
      finish(runCli(['a prompt'], { REELQL_URL: server.url })),
    ]);
    expect(withDevKey.stderr).toContain(`Using the development key from ${path.join(server.dataDir, 'development-key')}`);
    expect(withDevKey.stderr).toContain('Invalid input (prompt): prompt must be at most 2000 characters long');
    expect(withDevKey.code).toBe(USER.code);
    expect(withoutKey.code).toBe(USER.code);
    expect(withoutKey.stderr).toContain('No API key: none given, and no development key in');
  });

  it('exits 2 without queuing anything when the key has no budget left for it', async () => {
    const { key } = await createKeyIn(database.url, { dailyBudgetUsd: 0.5 });
    const { code, stdout, stderr } = await finish(runCli(['an expensive video', '--out', outDir], { ...env, REELQL_API_KEY: key }));
    expect(code).toBe(USER.code);
    expect(stdout).toContain('Price: $1.20 USD');
    expect(stderr).toContain('Budget exceeded: Your API key has a daily budget of $0.50');
    expect(idOf(stdout)).toBeUndefined();
  });
});

describe('the generate command against a server on its built-in simulator', () => {
  let server: TestApp;
  let outDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Embedded database and simulator; "[sim:slow]" jobs take ten times as long, which leaves time to press Ctrl-C.
    server = await startTestApp({ SIMULATOR_PROCESSING_MS: '500' });
    outDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-cli-sim-out-'));
    env = { REELQL_URL: server.url, REELQL_API_KEY: server.key };
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** "Segmind" only as part of "Segmind simulator": nothing claims the job went to Segmind. */
  const claimsSegmind = (text: string) => /Segmind/i.test(text.replaceAll(/Segmind simulator/gi, ''));

  it('says the video is the simulator’s test clip, names the simulator on the timeline, and its progress never falls', async () => {
    const { code, stdout, stderr } = await finish(runCli(['a paper boat in a puddle', '--duration', '4', '--out', outDir], env));
    expect(code, stderr).toBe(SAVED.code);
    expect(stdout).toContain('The server runs the built-in Segmind simulator: the video will be a numbered test clip of the asked length and size');
    expect(stdout).toContain('Sent to the Segmind simulator.');
    expect(claimsSegmind(stdout + stderr)).toBe(false);
    const percents = progressLines(stdout).map((s) => s.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });

  it('asks and answers a cancel without promising a Segmind charge', async () => {
    const run = runCli(['[sim:slow] a long sunset', '--duration', '4', '--out', outDir], env);
    await waitFor('a progress line', () => (progressLines(run.stdout()).length > 0 ? true : undefined));
    const id = idOf(run.stdout())!;
    run.kill('SIGINT');
    await waitFor('the question', () => (run.stderr().includes(`Cancel generation ${id}? The simulator charges nothing. [y/N] `) ? true : undefined));
    run.type('y\n');
    const { code, stdout, stderr } = await finish(run);
    expect(code).toBe(CANCELED.code);
    expect(stdout).toContain(`Canceled generation ${id}. The Segmind simulator had already accepted the job (chargeMayApply: true)`);
    expect(claimsSegmind(stdout + stderr)).toBe(false);
  });
});
