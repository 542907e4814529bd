import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// vitest 5 prints a failed test's attempts with Map.groupBy (Node.js 21+). CI still runs the suite on the machine's
// Node.js 20, where a failure would otherwise crash the reporter and hide what failed.
const mapConstructor = Map as unknown as { groupBy?: <K, T>(items: Iterable<T>, keyOf: (item: T, index: number) => K) => Map<K, T[]> };
if (typeof mapConstructor.groupBy !== 'function') {
  mapConstructor.groupBy = <K, T>(items: Iterable<T>, keyOf: (item: T, index: number) => K): Map<K, T[]> => {
    const groups = new Map<K, T[]>();
    let index = 0;
    for (const item of items) {
      const key = keyOf(item, index++);
      const group = groups.get(key);
      if (group) group.push(item);
      else groups.set(key, [item]);
    }
    return groups;
  };
}

export default defineConfig({
  resolve: {
    // Pothos and yoga load graphql through Node (CommonJS build); our own files must get that same copy,
    // not the .mjs build Vite prefers, or graphql rejects types "from another module or realm".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Most tests wait on servers, timers and Postgres rather than the CPU: three files at a time fit two cores.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: less than a page takes to re-render on two cores busy with the
    // rest of the suite. Polls that pass return as soon as they pass, so a longer bound costs nothing.
    expect: { poll: { timeout: 10_000 } },
  },
});
