import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** The folders the README's "Where things live" block names, one per line, each with what its line says. */
function listedLines(): Map<string, string> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Where things live'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const lines = new Map<string, string>();
  for (const line of block.split('\n')) {
    const folder = /^(\S+\/)\s/.exec(line)?.[1];
    if (folder) lines.set(folder, line);
  }
  return lines;
}

/** Every folder holding a tracked file, as `a/b/`. */
function trackedFolders(): string[] {
  const files = execFileSync('git', ['ls-files', 'src', 'test', 'bench', 'drizzle', 'patches', 'scripts'], { cwd: root, encoding: 'utf8' });
  return [...new Set(files.trim().split('\n').map((file) => `${path.posix.dirname(file)}/`))];
}

describe("the README's layout section", () => {
  it('names only folders that exist', () => {
    const listed = [...listedLines().keys()];
    expect(listed.length).toBeGreaterThan(10);
    for (const folder of listed) expect(existsSync(path.join(root, folder)), `README names ${folder}`).toBe(true);
  });

  it("names every folder of the tree on its own line, or within its parent's line", () => {
    const lines = listedLines();
    for (const folder of trackedFolders()) {
      const parent = `${path.posix.dirname(folder.slice(0, -1))}/`;
      const named = lines.has(folder) || (lines.get(parent)?.includes(`${path.posix.basename(folder)}/`) ?? false);
      expect(named, `README.md "Where things live" lacks ${folder}`).toBe(true);
    }
  });
});
