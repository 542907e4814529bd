import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awaitingFrames } from '../src/generations/frames.js';
import { insertGenerationTx } from '../src/events/timeline.js';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { imageBytes, multipartForm, postMultipart, type UploadPart } from './helpers/multipart.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { id status prompt negativePrompt image lastFrame idempotencyKey } }
    ... on Error { message }
    ... on InputError { field }
  }
}`;
const ESTIMATE = `query Estimate($input: GenerateVideoInput!) { estimateCost(input: $input) { amount } }`;

interface GenerateResult {
  __typename: string;
  message?: string;
  field?: string;
  generation?: { id: string; status: string; prompt: string; negativePrompt: string | null; image: string | null; lastFrame: string | null; idempotencyKey: string | null };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function post(baseUrl: string, query: string, variables: Record<string, unknown>, key: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphqlBody<Record<string, any>>;
}

async function generate(baseUrl: string, key: string, input: Record<string, unknown>): Promise<GenerateResult> {
  const body = await post(baseUrl, GENERATE, { input }, key);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!.generateVideo as GenerateResult;
}

async function estimate(baseUrl: string, key: string, input: Record<string, unknown>) {
  return post(baseUrl, ESTIMATE, { input }, key);
}

async function rowCount(database: TestDatabase): Promise<number> {
  const [{ n }] = await database.sql<[{ n: number }]>`select count(*)::int as n from generations`;
  return n;
}

describe.skipIf(!hasPostgres)('text that Postgres cannot store as sent', () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const base = { prompt: 'a kite over the dunes', durationSeconds: 4 };
  const cases: [string, Record<string, unknown>, string, RegExp][] = [];
  for (const [what, bad, message] of [
    ['a NUL character', 'a\u0000b', /NUL character/],
    ['a lone high surrogate', 'a\uD83Db', /unpaired UTF-16 surrogate/],
    ['a lone low surrogate', 'a\uDE00b', /unpaired UTF-16 surrogate/],
  ] as const) {
    cases.push(
      [`prompt with ${what}`, { prompt: `kite ${bad}` }, 'prompt', message],
      [`negativePrompt with ${what}`, { negativePrompt: bad }, 'negativePrompt', message],
      [`idempotencyKey with ${what}`, { idempotencyKey: bad }, 'idempotencyKey', message],
      [`image with ${what}`, { image: `https://example.com/${bad}.png` }, 'image', message],
      [`lastFrame with ${what}`, { image: 'https://example.com/a.png', lastFrame: `https://example.com/${bad}.png` }, 'lastFrame', message],
    );
  }

  it('refuses a NUL or an unpaired surrogate in any text field with an InputError naming it, writing nothing', async () => {
    const before = await rowCount(database);
    for (const [what, fields, field, message] of cases) {
      const result = await generate(server.url, server.key, { ...base, ...fields });
      expect(result.__typename, `${what}: ${JSON.stringify(result)}`).toBe('InputError');
      expect(result.field, what).toBe(field);
      expect(result.message, what).toMatch(message);
      expect(result.message, what).toContain(field);
    }
    expect(await rowCount(database)).toBe(before);
  });

  it('gives estimateCost the same refusal, as BAD_USER_INPUT naming the field', async () => {
    for (const [what, fields, field, message] of cases) {
      const body = await estimate(server.url, server.key, { ...base, ...fields });
      expect(body.errors?.[0]?.extensions, what).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(body.errors?.[0]?.message, what).toMatch(message);
    }
  });

  it('stores text with real surrogate pairs and other Unicode exactly as sent', async () => {
    const fields = { prompt: 'a cat 🐈 naps in Zürich, 東京', negativePrompt: 'no 🚫 dogs', idempotencyKey: `ключ-🔑-${Date.now()}` };
    const result = await generate(server.url, server.key, { ...base, ...fields });
    expect(result.__typename, JSON.stringify(result)).toBe('GenerateVideoSuccess');
    expect(result.generation).toMatchObject(fields);
  });
});

/** Frame URLs whose host Segmind can never reach: loopback, private and other special ranges, local names. */
const UNREACHABLE_FRAMES: [string, string][] = [
  ['localhost', 'http://localhost/frame.png'],
  ['localhost in capitals with a trailing dot', 'http://LOCALHOST./frame.png'],
  ['a *.localhost name', 'https://app.localhost/frame.png'],
  ['loopback on the Postgres port', 'http://127.0.0.1:5432/frame.png'],
  ['another loopback address', 'http://127.8.9.10/frame.png'],
  ['IPv6 loopback', 'http://[::1]/frame.png'],
  ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
  ['a 10/8 address', 'https://10.1.2.3/frame.png'],
  ['a 172.16/12 address', 'https://172.20.0.5/frame.png'],
  ['a 192.168/16 address', 'https://192.168.1.1/frame.png'],
  ['a carrier-grade NAT address', 'https://100.64.0.1/frame.png'],
  ['the unspecified address', 'http://0.0.0.0/frame.png'],
  ['a multicast address', 'http://224.0.0.251/frame.png'],
  ['the broadcast address', 'http://255.255.255.255/frame.png'],
  ['an IPv6 unique local address', 'https://[fd12:3456::1]/frame.png'],
  ['an IPv6 link-local address', 'https://[fe80::1]/frame.png'],
  ['the IPv6 unspecified address', 'http://[::]/frame.png'],
  ['an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/frame.png'],
  ['an IPv4-mapped private address', 'http://[::ffff:10.0.0.1]/frame.png'],
  ['a *.local name', 'https://printer.local/frame.png'],
  ['a *.internal name', 'http://metadata.google.internal/computeMetadata/v1/'],
  ['a single-label host', 'https://intranet/frame.png'],
  ['loopback as one decimal number', 'http://2130706433/frame.png'],
  ['loopback in hex and short form', 'http://0x7f.1/frame.png'],
  ['loopback in octal', 'http://017700000001/frame.png'],
];
const REACHABLE_FRAMES = [
  'https://example.com/frame.png',
  'https://cdn.example.com./frame.png',
  'https://example.com:8443/frame.png',
  'http://93.184.215.14/frame.png',
  'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/frame.png',
];

describe.skipIf(!hasPostgres)('frame URLs Segmind could never fetch', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let segmind: TestApp;
  let simulated: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    // A Segmind key is configured (here the simulator behind it): the provider is SEGMIND.
    segmind = await startTestApp({ DATABASE_URL: database.url, ...sim.env, ROLE: 'api' });
    // No Segmind key: the built-in simulator is the provider.
    simulated = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
  });
  afterAll(async () => {
    await segmind?.stop();
    await simulated?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('refuses them with the real Segmind as an InputError on image or lastFrame, queuing nothing', async () => {
    const before = await rowCount(database);
    for (const [what, url] of UNREACHABLE_FRAMES) {
      const asImage = await generate(segmind.url, segmind.key, { prompt: 'x', image: url });
      expect(asImage.__typename, `${what}: ${JSON.stringify(asImage)}`).toBe('InputError');
      expect(asImage.field, what).toBe('image');
      expect(asImage.message, what).toMatch(/Segmind cannot fetch/);
      const asLast = await generate(segmind.url, segmind.key, { prompt: 'x', image: REACHABLE_FRAMES[0], lastFrame: url });
      expect(asLast.field, what).toBe('lastFrame');
    }
    expect(await rowCount(database)).toBe(before);
    expect(sim.simulator.submissions()).toBe(0);
  });

  it('gives estimateCost the same refusal', async () => {
    for (const [what, url] of UNREACHABLE_FRAMES) {
      const body = await estimate(segmind.url, segmind.key, { prompt: 'x', image: url });
      expect(body.errors?.[0]?.extensions, what).toMatchObject({ code: 'BAD_USER_INPUT', field: 'image' });
    }
  });

  it('accepts public hosts and addresses, on any port', async () => {
    for (const url of REACHABLE_FRAMES) {
      const result = await generate(segmind.url, segmind.key, { prompt: `public ${url}`, durationSeconds: 4, image: url });
      expect(result.__typename, `${url}: ${JSON.stringify(result)}`).toBe('GenerateVideoSuccess');
      expect(result.generation!.image).toBe(url);
    }
  });

  it('allows loopback frames with the built-in simulator, but still refuses private and link-local ones', async () => {
    for (const url of ['http://127.0.0.1:4000/frame.png', 'http://localhost:4000/frame.png', 'http://[::1]/frame.png']) {
      const result = await generate(simulated.url, simulated.key, { prompt: 'local frame', durationSeconds: 4, image: url });
      expect(result.__typename, `${url}: ${JSON.stringify(result)}`).toBe('GenerateVideoSuccess');
    }
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'https://10.1.2.3/frame.png', 'https://printer.local/x.png']) {
      const result = await generate(simulated.url, simulated.key, { prompt: 'x', image: url });
      expect(result, url).toMatchObject({ __typename: 'InputError', field: 'image' });
    }
  });
});

describe.skipIf(!hasPostgres)('multipart uploads', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let proxy: RecordingProxy;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    // Uploads go through a recording proxy, so the test sees every one that reached "Segmind".
    proxy = await startRecordingProxy(sim.simulator.url);
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, SEGMIND_UPLOAD_URL: `${proxy.url}/upload-asset`, ROLE: 'api' });
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  beforeEach(() => sim.simulator.reset());

  const uploads = () => proxy.count('POST', /^\/upload-asset/);
  const frame = (kind: 'png' | 'jpeg', field = 'imageFile', size?: number): UploadPart => ({
    path: `input.${field}`,
    bytes: imageBytes(kind, size),
    filename: `frame.${kind}`,
    type: `image/${kind}`,
  });
  const send = (key: string, input: Record<string, unknown>, files: UploadPart[]) =>
    postMultipart<{ generateVideo: GenerateResult }>(server.url, GENERATE, { input }, files, bearer(key));

  it('accepts two 15 MB frames in one request, within the documented 41 MB', async () => {
    const before = uploads();
    const { status, body } = await send(server.key, { prompt: 'two big frames', durationSeconds: 4 }, [
      frame('png', 'imageFile', 15 * 1024 * 1024),
      frame('jpeg', 'lastFrameFile', 15 * 1024 * 1024),
    ]);
    expect(status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body.data?.generateVideo.__typename, JSON.stringify(body).slice(0, 500)).toBe('GenerateVideoSuccess');
    expect(uploads()).toBe(before + 1);
  });

  /** Sends the head and the first 64 KiB of a 24 MB multipart body, then waits for an answer without sending more. */
  async function partialMultipart(headers: Record<string, string>): Promise<{ status: number; text: string; ms: number }> {
    const { hostname, port } = new URL(server.url);
    const boundary = 'x-boundary';
    const length = 24 * 1024 * 1024;
    const head =
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
      `Content-Length: ${length}\r\nx-graphql-yoga-csrf: 1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
    const operations = JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'anonymous', imageFile: null } } });
    const start = `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n--${boundary}\r\n` +
      `Content-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.imageFile"]}\r\n--${boundary}\r\n` +
      `Content-Disposition: form-data; name="0"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.write(head + start);
        socket.write(Buffer.alloc(64 * 1024, 7));
      });
      let text = '';
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, ms: Date.now() - started });
      };
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (/\r\n\r\n[\s\S]*\}/.test(text)) done();
      });
      socket.on('error', (error) => (text ? done() : reject(error)));
      socket.on('close', done);
      const timer = setTimeout(done, 3000);
    });
  }

  it('answers a multipart request without a valid key with 401 before reading its body', async () => {
    for (const [what, headers] of [
      ['no key', {}],
      ['an unknown key', bearer('rql_not-a-real-key')],
    ] as const) {
      const answer = await partialMultipart(headers);
      expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(401);
      expect(answer.ms, what).toBeLessThan(2000);
      const body = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as GraphqlBody<unknown>;
      expect(body.errors?.[0]?.extensions?.code, what).toBe('UNAUTHENTICATED');
      expect(body.errors?.[0]?.message, what).toMatch(/Authorization: Bearer/);
    }
    // A complete request without a key gets the same answer and uploads nothing.
    const before = uploads();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'x-graphql-yoga-csrf': '1' },
      body: multipartForm(GENERATE, { input: { prompt: 'anonymous' } }, [frame('png')]),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as GraphqlBody<unknown>).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(uploads()).toBe(before);
  });

  it('keeps the connection of a refused upload that arrived in full, so a client that reuses it is not reset', async () => {
    const { hostname, port } = new URL(server.url);
    const form = new Response(multipartForm(GENERATE, { input: { prompt: 'anonymous' } }, [frame('png')]));
    const type = form.headers.get('content-type')!;
    const body = Buffer.from(await form.arrayBuffer());
    const socket = net.connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.write(
      `POST /graphql HTTP/1.1\r\nhost: ${hostname}\r\nx-graphql-yoga-csrf: 1\r\ncontent-type: ${type}\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    );
    socket.write(body);
    await waitFor('the 401', () => (received.includes('UNAUTHENTICATED') ? true : undefined));
    expect(received).toMatch(/^HTTP\/1\.1 401/);
    // Past the moment a refused upload still arriving would be cut off, the connection serves the next request.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(closed).toBe(false);
    received = '';
    socket.write(`GET /healthz HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
    await waitFor('the health answer', () => (received.includes('\r\n\r\n') ? true : undefined));
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    socket.destroy();
  });

  it('uploads once for 30 concurrent identical requests with one idempotency key, and all get that generation', async () => {
    const { key } = await createKeyIn(database.url);
    // A slow upload keeps the first request busy while the others arrive.
    sim.simulator.injectFault({ endpoint: 'upload', delayMs: 300, times: 30 });
    const before = uploads();
    const input = { prompt: 'thirty at once', durationSeconds: 4, idempotencyKey: 'same-thirty' };
    const answers = await Promise.all(Array.from({ length: 30 }, () => send(key, input, [frame('png')])));
    const results = answers.map((a) => a.body.data?.generateVideo);
    expect(results.map((r) => r?.__typename)).toEqual(Array(30).fill('GenerateVideoSuccess'));
    expect(new Set(results.map((r) => r?.generation?.id)).size).toBe(1);
    expect(results.every((r) => r?.generation?.image?.includes('/files/assets/'))).toBe(true);
    expect(uploads() - before).toBe(1);
  });

  it('uploads once for 30 concurrent requests on a key whose budget admits one', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { dailyBudgetUsd: 0.4 });
    sim.simulator.injectFault({ endpoint: 'upload', delayMs: 300, times: 30 });
    const before = uploads();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(key, { prompt: `budget ${i}`, durationSeconds: 4, generateAudio: false }, [frame('png')])),
    );
    const kinds = answers.map((a) => a.body.data?.generateVideo.__typename);
    expect(kinds.filter((k) => k === 'GenerateVideoSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'BudgetExceededError')).toHaveLength(29);
    expect(uploads() - before).toBe(1);
    const [{ n }] = await database.sql<[{ n: number }]>`select count(*)::int as n from generations where api_key_id = ${apiKey.id}`;
    expect(n).toBe(1);
  });

  it('answers UploadFailedError when the upload fails, leaving no generation and no spent budget behind', async () => {
    const { key, apiKey } = await createKeyIn(database.url, { dailyBudgetUsd: 0.4 });
    sim.simulator.injectFault({ endpoint: 'upload', status: 500 });
    const input = { prompt: 'upload breaks', durationSeconds: 4, generateAudio: false, idempotencyKey: 'retry-me' };
    const failed = await send(key, input, [frame('png')]);
    expect(failed.body.data?.generateVideo.__typename, JSON.stringify(failed.body)).toBe('UploadFailedError');
    const rows = await database.sql`select id from generations where api_key_id = ${apiKey.id}`;
    expect(rows).toHaveLength(0);
    // The same request again is a fresh try: the budget and the idempotency key are free.
    const retried = await send(key, input, [frame('png')]);
    expect(retried.body.data?.generateVideo.__typename, JSON.stringify(retried.body)).toBe('GenerateVideoSuccess');
    expect(retried.body.data?.generateVideo.generation?.image).toContain('/files/assets/');
  });

  it('lets a repeat that waited on a failed upload try the upload itself, so it gets a generation', async () => {
    const { key } = await createKeyIn(database.url);
    // The first upload fails after a while; the repeat arrives meanwhile and waits for it.
    sim.simulator.injectFault({ endpoint: 'upload', status: 500, delayMs: 300 });
    const input = { prompt: 'first try fails', durationSeconds: 4, idempotencyKey: 'second-wins' };
    const before = uploads();
    const first = send(key, input, [frame('png')]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await send(key, input, [frame('png')]);
    expect((await first).body.data?.generateVideo.__typename).toBe('UploadFailedError');
    expect(second.body.data?.generateVideo.__typename, JSON.stringify(second.body)).toBe('GenerateVideoSuccess');
    expect(second.body.data?.generateVideo.generation?.image).toContain('/files/assets/');
    expect(uploads() - before).toBe(2);
  });
});

describe.skipIf(!hasPostgres)('a generation whose frames are still uploading', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  /** A row as generateVideo admits it before uploading its frame, `agoMs` ago. */
  async function insertAwaitingFrames(apiKeyId: string, agoMs: number, windowMs: number) {
    const id = randomUUID();
    const at = new Date(Date.now() - agoMs);
    const values = {
      id,
      prompt: `awaiting frames ${agoMs}`,
      aspectRatio: '16:9',
      durationSeconds: 4,
      resolution: '720p',
      generateAudio: false,
      seed: 1,
      apiKeyId,
      provider: 'SEGMIND',
      costUsd: '0.40',
      createdAt: at,
      updatedAt: at,
      ...awaitingFrames(id, at, windowMs),
    };
    await dbOf(database).transaction((tx) => insertGenerationTx(tx, values));
    return id;
  }
  const row = async (id: string) =>
    (await database.sql<{ status: string; error_code: string | null; cost_usd: string; cost_final: boolean; segmind_request_id: string | null }[]>`
      select status, error_code, cost_usd::text, cost_final, segmind_request_id from generations where id = ${id}`)[0]!;

  it('is never submitted without its frames: a worker leaves it alone, and fails it uncharged once its upload window is over', async () => {
    const { apiKey } = await createKeyIn(database.url);
    // Its upload is under way (in another request, maybe another process).
    const uploading = await insertAwaitingFrames(apiKey.id, 0, 60_000);
    // Its process died mid-upload a minute ago.
    const abandoned = await insertAwaitingFrames(apiKey.id, 60_000, 1000);
    // The worker is live: an ordinary generation is submitted meanwhile.
    const ordinary = await generate(server.url, server.key, { prompt: 'ordinary', durationSeconds: 4 });
    await waitFor('the ordinary generation to be submitted', async () => ((await row(ordinary.generation!.id)).segmind_request_id ? true : undefined));
    await waitFor('the abandoned one to fail', async () => ((await row(abandoned)).status === 'FAILED' ? true : undefined));
    expect(await row(abandoned)).toMatchObject({ status: 'FAILED', error_code: 'TIMEOUT', cost_usd: '0.0000', cost_final: true, segmind_request_id: null });
    expect(await row(uploading)).toMatchObject({ status: 'QUEUED', segmind_request_id: null });
    expect(sim.simulator.submissions()).toBe(1);
  });
});

