import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSegmindSimulator, type SegmindSimulator } from '../src/segmind/simulator/index.js';
import { waitFor } from './helpers/wait.js';

const KEY = { 'x-api-key': 'sim-key', 'content-type': 'application/json' };
const body = { prompt: 'A lighthouse in a storm', duration: 4, generate_audio: false };
// Asymmetric matchers are typed `any`; naming them `unknown` keeps the linter's no-unsafe rules useful.
const anyString = expect.any(String) as unknown;
const anyNumber = expect.any(Number) as unknown;

const sim = createSegmindSimulator({ processingMs: 100 });
let base: string;

beforeAll(async () => {
  base = await sim.start();
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

function post(path: string, value: unknown, headers: Record<string, string> = KEY) {
  return fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(value) });
}

async function submit(value: unknown = body): Promise<string> {
  const response = await post('/v2/veo-3.1-fast', value);
  expect(response.status).toBe(200);
  return ((await response.json()) as { request_id: string }).request_id;
}

describe('the Segmind simulator over HTTP', () => {
  it('answers a submit with exactly the documented fields and a random UUID', async () => {
    const response = await post('/v2/veo-3.1-fast', body);
    const answer = (await response.json()) as Record<string, string>;
    expect(Object.keys(answer).sort()).toEqual(['poll_url', 'request_id', 'response_url', 'status', 'status_url']);
    expect(answer.request_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(answer.status).toBe('QUEUED');
    expect(answer.status_url).toBe(`${base}/v2/requests/${answer.request_id}/status`);
    expect(answer.response_url).toBe(`${base}/v2/requests/${answer.request_id}`);
    expect(sim.submissions()).toBe(1);
    // Defaults are applied as Segmind documents them.
    expect(sim.jobs()[0]?.input).toMatchObject({ aspect_ratio: '16:9', resolution: '1080p', seed: 42 });
  });

  it.each([
    ['an empty prompt', { ...body, prompt: '  ' }],
    ['a missing prompt', { duration: 4 }],
    ['a duration of 5', { ...body, duration: 5 }],
    ['an aspect ratio of 4:3', { ...body, aspect_ratio: '4:3' }],
    ['a resolution of 4k', { ...body, resolution: '4k' }],
    ['a string generate_audio', { ...body, generate_audio: 'yes' }],
    ['a negative seed', { ...body, seed: -1 }],
    ['an image that is not a URL', { ...body, image: 'not a url' }],
    ['a body that is not an object', ['prompt']],
  ])('rejects %s with a 400 JSON error and counts nothing', async (_name, value) => {
    const response = await post('/v2/veo-3.1-fast', value);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toEqual(expect.any(String));
    expect(sim.submissions()).toBe(0);
  });

  it('answers 401 with a JSON error when the key is missing or wrong', async () => {
    for (const headers of [{ 'content-type': 'application/json' }, { ...KEY, 'x-api-key': 'nope' }]) {
      const response = await post('/v2/veo-3.1-fast', body, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: anyString });
    }
  });

  it('answers a wrong method with an HTML 405 page and unknown paths or models with a JSON 404', async () => {
    const wrongMethod = await fetch(`${base}/v2/veo-3.1-fast`, { headers: KEY });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('content-type')).toBe('text/html');
    expect(await wrongMethod.text()).toContain('<html>');
    const unknownPath = await fetch(`${base}/nowhere`);
    expect(unknownPath.status).toBe(404);
    expect(await unknownPath.json()).toEqual({ error: 'Not found' });
    expect((await post('/v2/veo-9', body)).status).toBe(404);
  });

  it('answers a result before completion with the current status and no output, then the full result', async () => {
    const id = await submit();
    const early = await fetch(`${base}/v2/requests/${id}`, { headers: KEY });
    const queuedOrProcessing = expect.stringMatching(/QUEUED|PROCESSING/) as unknown;
    expect(await early.json()).toMatchObject({ status: queuedOrProcessing, output: null });
    await waitFor('the job to complete', () => (sim.jobs().find((j) => j.requestId === id)?.status === 'COMPLETED' ? true : undefined));
    const done = (await (await fetch(`${base}/v2/requests/${id}`, { headers: KEY })).json()) as Record<string, unknown>;
    expect(done).toMatchObject({
      status: 'COMPLETED',
      output: `${base}/files/${id}.mp4`,
      video: { url: `${base}/files/${id}.mp4`, content_type: 'video/mp4', file_size: anyString },
      metrics: { cost: 0.4, inference_time: anyNumber, total_time: anyNumber },
      error: null,
    });
  });

  it('answers a failed job with HTTP 422, status FAILED and the safety message', async () => {
    const id = await submit({ ...body, prompt: 'blocked [sim:fail]' });
    await waitFor('the job to fail', () => (sim.jobs().find((j) => j.requestId === id)?.status === 'FAILED' ? true : undefined));
    const response = await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY });
    expect(response.status).toBe(422);
    const answer = (await response.json()) as { status: string; error: string };
    expect(answer.status).toBe('FAILED');
    expect(answer.error).toContain('Support codes: 58061214');
    expect(sim.jobs()[0]?.cost).toBe(0); // blocked jobs are not charged
  });

  it('takes ten times processingMs for a [sim:slow] prompt', async () => {
    const id = await submit({ ...body, prompt: 'patience [sim:slow]' });
    await sleep(150);
    const answer: unknown = await (await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY })).json();
    expect(answer).toMatchObject({ status: 'PROCESSING' });
  });

  it('serves the video without a key, also after the record expired, with a HEAD answer too', async () => {
    const id = await submit();
    await waitFor('the job to complete', () => (sim.jobs().find((j) => j.requestId === id)?.status === 'COMPLETED' ? true : undefined));
    sim.expire(id);
    const status = await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY });
    expect(status.status).toBe(404);
    expect(await status.json()).toEqual({ error: `Request ${id} not found` });
    const video = await fetch(`${base}/files/${id}.mp4`);
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect(Number(video.headers.get('content-length'))).toBe(bytes.length);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const head = await fetch(`${base}/files/${id}.mp4`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
  });

  it('expires request records by age after expiryMs', async () => {
    const shortLived = createSegmindSimulator({ processingMs: 10, expiryMs: 50 });
    const url = await shortLived.start();
    try {
      const init = { method: 'POST', headers: KEY, body: JSON.stringify(body) };
      const response = await fetch(`${url}/v2/veo-3.1-fast`, init);
      const { request_id: id } = (await response.json()) as { request_id: string };
      // The record expires 50 ms after submission: ask until it is gone.
      await waitFor('the record to expire', async () => ((await fetch(`${url}/v2/requests/${id}`, { headers: KEY })).status === 404 ? true : undefined));
    } finally {
      await shortLived.stop();
    }
  });

  it('charges $0.10 per second without audio and $0.15 with, and refuses with 402 when short', async () => {
    const poor = createSegmindSimulator({ processingMs: 10, credits: 2 });
    const url = await poor.start();
    try {
      const send = (value: unknown) =>
        fetch(`${url}/v2/veo-3.1-fast`, { method: 'POST', headers: KEY, body: JSON.stringify(value) });
      expect((await send({ ...body, duration: 8, generate_audio: true })).status).toBe(200); // $1.20
      expect((await send({ ...body, duration: 6, generate_audio: false })).status).toBe(200); // $0.60
      const refused = await send({ ...body, duration: 4, generate_audio: false }); // $0.40 > $0.20 left
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as { error: string }).error).toContain('Insufficient credits');
      const stats = (await (await fetch(`${url}/__sim/stats`)).json()) as { credits: number; submissions: number };
      expect(stats.submissions).toBe(2);
      expect(stats.credits).toBeCloseTo(0.2);
    } finally {
      await poor.stop();
    }
  });

  it('rejects upload bodies that are not base64 data URLs', async () => {
    for (const value of [{}, { data_urls: [] }, { data_urls: ['https://x/y.png'] }]) {
      expect((await post('/upload-asset', value)).status).toBe(400);
    }
  });
});

describe('the simulator control endpoints', () => {
  it('inject faults, report stats, expire requests and reset, all over HTTP', async () => {
    const id = await submit();
    const stats = (await (await fetch(`${base}/__sim/stats`)).json()) as { submissions: number; jobs: unknown[] };
    expect(stats).toMatchObject({ submissions: 1, jobs: [{ requestId: id, input: { prompt: body.prompt } }] });

    const page = '<html><body>upstream down</body></html>';
    const fault = { endpoint: 'status', status: 503, body: page, headers: { 'X-Trace': 't1' }, times: 2 };
    expect((await post('/__sim/faults', fault, {})).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const faulty = await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY });
      expect([faulty.status, faulty.headers.get('x-trace'), await faulty.text()]).toEqual([503, 't1', page]);
    }
    expect((await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY })).status).toBe(200);

    expect((await post(`/__sim/expire/${id}`, {}, {})).status).toBe(200);
    expect((await fetch(`${base}/v2/requests/${id}`, { headers: KEY })).status).toBe(404);
    expect((await post('/__sim/expire/unknown', {}, {})).status).toBe(404);

    expect((await post('/__sim/reset', {}, {})).status).toBe(200);
    expect(await (await fetch(`${base}/__sim/stats`)).json()).toEqual({ submissions: 0, credits: null, jobs: [] });
  });

  it('reject an invalid fault with a 400', async () => {
    const invalid = [{ endpoint: 'nowhere', status: 500 }, { endpoint: 'submit' }, { endpoint: 'file', status: 99 }];
    for (const fault of invalid) {
      expect((await post('/__sim/faults', fault, {})).status).toBe(400);
    }
    expect(() => sim.injectFault({ endpoint: 'submit', status: 500, times: 0 })).toThrow(TypeError);
  });

  it('give a 429 fault the rate-limit headers Segmind sends', async () => {
    sim.injectFault({ endpoint: 'submit', status: 429 });
    const response = await post('/v2/veo-3.1-fast', body);
    expect(response.status).toBe(429);
    expect(response.headers.get('x-rate-limit-remaining')).toBe('0');
    const resetAt = Date.parse(response.headers.get('x-rate-limit-reset-at-utc') ?? '');
    expect(resetAt - Date.now()).toBeGreaterThan(1000);
    expect(sim.submissions()).toBe(0);
  });

  it('delay the real answer when a fault has delayMs and no status', async () => {
    sim.injectFault({ endpoint: 'submit', delayMs: 150 });
    const started = Date.now();
    await submit();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sim.submissions()).toBe(1);
  });

  it('close hung connections when the simulator stops', async () => {
    const own: SegmindSimulator = createSegmindSimulator({ processingMs: 10 });
    const url = await own.start();
    own.injectFault({ endpoint: 'file', hang: true });
    const hung = fetch(`${url}/files/x.mp4`).then(
      () => 'answered',
      () => 'closed',
    );
    await sleep(50);
    const started = Date.now();
    await own.stop();
    expect(await hung).toBe('closed');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('the simulator counters and timing', () => {
  it('counts status requests per job, also faulted and unauthorized ones, in jobs() and over /__sim/stats', async () => {
    const first = await submit();
    const second = await submit();
    for (let i = 0; i < 3; i += 1) await fetch(`${base}/v2/requests/${first}/status`, { headers: KEY });
    sim.injectFault({ endpoint: 'status', status: 503 });
    expect((await fetch(`${base}/v2/requests/${first}/status`, { headers: KEY })).status).toBe(503);
    expect((await fetch(`${base}/v2/requests/${first}/status`)).status).toBe(401);
    await fetch(`${base}/v2/requests/${second}/status`, { headers: KEY });
    await fetch(`${base}/v2/requests/${second}`, { headers: KEY }); // a result request is not a status request
    await fetch(`${base}/v2/requests/unknown/status`, { headers: KEY });

    const counts = Object.fromEntries(sim.jobs().map((job) => [job.requestId, job.statusRequests]));
    expect(counts).toEqual({ [first]: 5, [second]: 1 });
    expect(sim.statusRequests()).toBe(7);
    const stats = (await (await fetch(`${base}/__sim/stats`)).json()) as { jobs: { requestId: string; statusRequests: number }[] };
    expect(Object.fromEntries(stats.jobs.map((job) => [job.requestId, job.statusRequests]))).toEqual(counts);

    sim.reset();
    expect(sim.statusRequests()).toBe(0);
  });

  it('records when each job finishes, and the status turns final at that moment', async () => {
    const id = await submit();
    const job = sim.jobs()[0]!;
    expect(job.completesAt.getTime() - job.submittedAt.getTime()).toBe(100);
    const stats = (await (await fetch(`${base}/__sim/stats`)).json()) as { jobs: { completesAt: string }[] };
    expect(stats.jobs[0]?.completesAt).toBe(job.completesAt.toISOString());
    // Poll until it completes: no answer may say COMPLETED before completesAt, and none sent after it may not.
    let lastPendingSentAt = 0;
    let firstCompletedAnsweredAt = 0;
    while (!firstCompletedAnsweredAt) {
      const sentAt = Date.now();
      const answer = (await (await fetch(`${base}/v2/requests/${id}/status`, { headers: KEY })).json()) as { status: string };
      if (answer.status === 'COMPLETED') firstCompletedAnsweredAt = Date.now();
      else lastPendingSentAt = sentAt;
      await sleep(5);
    }
    expect(firstCompletedAnsweredAt).toBeGreaterThanOrEqual(job.completesAt.getTime());
    expect(lastPendingSentAt).toBeLessThanOrEqual(job.completesAt.getTime());
    expect(lastPendingSentAt).toBeGreaterThan(0);
  });

  it('varies job lengths by up to processingJitter, reproducibly for the same seed', async () => {
    const lengths = async (options: { processingJitter?: number; jitterSeed?: number }) => {
      const jittery = createSegmindSimulator({ processingMs: 1000, ...options });
      const url = await jittery.start();
      try {
        for (let i = 0; i < 40; i += 1) {
          await fetch(`${url}/v2/veo-3.1-fast`, { method: 'POST', headers: KEY, body: JSON.stringify(body) });
        }
        const durations = jittery.jobs().map((job) => job.completesAt.getTime() - job.submittedAt.getTime());
        jittery.reset();
        await fetch(`${url}/v2/veo-3.1-fast`, { method: 'POST', headers: KEY, body: JSON.stringify(body) });
        const afterReset = jittery.jobs()[0]!;
        return { durations, firstAfterReset: afterReset.completesAt.getTime() - afterReset.submittedAt.getTime() };
      } finally {
        await jittery.stop();
      }
    };
    const steady = await lengths({});
    expect(new Set(steady.durations)).toEqual(new Set([1000]));

    const a = await lengths({ processingJitter: 0.1, jitterSeed: 7 });
    expect(Math.min(...a.durations)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...a.durations)).toBeLessThanOrEqual(1100);
    expect(new Set(a.durations).size).toBeGreaterThan(20);
    // Spread over the whole range, not bunched at one end.
    expect(a.durations.some((ms) => ms < 960)).toBe(true);
    expect(a.durations.some((ms) => ms > 1040)).toBe(true);
    expect(a.firstAfterReset).toBe(a.durations[0]);

    expect((await lengths({ processingJitter: 0.1, jitterSeed: 7 })).durations).toEqual(a.durations);
    expect((await lengths({ processingJitter: 0.1, jitterSeed: 8 })).durations).not.toEqual(a.durations);
  });

  it('refuses a processingJitter outside [0, 1)', () => {
    for (const processingJitter of [-0.1, 1, Number.NaN]) {
      expect(() => createSegmindSimulator({ processingJitter })).toThrow(RangeError);
    }
  });
});

describe('the simulator with a state directory', () => {
  it('keeps its jobs across a stop and a new simulator on the same directory, completing them on the wall-clock schedule', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-sim-state-'));
    const first = createSegmindSimulator({ processingMs: 600, stateDir });
    const second = createSegmindSimulator({ processingMs: 600, stateDir });
    try {
      const firstUrl = await first.start();
      const submitted = await fetch(`${firstUrl}/v2/veo-3.1-fast`, { method: 'POST', headers: KEY, body: JSON.stringify(body) });
      const { request_id: id } = (await submitted.json()) as { request_id: string };
      const expiredId = await (async () => {
        const answer = await fetch(`${firstUrl}/v2/veo-3.1-fast`, { method: 'POST', headers: KEY, body: JSON.stringify(body) });
        return ((await answer.json()) as { request_id: string }).request_id;
      })();
      expect(first.expire(expiredId)).toBe(true);
      const completesAt = first.jobs().find((job) => job.requestId === id)!.completesAt;
      await first.stop();

      const url = await second.start();
      expect(second.submissions()).toBe(2);
      expect(second.jobs().map((job) => [job.requestId, job.expired])).toEqual([
        [id, false],
        [expiredId, true],
      ]);
      expect(second.jobs()[0]!.completesAt).toEqual(completesAt);
      const status = async () => ((await (await fetch(`${url}/v2/requests/${id}/status`, { headers: KEY })).json()) as { status: string }).status;
      expect(await status()).not.toBe('COMPLETED');
      await waitFor('the job to complete', async () => ((await status()) === 'COMPLETED' ? true : undefined), { timeoutMs: 5000 });
      expect(Date.now()).toBeGreaterThanOrEqual(completesAt.getTime());
      const result = (await (await fetch(`${url}/v2/requests/${id}`, { headers: KEY })).json()) as { output: string };
      expect(result.output).toBe(`${url}/files/${id}.mp4`);
      expect((await fetch(result.output)).status).toBe(200);
      expect((await fetch(`${url}/v2/requests/${expiredId}`, { headers: KEY })).status).toBe(404);

      second.reset();
      await second.stop();
      await second.start();
      expect(second.jobs()).toEqual([]);
    } finally {
      await first.stop();
      await second.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('skips files in the state directory that are not its jobs, and deletes jobs older than a week', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-sim-state-'));
    const sim = createSegmindSimulator({ stateDir });
    try {
      await writeFile(path.join(stateDir, '00000000-0000-4000-8000-000000000000.json'), '{"torn');
      await writeFile(path.join(stateDir, 'notes.txt'), 'hello');
      const oldId = '11111111-1111-4111-8111-111111111111';
      const old = { id: oldId, input: body, submittedAt: Date.now() - 8 * 24 * 3600_000, durationMs: 100, fails: false, cost: 0.4, expired: false };
      await writeFile(path.join(stateDir, `${oldId}.json`), JSON.stringify(old));
      await sim.start();
      expect(sim.jobs()).toEqual([]);
      expect((await readdir(stateDir)).sort()).toEqual(['00000000-0000-4000-8000-000000000000.json', 'notes.txt']);
    } finally {
      await sim.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
