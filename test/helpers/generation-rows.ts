import { randomUUID } from 'node:crypto';
import type { NewGenerationRow } from '../../src/db/schema.js';

/** A queued generation's row as the mutation would insert it (a 4 s 720p silent video), for tests below the API. */
export function newGenerationRow(apiKeyId: string, overrides: Partial<NewGenerationRow> = {}): NewGenerationRow {
  return {
    id: randomUUID(),
    apiKeyId,
    prompt: 'a lighthouse at dusk',
    aspectRatio: '16:9',
    durationSeconds: 4,
    resolution: '720p',
    generateAudio: false,
    seed: 1,
    provider: 'simulator',
    costUsd: '1.6000',
    deadlineAt: new Date(Date.now() + 60_000),
    ...overrides,
  };
}
