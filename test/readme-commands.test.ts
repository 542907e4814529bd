import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_SWITCHES } from '../src/server/graphiql-tabs.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';

/**
 * Every shell command in README.md runs here, as written, against a real server started by this test, so the
 * README cannot drift from what works. Two substitutions, and only these, stand in for a reader's setup:
 * - `http://localhost:4000` (the README's server) becomes this test server's address, also as `REELQL_URL`;
 * - `REELQL_API_KEY` (the README's "your key") is set to a key of this server, which has made one video already
 *   (as a reader's key has by the time the README follows "your latest generation").
 * Commands run in the repository with `bash -euo pipefail`, `DATABASE_URL` pointing at this test's database.
 * A command passes when it exits 0 and prints neither a GraphQL `errors` member nor UNAUTHENTICATED.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const README_URL = 'http://localhost:4000';

/** Commands that cannot run in a test, each with the reason. Keep this short: prefer commands that run. */
const SKIPPED: Record<string, string> = {
  'npm install && npm start': 'installs packages and starts a server on port 4000; the test starts its own server instead',
  'cp .env.example .env   # set SEGMIND_API_KEY, PUBLIC_URL, POSTGRES_PASSWORD, METRICS_TOKEN':
    'writes the production .env in the repository',
  'docker compose up -d --build --scale api=2 --scale worker=2': 'needs Docker; deployment-files.test.ts checks the compose file',
};

/** What this test knows how to run here (the start of a command); anything else needs a decision, see below. */
const RUNNABLE = [/^curl /, /^npm run keys -- /, /^npm run generate -- /, /^[A-Z_]+=\$\(curl /];

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);

interface Block {
  line: number;
  commands: string[];
}

/** The README's fenced sh/bash/shell/console blocks, each as its commands (continuation lines joined). */
function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, language] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== fence; j++) body.push(lines[j]!.slice(indent!.length));
    if (SHELL_LANGUAGES.has(language!)) {
      const console = language === 'console';
      const commands: string[] = [];
      let pending: string | undefined;
      for (const raw of body) {
        // In a console block only `$ ` lines are commands; the rest is their output.
        const text = console && pending === undefined ? (raw.startsWith('$ ') ? raw.slice(2) : null) : raw;
        if (text === null || (pending === undefined && (!text.trim() || text.trimStart().startsWith('#')))) continue;
        const joined = pending === undefined ? text : `${pending}\n${text}`;
        if (text.endsWith('\\')) pending = joined;
        else {
          commands.push(joined);
          pending = undefined;
        }
      }
      blocks.push({ line: i + 1, commands });
    }
    i = j;
  }
  return blocks;
}

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A command that hangs fails the test instead of stalling the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = shellBlocks(readme);

describe('the shell blocks of README.md are found', () => {
  it('finds every block, with continuation lines and console prompts handled', () => {
    const sample = [
      '```sh',
      'curl -s \\',
      '  http://x   # a comment',
      '# a comment line',
      'npm run keys -- list',
      '```',
      '```console',
      '$ npm run keys -- list',
      'alice  rql_…',
      '```',
      '```graphql',
      'query { a }',
      '```',
    ].join('\n');
    expect(shellBlocks(sample)).toEqual([
      { line: 1, commands: ['curl -s \\\n  http://x   # a comment', 'npm run keys -- list'] },
      { line: 7, commands: ['npm run keys -- list'] },
    ]);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });
});

describe('the simulator switches are documented', () => {
  it('names every [sim:…] switch the simulator reads in the README, the page and GraphiQL', () => {
    const source = readFileSync(path.join(root, 'src/segmind/simulator/index.ts'), 'utf8');
    const switches = [...new Set(source.match(/\[sim:[a-z]+\]/g))];
    expect(switches.length).toBeGreaterThanOrEqual(2);
    const page = readFileSync(path.join(root, 'src/web/page/index.html'), 'utf8');
    for (const name of switches) {
      expect(readme, `README.md: add ${name} to the simulator's table`).toContain(`| \`${name}\` |`);
      expect(SIMULATOR_SWITCHES, `src/server/graphiql-tabs.ts: add ${name} to SIMULATOR_SWITCHES`).toContain(name);
      expect(page, `src/web/page/index.html: name ${name} in the simulator banner`).toContain(name);
    }
  });
});

describe.skipIf(!hasPostgres)('every command in README.md works as written', () => {
  let database: TestDatabase;
  let t: TestApp;
  const before = new Set(readdirSync(root));

  beforeAll(async () => {
    database = await createTestDatabase();
    // The embedded simulator, as on a fresh clone, with short jobs so the commands that wait finish quickly.
    t = await startTestApp({ DATABASE_URL: database.url, SIMULATOR_PROCESSING_MS: '1000' });
    const made = await t.graphql('mutation { generateVideo(input: { prompt: "A first video", durationSeconds: 4 }) { __typename } }');
    expect(made.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
  });

  afterAll(async () => {
    // Videos the commands downloaded into the repository go again (only those: other test files write there too).
    for (const entry of readdirSync(root)) if (!before.has(entry) && entry.endsWith('.mp4')) await rm(path.join(root, entry), { force: true });
    await t?.stop();
    await database?.drop();
  });

  for (const block of blocks) {
    const runnable = block.commands.filter((command) => !(command in SKIPPED));
    if (runnable.length === 0) continue;
    it(`README.md line ${block.line}: ${runnable[0]!.split('\n')[0]}`, { timeout: 120_000 }, async () => {
      for (const command of runnable) {
        if (!RUNNABLE.some((pattern) => pattern.test(command))) {
          throw new Error(
            `README.md line ${block.line} has a command this test does not know how to run:\n  ${command}\n` +
              'Make it run here (extend RUNNABLE in test/readme-commands.test.ts) or, if it cannot run in a test, ' +
              'add it to SKIPPED there with the reason.',
          );
        }
      }
      const script = runnable.join('\n').replaceAll(README_URL, t.url);
      const { code, output } = await run(script, { REELQL_URL: t.url, REELQL_API_KEY: t.key, DATABASE_URL: database.url });
      const context = `README.md line ${block.line}:\n${runnable.join('\n')}\n--- output ---\n${output}`;
      expect(code, context).toBe(0);
      expect(output, context).not.toMatch(/"errors"\s*:/);
      expect(output, context).not.toContain('UNAUTHENTICATED');
    });
  }
});
