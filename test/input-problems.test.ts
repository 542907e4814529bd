import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';

const GENERATE = `mutation($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on InputError { field message problems { field message } }
  }
}`;

describe.skipIf(!hasPostgres)('an input that breaks several rules', () => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp({ DATABASE_URL: database.url, SIMULATOR_PROCESSING_MS: '1000' });
  });

  afterAll(async () => {
    await t?.stop();
    await database?.drop();
  });

  it('is answered with every broken rule at once, the first also as field and message, and writes nothing', async () => {
    const input = { prompt: '  ', image: 'not a url', lastFrame: 'ftp://example.com/last.png', durationSeconds: 5, seed: -5 };
    const body = await t.graphql(GENERATE, { input });
    expect(body.errors).toBeUndefined();
    const result = body.data!.generateVideo;
    expect(result.__typename).toBe('InputError');
    expect(result.problems).toEqual([
      { field: 'prompt', message: 'prompt must not be empty: describe the video you want.' },
      { field: 'image', message: expect.stringContaining('image must be an absolute http(s) URL') },
      { field: 'lastFrame', message: 'lastFrame must use http or https; got "ftp".' },
      { field: 'durationSeconds', message: 'durationSeconds must be 4, 6 or 8; got 5.' },
      { field: 'seed', message: 'seed must be a whole number from 0 to 2147483647; got -5.' },
    ]);
    expect({ field: result.field, message: result.message }).toEqual(result.problems[0]);
    const [{ count }] = await database.sql<[{ count: number }]>`select count(*)::int as count from generations`;
    expect(count).toBe(0);
  });

  it('lists a single broken rule as the one problem', async () => {
    const body = await t.graphql(GENERATE, { input: { prompt: 'a cat', seed: -1 } });
    expect(body.data!.generateVideo.problems).toEqual([{ field: 'seed', message: 'seed must be a whole number from 0 to 2147483647; got -1.' }]);
  });
});
