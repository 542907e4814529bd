import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedWebhookUrl } from './url-policy.js';
import type { WebhookHeaders } from './signing.js';

/*
 * One webhook POST, to the address the URL check approved: the connection's DNS lookup is replaced by that
 * address, so a name that resolves elsewhere a moment later (DNS rebinding) changes nothing. TLS still checks the
 * certificate against the host name. Redirects are not followed (a 3xx is an answer like any non-2xx), the whole
 * exchange must finish within the timeout, and at most `maxResponseBytes` of the answer are read.
 */

export interface SendOptions {
  timeoutMs: number;
  maxResponseBytes: number;
}

/** How the receiver answered; `statusCode` null when no answer came (refused, timed out, reset). */
export interface SendResult {
  statusCode: number | null;
  /** Why it does not count as delivered; null for a 2xx. */
  error: string | null;
}

/** A lookup that always answers `address`, in the form the caller asked for (one address or a list). */
const pinnedLookup =
  (address: string, family: 4 | 6): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };

export function sendWebhook(target: CheckedWebhookUrl, headers: WebhookHeaders, body: string, options: SendOptions): Promise<SendResult> {
  const { url } = target;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup: pinnedLookup(target.address, target.family),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'reelql-webhooks',
          ...headers,
        },
        // No connection reuse: each attempt connects to the address it checked.
        agent: false,
      },
      (response) => {
        const statusCode = response.statusCode ?? 0;
        let read = 0;
        const done = () =>
          finish({ statusCode, error: statusCode >= 200 && statusCode < 300 ? null : `the receiver answered HTTP ${statusCode}` });
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Enough is known once the status came; the rest of a large answer is not read.
          if (read >= options.maxResponseBytes) done();
        });
        response.on('end', done);
        response.on('error', () => done());
      },
    );
    const timer = setTimeout(
      () => finish({ statusCode: null, error: `no complete answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({ statusCode: null, error: `the connection failed (${error.code ?? error.message})` }),
    );
    request.end(body);
  });
}
