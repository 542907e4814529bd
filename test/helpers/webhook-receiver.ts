import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request a receiver got, as it arrived. */
export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Parsed body. */
  payload: { type: string; timestamp: string; data: Record<string, any> };
  receivedAt: number;
}

/**
 * What the receiver answers a request with: a status; 'hang' to never answer; 'endless' for a 200 whose body never
 * ends; or a redirect to `location`.
 */
export type ReceiverAnswer = number | 'hang' | 'endless' | { redirect: string };

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every request, in arrival order. */
  received: ReceivedWebhook[];
  /** Requests for one generation, in arrival order. */
  forGeneration(id: string): ReceivedWebhook[];
  /** Decides the answer to each request; 204 by default. */
  answer: (request: ReceivedWebhook, index: number) => ReceiverAnswer | Promise<ReceiverAnswer>;
  /** Closes the server and every connection (hanging ones too). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

/** Verifies a delivery as a receiver would, with the `standardwebhooks` package alone; throws when it does not verify. */
export function verifyWebhook(secret: string, received: Pick<ReceivedWebhook, 'body' | 'headers'>): unknown {
  return new Webhook(secret).verify(received.body, {
    'webhook-id': received.headers['webhook-id'] ?? '',
    'webhook-timestamp': received.headers['webhook-timestamp'] ?? '',
    'webhook-signature': received.headers['webhook-signature'] ?? '',
  });
}

/** A real HTTP receiver on loopback that records every request. */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received,
    forGeneration: (id) => received.filter((r) => r.payload.data.id === id),
    answer: () => 204,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    reopen: () => listen(receiver.port),
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const entry: ReceivedWebhook = { path: req.url ?? '/', headers, body, payload: JSON.parse(body), receivedAt: Date.now() };
      received.push(entry);
      const answer = await receiver.answer(entry, received.length - 1);
      if (answer === 'hang') return;
      if (answer === 'endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const timer = setInterval(() => res.write(chunk), 5);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (typeof answer === 'object') return void res.writeHead(302, { location: answer.redirect }).end();
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  };
  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (on: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(on, '127.0.0.1', () => {
        server.off('error', reject);
        receiver.port = (server.address() as AddressInfo).port;
        receiver.url = `http://127.0.0.1:${receiver.port}`;
        resolve();
      });
    });
  await listen(port);
  return receiver;
}
