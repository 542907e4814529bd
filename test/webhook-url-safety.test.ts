import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, WEBHOOK_DELIVERIES } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { sendWebhook } from '../src/webhooks/send.js';

/** URLs no webhook may use, with words the refusal must contain. */
const REFUSED: [url: string, says: string][] = [
  ['https://127.0.0.1/hook', 'loopback'],
  ['https://127.0.0.1:9/hook', 'loopback'],
  ['https://0x7f.1/hook', 'loopback'],
  ['https://2130706433/hook', 'loopback'],
  ['https://[::1]/hook', 'loopback'],
  ['https://localhost/hook', 'local name'],
  ['https://10.1.2.3/hook', 'private'],
  ['https://192.168.0.10/hook', 'private'],
  ['https://172.16.5.4/hook', 'private'],
  ['https://[fd00::1]/hook', 'private'],
  ['https://169.254.169.254/latest/meta-data/', 'link-local'],
  ['https://[fe80::1]/hook', 'link-local'],
  ['https://0.0.0.0/hook', 'unspecified'],
  ['https://[::]/hook', 'unspecified'],
  ['https://[::ffff:127.0.0.1]/hook', 'IPv4-mapped'],
  ['https://[::ffff:a9fe:a9fe]/hook', 'IPv4-mapped'],
  ['https://printer.local/hook', 'local name'],
  ['https://intranet/hook', 'single-label'],
  ['http://example.com/hook', 'https'],
  ['ftp://example.com/hook', 'https'],
  ['https://user:secret@example.com/hook', 'user name or password'],
  ['not a url', 'absolute https URL'],
];

describe.skipIf(!hasPostgres)('webhook URLs that would reach inside our network', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let receiver: WebhookReceiver;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    receiver = await startWebhookReceiver();
    server = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      // Only this receiver's host and port: loopback in general stays refused.
      WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
      WEBHOOK_RETRY_DELAYS_MS: '100,100',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('are refused at generateVideo with an InputError on webhookUrl that says why, and nothing is queued', async () => {
    const before = await database.sql`select count(*)::int as n from generations`;
    for (const [webhookUrl, says] of REFUSED) {
      const body = await server.graphql(GENERATE, { input: { prompt: 'A lighthouse at dusk', webhookUrl } });
      expect(body.data?.generateVideo, webhookUrl).toMatchObject({ __typename: 'InputError', field: 'webhookUrl' });
      expect(body.data?.generateVideo.message, webhookUrl).toContain(says);
    }
    const after = await database.sql`select count(*)::int as n from generations`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('a host on the allowlist may be on loopback and use plain http', async () => {
    const body = await server.graphql(GENERATE, { input: { prompt: 'A lighthouse at dusk', webhookUrl: `${receiver.url}/ok` } });
    expect(body.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
  });

  it('are checked again at delivery time: a URL that has come to point inside is never connected to', async () => {
    // [sim:slow] leaves time to change where the webhook points, as a DNS answer changing after the check would.
    const body = await server.graphql(GENERATE, { input: { prompt: 'A lighthouse at dusk [sim:slow]', durationSeconds: 4, webhookUrl: `${receiver.url}/ok` } });
    const id = body.data!.generateVideo.generation.id as string;
    await database.sql`update generations set webhook_url = ${`https://127.0.0.2:${receiver.port}/rebound`} where id = ${id}`;
    const [delivery] = await waitFor(
      'the delivery to fail for good',
      async () => {
        const list = (await server.graphql(WEBHOOK_DELIVERIES, { id })).data!.generation.webhookDeliveries as any[];
        return list.length === 1 && list[0].state === 'FAILED' ? list : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(delivery.attempts).toHaveLength(3);
    expect(delivery.error).toContain('public host');
    expect(delivery.error).toContain('loopback');
    expect(receiver.received.filter((r) => r.path === '/rebound')).toEqual([]);
  });
});

describe('a webhook POST', () => {
  it('connects to the address that was checked, never to what a new DNS lookup of the name would say', async () => {
    const receiver = await startWebhookReceiver();
    try {
      // `.invalid` never resolves (RFC 6761): only the pinned, checked address can have been used.
      const url = new URL(`http://rebinding.invalid:${receiver.port}/pinned`);
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };
      const result = await sendWebhook({ url, address: '127.0.0.1', family: 4 }, headers, '{"data":{"id":"x"}}', { timeoutMs: 2000, maxResponseBytes: 65536 });
      expect(result).toEqual({ statusCode: 204, error: null });
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.headers.host).toBe(`rebinding.invalid:${receiver.port}`);
      expect(receiver.received[0]!.path).toBe('/pinned');
    } finally {
      await receiver.close();
    }
  });
});
