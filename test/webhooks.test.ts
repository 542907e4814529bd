import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, GET, ROTATE_WEBHOOK_SECRET, VIEWER, WEBHOOK_DELIVERIES } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type ReceivedWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';

/** Retries come quickly in these tests: four waits of 150 ms, so the fifth failed attempt is final. */
const RETRY_DELAYS_MS = [150, 150, 150, 150];
const TIMEOUT_MS = 800;

describe.skipIf(!hasPostgres)('webhooks', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let receiver: WebhookReceiver;
  /** A receiver that is down until a test brings it up; its port is allowlisted from the start. */
  let lateReceiver: WebhookReceiver;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    receiver = await startWebhookReceiver();
    lateReceiver = await startWebhookReceiver();
    await lateReceiver.close();
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port},127.0.0.1:${lateReceiver.port}`,
      WEBHOOK_RETRY_DELAYS_MS: RETRY_DELAYS_MS.join(','),
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_LEASE_MS: '3000',
      WEBHOOK_SECRET_GRACE_SECONDS: '3600',
    });
  });
  beforeEach(() => {
    receiver.answer = () => 204;
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await lateReceiver?.close().catch(() => undefined);
    await sim?.simulator.stop();
    await database?.drop();
  });

  async function generate(input: Record<string, unknown>): Promise<string> {
    const body = await server.graphql(GENERATE, { input: { prompt: 'A kite over the dunes', durationSeconds: 4, ...input } });
    expect(body.data?.generateVideo.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
    return body.data!.generateVideo.generation.id as string;
  }
  const secret = async () => (await server.graphql(VIEWER)).data!.viewer.webhookSecret as string;
  const deliveries = async (id: string) => (await server.graphql(WEBHOOK_DELIVERIES, { id })).data!.generation.webhookDeliveries as any[];
  const deliveredCount = (id: string) => async () => {
    const list = await deliveries(id);
    return list.length > 0 && list.every((d) => d.state !== 'PENDING') ? list : undefined;
  };

  it('a finished generation is POSTed once, signed so that standardwebhooks verifies it, with the generation as the API shows it', async () => {
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/ok` });
    const [delivery] = await waitFor('the delivery', () => (receiver.forGeneration(id).length === 1 ? receiver.forGeneration(id) : undefined));
    const verified = verifyWebhook(await secret(), delivery!) as ReceivedWebhook['payload'];
    expect(verified.type).toBe('generation.succeeded');
    expect(delivery!.path).toBe('/hooks/ok');
    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(delivery!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(new Date(verified.timestamp).getTime()).not.toBeNaN();

    const api = (await server.graphql(GET, { id })).data!.generation;
    const { events: _events, video, ...fields } = api;
    const { url: sentUrl, posterUrl: sentPoster, lastFrameUrl: sentLastFrame, ...sentVideo } = verified.data.video;
    expect(verified.data).toMatchObject(fields);
    // The probed facts as the API shows them, and still links signed like the video's.
    expect(sentVideo).toMatchObject({ contentType: video.contentType, sizeBytes: video.sizeBytes, stillsError: null });
    expect(sentVideo).toMatchObject({ durationSeconds: 4, width: 1920, height: 1080, hasAudio: true });
    expect((await fetch(sentPoster)).headers.get('content-type')).toBe('image/jpeg');
    expect((await fetch(sentLastFrame)).status).toBe(200);
    const download = await fetch(sentUrl);
    expect(download.status).toBe(200);
    expect(Number(download.headers.get('content-length'))).toBe(video.sizeBytes);
    await download.body?.cancel();

    const [record] = await waitFor('the delivery recorded', deliveredCount(id));
    expect(record).toMatchObject({ id: delivery!.headers['webhook-id'], eventType: 'generation.succeeded', state: 'DELIVERED', attempt: 1, statusCode: 204, error: null, nextAttemptAt: null });
    expect(record.deliveredAt).not.toBeNull();
    expect(record.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 204, error: null })]);
    // Nothing else is sent for it, however long one waits for a repeat.
    await waitFor('no second delivery', () => receiver.forGeneration(id).length === 1);
  });

  it('a receiver that answers 500 three times gets the delivery on the fourth attempt, with the same webhook-id', async () => {
    receiver.answer = (request) => (receiver.forGeneration(request.payload.data.id).length <= 3 ? 500 : 200);
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/flaky` });
    const [record] = await waitFor('the delivery to succeed', deliveredCount(id));
    const received = receiver.forGeneration(id);
    expect(received).toHaveLength(4);
    expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set([record.id]));
    for (const r of received) verifyWebhook(await secret(), r);
    expect(record).toMatchObject({ state: 'DELIVERED', attempt: 4, statusCode: 200 });
    expect(record.attempts.map((a: any) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 500], [3, 500], [4, 200]]);
    expect(record.attempts[0].error).toContain('HTTP 500');
  });

  it('a receiver that never answers is timed out and the delivery is tried again', async () => {
    receiver.answer = (request) => (receiver.forGeneration(request.payload.data.id).length === 1 ? 'hang' : 200);
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/slow` });
    const [record] = await waitFor('the retried delivery', deliveredCount(id));
    expect(record.attempts).toHaveLength(2);
    expect(record.attempts[0]).toMatchObject({ attempt: 1, statusCode: null });
    expect(record.attempts[0].error).toContain(`within ${TIMEOUT_MS} ms`);
    expect(record.attempts[1]).toMatchObject({ attempt: 2, statusCode: 200 });
  });

  it('an answer whose body never ends counts once its status is in and at most 64 KB of it was read', async () => {
    receiver.answer = () => 'endless';
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/endless` });
    const [record] = await waitFor('the delivery', deliveredCount(id));
    expect(record).toMatchObject({ state: 'DELIVERED', attempt: 1, statusCode: 200 });
    // Had the body been read to its end, the attempt would have run into the timeout instead.
    expect(record.attempts[0].durationMs).toBeLessThan(TIMEOUT_MS);
  });

  it('a redirect is not followed: it is an answer like any non-2xx, and retried', async () => {
    receiver.answer = (request) =>
      request.path === '/hooks/moved' && receiver.forGeneration(request.payload.data.id).length === 1 ? { redirect: `${receiver.url}/hooks/elsewhere` } : 200;
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/moved` });
    const [record] = await waitFor('the delivery', deliveredCount(id));
    expect(record.attempts.map((a: any) => a.statusCode)).toEqual([302, 200]);
    expect(receiver.forGeneration(id).map((r) => r.path)).toEqual(['/hooks/moved', '/hooks/moved']);
  });

  it('a receiver that is down when the generation finishes gets the delivery once it is back', async () => {
    const id = await generate({ webhookUrl: `${lateReceiver.url}/hooks/late` });
    const refused = await waitFor('a refused attempt', async () => {
      const [d] = await deliveries(id);
      return d && d.attempts.length >= 1 ? d : undefined;
    });
    expect(refused.state).toBe('PENDING');
    expect(refused.attempts[0].error).toContain('connection failed');
    expect(refused.nextAttemptAt).not.toBeNull();
    await lateReceiver.reopen();
    const [record] = await waitFor('the delivery after the receiver came back', deliveredCount(id));
    expect(record.state).toBe('DELIVERED');
    expect(lateReceiver.forGeneration(id)).toHaveLength(1);
    verifyWebhook(await secret(), lateReceiver.forGeneration(id)[0]!);
    await lateReceiver.close();
  });

  it('a delivery whose every retry fails ends FAILED, is counted in metrics, and its log names the generation and status but not the secret', async () => {
    receiver.answer = () => 503;
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/broken` });
    const [record] = await waitFor('the delivery to fail for good', deliveredCount(id));
    expect(record).toMatchObject({ state: 'FAILED', attempt: RETRY_DELAYS_MS.length + 1, statusCode: 503, nextAttemptAt: null });
    expect(receiver.forGeneration(id)).toHaveLength(RETRY_DELAYS_MS.length + 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/reelql_webhook_attempt_duration_seconds_count\{outcome="failed"\} [1-9]/);
    expect(metrics).toMatch(/reelql_webhook_attempt_duration_seconds_count\{outcome="retry"\} [1-9]/);
    expect(metrics).toMatch(/reelql_webhook_deliveries\{state="FAILED"\} [1-9]/);
    const failureLines = server.logs.filter((line) => line.includes('webhook delivery failed') && line.includes(id));
    expect(failureLines.length).toBe(RETRY_DELAYS_MS.length + 1);
    expect(failureLines.every((line) => line.includes('"statusCode":503'))).toBe(true);
    const current = await secret();
    expect(server.logs.some((line) => line.includes(current) || line.includes('whsec_'))).toBe(false);
  });

  it('webhookEvents picks the statuses, and they arrive in version order even from a slow receiver', async () => {
    // Each answer takes a while, so later versions are long committed while earlier ones are still on the wire.
    receiver.answer = async () => (await sleep(150), 200);
    // A 200 ms simulated job goes from SUBMITTED straight to STORING; PROCESSING is not asked for.
    const events = ['QUEUED', 'SUBMITTED', 'STORING', 'SUCCEEDED'];
    const id = await generate({ webhookUrl: `${receiver.url}/hooks/all`, webhookEvents: events });
    const list = await waitFor('every delivery', async () => {
      const all = await deliveries(id);
      return all.length === events.length && all.every((d) => d.state === 'DELIVERED') ? all : undefined;
    });
    const received = receiver.forGeneration(id);
    expect(received.map((r) => r.payload.type)).toEqual(events.map((s) => `generation.${s.toLowerCase()}`));
    const versions = received.map((r) => r.payload.data.version as number);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(received.map((r) => r.payload.data.status)).toEqual(events);
    expect(list.map((d) => d.version)).toEqual(versions);
  });

  it('no webhookUrl sends nothing, and webhookEvents without one is refused on webhookEvents', async () => {
    const id = await generate({});
    const body = await server.graphql(GENERATE, { input: { prompt: 'x', webhookEvents: ['SUCCEEDED'] } });
    expect(body.data?.generateVideo).toMatchObject({ __typename: 'InputError', field: 'webhookEvents' });
    expect(body.data?.generateVideo.message).toContain('needs webhookUrl');
    await waitFor('the generation to finish', async () => (await server.graphql(GET, { id })).data!.generation.status === 'SUCCEEDED');
    expect(await deliveries(id)).toEqual([]);
  });

  it('after rotateWebhookSecret, deliveries verify with the new secret and, during the grace period, the old one', async () => {
    const old = await secret();
    const rotated = (await server.graphql(ROTATE_WEBHOOK_SECRET)).data!.rotateWebhookSecret;
    expect(rotated.__typename).toBe('RotateWebhookSecretSuccess');
    expect(rotated.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(rotated.webhookSecret).not.toBe(old);
    const graceEnds = new Date(rotated.previousSecretValidUntil).getTime();
    expect(graceEnds).toBeGreaterThan(Date.now() + 3500_000);
    expect(graceEnds).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(await secret()).toBe(rotated.webhookSecret);

    const id = await generate({ webhookUrl: `${receiver.url}/hooks/rotated` });
    const [delivery] = await waitFor('the delivery', () => (receiver.forGeneration(id).length === 1 ? receiver.forGeneration(id) : undefined));
    expect(delivery!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyWebhook(rotated.webhookSecret, delivery!)).toMatchObject({ type: 'generation.succeeded' });
    expect(verifyWebhook(old, delivery!)).toMatchObject({ type: 'generation.succeeded' });
    expect(() => verifyWebhook(`whsec_${Buffer.from('not the secret at all').toString('base64')}`, delivery!)).toThrow();
  });
});
