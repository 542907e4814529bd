import { Webhook } from 'standardwebhooks';
import type { SigningSecrets } from './secrets.js';

/*
 * Standard Webhooks signing (https://www.standardwebhooks.com), done by the `standardwebhooks` package itself so a
 * receiver's `Webhook.verify` agrees with it byte for byte. During a secret's grace period the signature header
 * holds one `v1,<base64>` entry per secret, space-separated, as the spec allows; verify accepts either.
 */

/** The three headers of one delivery attempt. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Signs `body` as message `id` sent at `at`, with every secret in force. */
export function signDelivery(id: string, at: Date, body: string, secrets: SigningSecrets): WebhookHeaders {
  const keys = [secrets.current, ...(secrets.previous ? [secrets.previous.secret] : [])];
  const signature = keys.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
