import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, isAbstractType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, generateContract } from '../scripts/contract-codegen.js';
import { EMBEDDED_TYPES, possibleTypes } from '../src/contract/cache-config.js';
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

describe('the cache contract (src/contract/cache-config.ts)', () => {
  const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
  const types = Object.values(schema.getTypeMap()).filter((type) => !type.name.startsWith('__'));
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((type) => type?.name));

  it('gives possibleTypes every union and interface of schema.graphql with exactly the object types it may be', () => {
    const expected = Object.fromEntries(
      types.filter(isAbstractType).map((type) => [type.name, schema.getPossibleTypes(type).map((member) => member.name).sort()]),
    );
    expect(Object.keys(expected)).toContain('Error');
    expect(possibleTypes).toEqual(expected);
  });

  it('makes a cache-key choice for every object type without an id, and names only types the schema has', () => {
    const embedded = new Set<string>(EMBEDDED_TYPES);
    const idLess = types.filter((type) => isObjectType(type) && !roots.has(type.name) && !('id' in type.getFields()));
    expect(idLess.map((type) => type.name)).toContain('Money');
    for (const type of idLess) expect(embedded.has(type.name), `${type.name} has no id: add it to EMBEDDED_TYPES`).toBe(true);
    for (const name of EMBEDDED_TYPES) expect(isObjectType(schema.getType(name)), `${name} is not an object type of the schema`).toBe(true);
  });
});
