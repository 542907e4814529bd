import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENV_SETTINGS, type Setting } from '../src/config/defaults.js';
import { CONFIG_VARIABLES, loadConfig } from '../src/config/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** How the README writes a default: `4000`, `a,b` for a list, or `unset → what that means`. */
function readmeDefault(setting: Setting<unknown>): string {
  if (setting.unset !== undefined) return `unset → ${setting.unset}`;
  if (setting.default === undefined) return 'unset';
  const value = Array.isArray(setting.default) ? setting.default.join(',') : setting.default;
  // Only numbers, strings and lists of strings are read from the environment.
  return `\`${value as string | number}\``;
}

/** The rows of the README's configuration tables as `group VARIABLE default`, in order. */
function readmeRows(): string[] {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## ', readme.indexOf('## Configuration') + 3));
  const rows: string[] = [];
  let group = '(before any group)';
  for (const line of section.split('\n')) {
    const heading = /^\*\*`([a-z]+)`\*\*/.exec(line);
    if (heading) group = heading[1]!;
    const row = /^\| `([A-Z][A-Z0-9_]+)` \| (.+?) \|/.exec(line);
    if (row) rows.push(`${group} ${row[1]} ${row[2]}`);
  }
  return rows;
}

describe('the README configuration tables', () => {
  it('list every environment variable in its group with the default of src/config/defaults.ts, and nothing else', () => {
    const expected = ENV_SETTINGS.map(({ group, setting }) => `${group} ${setting.env} ${readmeDefault(setting)}`);
    expect(readmeRows()).toEqual(expected);
  });

  it('cover exactly the variables loadConfig reads', () => {
    const documented = readmeRows().map((row) => row.split(' ')[1]);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe('src/config/defaults.ts', () => {
  const settings = Object.entries(DEFAULTS).flatMap(([group, entries]) =>
    Object.entries(entries as Record<string, Setting<unknown>>).map(([key, setting]) => ({ name: `${group}.${key}`, setting })),
  );

  it.each(settings)('documents $name in one line', ({ setting }) => {
    expect(setting.doc.length).toBeGreaterThan(10);
    expect(setting.doc).not.toContain('\n');
  });

  it('names each environment variable once', () => {
    expect(new Set(CONFIG_VARIABLES).size).toBe(CONFIG_VARIABLES.length);
  });

  it('is what loadConfig returns for an empty environment', () => {
    const config = loadConfig({}) as unknown as Record<string, Record<string, unknown>>;
    for (const { name, setting } of settings) {
      const [group, key] = name.split('.') as [string, string];
      // DATA_DIR is resolved against the working directory.
      if (name === 'storage.dataDir') continue;
      expect(config[group]?.[key], name).toEqual(setting.default);
    }
    expect(Object.keys(config).sort()).toEqual(Object.keys(DEFAULTS).sort());
  });
});
