import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type GraphqlBody, type TestApp } from './helpers/app.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';

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
