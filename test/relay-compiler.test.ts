import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Relay's own compiler validates what a Relay app would send against the committed schema.graphql: a paginated
 * `@connection` on generations (both directions) and a `@refetchable` fragment on Generation, which only compiles
 * when Generation implements Node and Query has node(id: ID!).
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const compiler = path.join(root, 'node_modules/.bin/relay-compiler');
const schema = path.join(root, 'schema.graphql');

const LIST = `
  fragment GenerationList_query on Query
  @refetchable(queryName: "GenerationListPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
    status: { type: "[GenerationStatus!]" }
  ) {
    generations(first: $first, after: $after, last: $last, before: $before, status: $status)
      @connection(key: "GenerationList_generations", filters: ["status"]) {
      edges { node { id ...GenerationList_generation } }
    }
  }
`;
const ITEM = `
  fragment GenerationList_generation on Generation @refetchable(queryName: "GenerationListRefetchQuery") {
    id status progress etaSeconds video { url } error { code message } events { type version }
  }
`;
const QUERY = `query GenerationListQuery { ...GenerationList_query }`;

/** A source file as a Relay app writes it: graphql tagged templates the compiler extracts. */
const sourceFile = (...documents: string[]) =>
  `import { graphql } from 'react-relay';\n${documents.map((d, i) => `export const d${i} = graphql\`${d}\`;`).join('\n')}\n`;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Runs relay-compiler over one source file in a fresh project; answers its exit code, output and artifacts. */
async function compile(source: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reelql-relay-'));
  dirs.push(dir);
  const artifacts = path.join(dir, 'src/__generated__');
  await mkdir(artifacts, { recursive: true });
  await writeFile(path.join(dir, 'src/GenerationList.ts'), source);
  const config = { src: './src', schema, language: 'typescript', artifactDirectory: './src/__generated__' };
  await writeFile(path.join(dir, 'relay.config.json'), JSON.stringify(config, null, 2));
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(compiler, [], { cwd: dir, timeout: 60_000 }, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number }) | null;
      resolve({ code: failed ? (typeof failed.code === 'number' ? failed.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
  const files = (await readdir(artifacts)).sort();
  return { code, output, files, read: (name: string) => readFile(path.join(artifacts, name), 'utf8') };
}

describe('relay-compiler against schema.graphql', () => {
  it('compiles a two-way @connection on generations and a @refetchable Generation fragment into artifacts', async () => {
    const result = await compile(sourceFile(LIST, ITEM, QUERY));
    expect(result.code, result.output).toBe(0);
    expect(result.files).toEqual([
      'GenerationListPaginationQuery.graphql.ts',
      'GenerationListQuery.graphql.ts',
      'GenerationListRefetchQuery.graphql.ts',
      'GenerationList_generation.graphql.ts',
      'GenerationList_query.graphql.ts',
    ]);
    // The refetch query goes through the Node interface, and the connection asks for the full PageInfo.
    const refetch = await result.read('GenerationListRefetchQuery.graphql.ts');
    expect(refetch).toMatch(/node\(id: \$id\)/);
    const pagination = await result.read('GenerationListPaginationQuery.graphql.ts');
    for (const field of ['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor']) expect(pagination).toContain(field);
  });

  it('fails on a field the schema does not have, so the check above can fail', async () => {
    const broken = ITEM.replace('progress', 'progressPercent');
    const result = await compile(sourceFile(LIST, broken, QUERY));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/progressPercent/);
    expect(result.files).toEqual([]);
  });

  it('fails on @refetchable for a type that is not a Node', async () => {
    const video = `fragment GenerationList_video on Video @refetchable(queryName: "GenerationListVideoRefetchQuery") { url }`;
    const result = await compile(sourceFile(video));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/@refetchable/);
    expect(result.files).toEqual([]);
  });
});
