import { describe, expect, it } from 'vitest';
import { inputHash } from '../../src/generations/generate-video.js';
import type { GenerationRequest } from '../../src/generations/request.js';

const request: GenerationRequest = { prompt: 'A tram in the rain', aspectRatio: '16:9', durationSeconds: 8, resolution: '1080p', generateAudio: true };

describe('the idempotency input hash', () => {
  it('is the same for a request without webhook fields as for one that sends them empty, as before webhooks existed', () => {
    const plain = inputHash(request, {});
    expect(inputHash({ ...request, webhookUrl: null, webhookEvents: null }, {})).toBe(plain);
    expect(inputHash({ ...request, webhookUrl: undefined }, {})).toBe(plain);
  });

  it('tells requests apart by their webhook URL and statuses', () => {
    const withHook = inputHash({ ...request, webhookUrl: 'https://example.com/a' }, {});
    expect(withHook).not.toBe(inputHash(request, {}));
    expect(inputHash({ ...request, webhookUrl: 'https://example.com/b' }, {})).not.toBe(withHook);
    expect(inputHash({ ...request, webhookUrl: 'https://example.com/a', webhookEvents: ['FAILED'] }, {})).not.toBe(withHook);
  });
});
