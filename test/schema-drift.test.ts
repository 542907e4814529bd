import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, generateContract } from '../scripts/contract-codegen.js';
import { printedSchema } from '../src/graphql/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Every file below `dir` by its relative path, with its text. */
const filesIn = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(dir, file), readFileSync(file, 'utf8')];
      }),
  );

describe('schema.graphql', () => {
  it('matches the schema printed from the code (run `npm run schema:print` after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(printedSchema()).toBe(committed);
  });

  it('keeps the contract names of the design', () => {
    const sdl = printedSchema();
    for (const name of [
      'generation(id: ID!): Generation',
      'generations(',
      'estimateCost(input: GenerateVideoInput!): Money!',
      'generateVideo(input: GenerateVideoInput!): GenerateVideoResult!',
      'cancelGeneration(id: ID!): CancelGenerationResult!',
      'generationStatus(id: ID!): Generation!',
      'interface Error',
      'type InputError implements Error',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});

describe('the client contract (src/contract/generated)', () => {
  it('matches what schema:print generates from src/contract/operations and schema.graphql (run `npm run schema:print`)', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'reelql-contract-'));
    try {
      await generateContract(root, { outputDir: `${out}/` });
      expect(filesIn(path.join(root, GENERATED_DIR))).toEqual(filesIn(out));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses to generate from a document that does not validate against the schema', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'reelql-contract-'));
    try {
      const document = path.join(out, 'wrong.graphql');
      await writeFile(document, 'query Wrong($id: ID!) { generation(id: $id) { id noSuchField } }\n');
      await expect(generateContract(root, { outputDir: `${out}/generated/`, documentsFor: () => document })).rejects.toThrow(/noSuchField/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
