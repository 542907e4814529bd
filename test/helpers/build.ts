import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** What `npm run build` reads: a change to any of these makes the build out of date. */
const BUILD_INPUTS = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
/** Written into dist/ after a build the tests made: the hash of the inputs it was made from. */
const STAMP = path.join(root, 'dist', '.built-from');

async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of BUILD_INPUTS) {
    const full = path.join(root, input);
    const entries = await readdir(full, { recursive: true, withFileTypes: true }).catch(() => null);
    const files = entries
      ? entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name)).sort()
      : [full];
    for (const file of files) hash.update(path.relative(root, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Makes sure dist/ is `npm run build` of the sources as they are now, building only when they changed.
 *
 * Tests that start the server or a CLI as its own process run the built JavaScript, as the image does: under tsx
 * every process spends about 3 CPU-seconds more on start-up (its loader thread resolving and transforming each
 * module, and esbuild bundling the page), which adds minutes to a suite that starts dozens of them on two cores.
 * The tests of `npm start` itself (newcomer, process signals, README commands) still run tsx.
 */
export async function ensureBuild(): Promise<void> {
  const wanted = await inputsHash();
  const built = await readFile(STAMP, 'utf8').catch(() => '');
  if (built === wanted) return;
  try {
    await execFileAsync('npm', ['run', '--silent', 'build'], { cwd: root, timeout: 300_000 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed, so the tests that run the built server cannot run:\n${stdout}${stderr}`, { cause: error });
  }
  await writeFile(STAMP, wanted);
}
