import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE_STORY, GET_STORY, shots } from './helpers/stories.js';
import { waitFor } from './helpers/wait.js';

describe('a story on the embedded defaults (PGlite and the built-in simulator)', () => {
  let server: TestApp;

  beforeAll(async () => {
    server = await startTestApp({ SIMULATOR_PROCESSING_MS: '300' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs its shots one after the other and stitches them, as on Postgres', async () => {
    const asked = (await server.graphql(GENERATE_STORY, { input: { shots: shots(2), resolution: 'RES_720P' } })).data!.generateStory;
    expect(asked.__typename).toBe('GenerateStorySuccess');
    const story = await waitFor(
      'the story to end',
      async () => {
        const s = (await server.graphql(GET_STORY, { id: asked.story.id })).data?.story;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(s?.status) && s;
      },
      { timeoutMs: 45_000, intervalMs: 200 },
    );
    expect(story.status, JSON.stringify(story.error)).toBe('SUCCEEDED');
    expect(story.shots.map((s: { status: string }) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(story.shots[1].image).toMatch(/^http/);
    expect(story.video.durationSeconds).toBeCloseTo(
      story.shots.reduce((sum: number, s: { video: { durationSeconds: number } }) => sum + s.video.durationSeconds, 0),
      1,
    );
    expect((await fetch(story.video.url)).status).toBe(200);
  }, 60_000);
});
