import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSegmindClient, type SegmindClient } from '../src/segmind/api.js';
import { SegmindError, parseRateLimitReset, type SegmindErrorKind } from '../src/segmind/errors.js';
import { createSegmindSimulator } from '../src/segmind/simulator/index.js';
import type { StatusAnswer, VeoInput } from '../src/segmind/types.js';

const input: VeoInput = {
  prompt: 'A red fox runs through fresh snow at dawn',
  aspect_ratio: '16:9',
  duration: 8,
  resolution: '720p',
  generate_audio: true,
  seed: 7,
};

const sim = createSegmindSimulator({ processingMs: 150 });
let client: SegmindClient;

beforeAll(async () => {
  const url = await sim.start();
  client = createSegmindClient({ baseUrl: url, apiKey: 'sim-key', uploadUrl: `${url}/upload-asset` });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

/** Polls like the worker does and records each status change; bounded by time, as a fast machine polls more often. */
async function pollUntilFinal(c: SegmindClient, requestId: string, timeoutMs = 20_000): Promise<{ last: StatusAnswer; seen: string[] }> {
  const seen: string[] = [];
  for (const giveUpAt = Date.now() + timeoutMs; Date.now() < giveUpAt; ) {
    const last = await c.status(requestId);
    if (seen.at(-1) !== last.status) seen.push(last.status);
    if (last.status === 'COMPLETED' || last.status === 'FAILED') return { last, seen };
    await sleep(5);
  }
  throw new Error(`the job never reached a final status within ${timeoutMs} ms`);
}

async function caught(promise: Promise<unknown>): Promise<SegmindError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SegmindError);
  return error as SegmindError;
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the Segmind client against the simulator', () => {
  it('follows a job from QUEUED through PROCESSING to COMPLETED and downloads a real MP4', async () => {
    // Long enough that the first poll lands inside the 5% QUEUED window (150 ms) even on a busy machine.
    const slower = createSegmindSimulator({ processingMs: 3000 });
    const url = await slower.start();
    try {
      const c = createSegmindClient({ baseUrl: url, apiKey: 'sim-key' });
      const { segmindRequestId: requestId } = await c.submit(input);
      const { seen } = await pollUntilFinal(c, requestId);
      expect(seen).toEqual(['QUEUED', 'PROCESSING', 'COMPLETED']);

      const result = await c.result(requestId);
      expect(result.outputUrl).toBe(`${url}/files/${requestId}.mp4`);
      expect(result.contentType).toBe('video/mp4');
      expect(result.cost).toBe(1.2); // 8 s with audio at $0.15/s

      const download = await fetch(result.outputUrl);
      expect(download.headers.get('content-type')).toBe('video/mp4');
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
      // The simulator sends file_size as a string; the client hands out a number.
      expect(result.fileSize).toBe(bytes.length);
    } finally {
      await slower.stop();
    }
  });

  it('refuses a wrong API key as unauthorized', async () => {
    const bad = createSegmindClient({ baseUrl: sim.url, apiKey: 'wrong' });
    const error = await caught(bad.submit(input));
    expect(error).toMatchObject({ kind: 'unauthorized', httpStatus: 401, requestSent: true });
    expect(sim.submissions()).toBe(0);
  });

  it('refuses a submit the account cannot afford as insufficient_credits', async () => {
    const poor = createSegmindSimulator({ processingMs: 50, credits: 1 });
    const url = await poor.start();
    try {
      const c = createSegmindClient({ baseUrl: url, apiKey: 'sim-key' });
      await c.submit({ ...input, generate_audio: false }); // $0.80 of $1.00
      const error = await caught(c.submit({ ...input, generate_audio: false }));
      expect(error).toMatchObject({ kind: 'insufficient_credits', httpStatus: 402 });
      expect(poor.submissions()).toBe(1);
    } finally {
      await poor.stop();
    }
  });

  it("returns a FAILED job (HTTP 422) as a normal status answer carrying Segmind's message", async () => {
    const { segmindRequestId: requestId } = await client.submit({ ...input, prompt: 'something blocked [sim:fail]' });
    const { last } = await pollUntilFinal(client, requestId);
    expect(last.status).toBe('FAILED');
    expect(last.error).toContain('Support codes: 58061214');
  });

  it('reports not_found once the request record has expired', async () => {
    const { segmindRequestId: requestId } = await client.submit(input);
    expect(sim.expire(requestId)).toBe(true);
    expect(await caught(client.status(requestId))).toMatchObject({ kind: 'not_found', httpStatus: 404 });
    expect(await caught(client.result(requestId))).toMatchObject({ kind: 'not_found', httpStatus: 404 });
  });

  it('turns a 429 into rate_limited with retryAt read from x-rate-limit-reset-at-utc', async () => {
    sim.injectFault({ endpoint: 'submit', status: 429 });
    const before = Date.now();
    const error = await caught(client.submit(input));
    expect(error).toMatchObject({ kind: 'rate_limited', httpStatus: 429, transient: true });
    expect(error.retryAt?.getTime()).toBeGreaterThanOrEqual(before + 1000);
    expect(error.retryAt?.getTime()).toBeLessThanOrEqual(Date.now() + 3000);
    expect(error.message).toContain(error.retryAt?.toISOString());
  });

  it('turns an HTML 502 page into a server error whose message is a readable sentence', async () => {
    const { segmindRequestId: requestId } = await client.submit(input);
    sim.injectFault({ endpoint: 'status', status: 502 });
    const error = await caught(client.status(requestId));
    expect(error).toMatchObject({ kind: 'server', httpStatus: 502, transient: true });
    expect(error.message).toBe('Segmind had a server error (HTTP 502); try again later.');
    expect(error.upstreamMessage).toContain('<title>502 Bad Gateway</title>');
  });

  it('reports a refused connection as a network error that certainly never reached Segmind', async () => {
    const c = createSegmindClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: 'sim-key' });
    const error = await caught(c.submit(input));
    expect(error).toMatchObject({ kind: 'network', requestSent: false });
    expect(error.upstreamMessage).toContain('ECONNREFUSED');
  });

  it('reports an answer that never comes as a timeout that may have reached Segmind', async () => {
    const impatient = createSegmindClient({ baseUrl: sim.url, apiKey: 'sim-key', requestTimeoutMs: 100 });
    sim.injectFault({ endpoint: 'submit', hang: true, acceptThenFail: true });
    const error = await caught(impatient.submit(input));
    expect(error).toMatchObject({ kind: 'timeout', requestSent: true });
    expect(sim.submissions()).toBe(1); // the job exists and is billed although we never saw its id
  });

  it('counts a submission that Segmind accepted before the answer failed', async () => {
    sim.injectFault({ endpoint: 'submit', status: 502, acceptThenFail: true });
    const error = await caught(client.submit(input));
    expect(error.kind).toBe('server');
    expect(sim.submissions()).toBe(1);
    expect(sim.jobs()).toHaveLength(1);
  });

  it('keeps the HTTP status of a 2xx submit answer cut off mid-body, which marks the job as accepted', async () => {
    sim.injectFault({ endpoint: 'submit', acceptThenFail: true, cutOff: true });
    const error = await caught(client.submit(input));
    expect(error).toMatchObject({ kind: 'network', httpStatus: 200, requestSent: true });
    expect(sim.submissions()).toBe(1);
  });

  it('keeps the HTTP status of a 2xx answer whose body stops coming until the timeout', async () => {
    // A server that sends the head and the start of the body, then nothing more.
    const server = createServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"st'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const stalled = createSegmindClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k', requestTimeoutMs: 300 });
      const error = await caught(stalled.submit(input));
      expect(error).toMatchObject({ kind: 'timeout', httpStatus: 200, requestSent: true });
    } finally {
      server.close();
    }
  });

  it('treats a result asked for before completion as a transient error', async () => {
    const { segmindRequestId: requestId } = await client.submit(input);
    const error = await caught(client.result(requestId));
    expect(error).toMatchObject({ kind: 'server', httpStatus: 200, transient: true });
    expect(error.message).toMatch(/no video for this request yet \(status (QUEUED|PROCESSING)\)/);
  });

  it('uploads data URLs and answers URLs that serve the same bytes', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const urls = await client.upload([`data:image/png;base64,${png.toString('base64')}`]);
    expect(urls).toHaveLength(1);
    expect(urls[0]).toMatch(/\/files\/assets\/[0-9a-f-]{36}\.png$/);
    const download = await fetch(urls[0] ?? '');
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
  });
});

/** A client whose fetch answers `body` with `status` and records what it was asked. */
function clientAnswering(status: number, body: string, headers: Record<string, string> = {}) {
  const requests: { url: string; init: RequestInit | undefined }[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: url instanceof Request ? url.url : url.toString(), init });
    return new Response(body, { status, headers });
  };
  return { requests, client: createSegmindClient({ baseUrl: 'https://api.example/', apiKey: 'k', fetch }) };
}

function clientThrowing(error: Error) {
  const fetch = async () => Promise.reject(error);
  return createSegmindClient({ baseUrl: 'https://api.example', apiKey: 'k', fetch });
}

describe('the Segmind client with an injected fetch', () => {
  it('posts the flat JSON body with the x-api-key header to /v2/<model>', async () => {
    const { client: c, requests } = clientAnswering(200, '{"request_id":"0123abcd","status":"QUEUED"}');
    expect(await c.submit(input)).toEqual({ segmindRequestId: '0123abcd' });
    expect(requests[0]?.url).toBe('https://api.example/v2/veo-3.1-fast');
    expect(requests[0]?.init?.method).toBe('POST');
    expect(new Headers(requests[0]?.init?.headers).get('x-api-key')).toBe('k');
    expect(JSON.parse(requests[0]?.init?.body as string)).toEqual(input);
  });

  const table: [number, SegmindErrorKind][] = [
    [400, 'bad_request'], [401, 'unauthorized'], [402, 'insufficient_credits'], [403, 'forbidden'],
    [404, 'not_found'], [405, 'bad_request'], [406, 'insufficient_credits'], [410, 'gone'], [429, 'rate_limited'],
    [500, 'server'], [502, 'server'], [503, 'server'], [504, 'server'],
  ];
  it.each(table)('maps HTTP %i to the %s kind, whatever the body', async (status, kind) => {
    for (const body of ['{"error":"Something happened"}', '<html><body>nope</body></html>', '']) {
      const error = await caught(clientAnswering(status, body).client.status('abc'));
      expect(error).toMatchObject({ kind, httpStatus: status, requestSent: true });
      expect(error.message).not.toContain('<');
    }
  });

  it('keeps the JSON error text for the logs only', async () => {
    const { client: c } = clientAnswering(400, '{"error":"duration must be one of 4, 6, 8"}');
    const error = await caught(c.submit(input));
    expect(error.message).toBe('Segmind rejected the request parameters.');
    expect(error.upstreamMessage).toBe('duration must be one of 4, 6, 8');
  });

  it('reads the reset time as an ISO string, epoch seconds or epoch milliseconds', () => {
    const at = new Date('2030-01-02T03:04:05.000Z');
    expect(parseRateLimitReset(at.toISOString())).toEqual(at);
    expect(parseRateLimitReset('2030-01-02 03:04:05')).toEqual(at); // no zone: UTC, as the header's name says
    expect(parseRateLimitReset(String(at.getTime() / 1000))).toEqual(at);
    expect(parseRateLimitReset(String(at.getTime()))).toEqual(at);
    expect(parseRateLimitReset('soon')).toBeUndefined();
    expect(parseRateLimitReset(null)).toBeUndefined();
  });

  it.each([
    ['ECONNREFUSED', false],
    ['ENOTFOUND', false],
    ['EAI_AGAIN', false],
    ['ECONNRESET', true],
    ['UND_ERR_SOCKET', true],
  ])('reports a fetch failing with %s as a network error with requestSent %s', async (code, requestSent) => {
    const cause = Object.assign(new Error(`connect ${code}`), { code });
    const error = await caught(clientThrowing(new TypeError('fetch failed', { cause })).status('abc'));
    expect(error).toMatchObject({ kind: 'network', requestSent, transient: true });
  });

  it('reads file_size as a number or a string, falls back to video.url and defaults the content type', async () => {
    const a = clientAnswering(200, '{"status":"COMPLETED","output":"https://cdn/x.mp4","video":{"file_size":"2048"}}');
    expect(await a.client.result('id')).toEqual({
      status: 'COMPLETED', outputUrl: 'https://cdn/x.mp4', contentType: 'video/mp4', fileSize: 2048,
    });
    const b = clientAnswering(200, JSON.stringify({
      status: 'COMPLETED', video: { url: 'https://cdn/y.mp4', file_size: 99, content_type: 'video/webm' },
      metrics: { cost: 0.4 }, error: null,
    }));
    expect(await b.client.result('id')).toEqual({
      status: 'COMPLETED', outputUrl: 'https://cdn/y.mp4', contentType: 'video/webm', fileSize: 99, cost: 0.4,
    });
  });

  it('accepts upload answers naming the list urls or file_urls, or sending a bare list', async () => {
    for (const body of ['{"urls":["https://u/1.png"]}', '{"file_urls":["https://u/1.png"]}', '["https://u/1.png"]']) {
      const { client: c } = clientAnswering(200, body);
      expect(await c.upload(['data:image/png;base64,AA=='])).toEqual(['https://u/1.png']);
    }
  });

  it.each([
    ['a NUL byte', 'ab\u0000cd'],
    ['a slash', '../status'],
    ['10,000 characters', 'a'.repeat(10_000)],
    ['a number', 12345],
  ])('refuses a request_id with %s, keeping the 2xx status that says the job was accepted', async (_name, id) => {
    const error = await caught(clientAnswering(200, JSON.stringify({ request_id: id })).client.submit(input));
    expect(error).toMatchObject({ httpStatus: 200, requestSent: true });
  });

  it('reads a reset header no date can hold, or of absurd length, as no reset time', async () => {
    expect(parseRateLimitReset('9'.repeat(400))).toBeUndefined();
    expect(parseRateLimitReset('1e400')).toBeUndefined();
    expect(parseRateLimitReset(`2030-01-02T03:04:05Z${' '.repeat(100)}x`)).toBeUndefined();
    expect(parseRateLimitReset('9999-12-31T23:59:59Z')).toEqual(new Date('9999-12-31T23:59:59Z'));
    const error = await caught(
      clientAnswering(429, '{"error":"slow down"}', { 'x-rate-limit-reset-at-utc': '9'.repeat(400) }).client.submit(input),
    );
    expect(error).toMatchObject({ kind: 'rate_limited', httpStatus: 429 });
    expect(error.retryAt).toBeUndefined();
  });

  it.each([['-1'], ['1.5'], ['1e400'], ['12 MB'], [Number.MAX_SAFE_INTEGER + 2]])(
    'leaves out a file_size of %s, which is no byte count',
    async (size) => {
      const body = JSON.stringify({ status: 'COMPLETED', output: 'https://cdn/x.mp4', video: { file_size: size } });
      expect(await clientAnswering(200, body).client.result('id')).not.toHaveProperty('fileSize');
    },
  );

  it('treats a 200 without a request id as an unexpected server answer that may have been billed', async () => {
    const error = await caught(clientAnswering(200, '<html>ok</html>').client.submit(input));
    expect(error).toMatchObject({ kind: 'server', httpStatus: 200, requestSent: true });
  });
});
