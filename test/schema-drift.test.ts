import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/graphql/index.js';

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
