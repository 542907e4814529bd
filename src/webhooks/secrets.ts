import { randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { apiKeys } from '../db/schema.js';

/*
 * Each API key's webhook signing secret, in the Standard Webhooks form `whsec_` + base64 of 24 random bytes. It is
 * made the first time anything needs it (viewer, a delivery) and kept with the key. Rotating keeps the previous
 * secret for a grace period, during which deliveries carry a signature for each, so receivers can switch over.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

const newSecret = () => `${WEBHOOK_SECRET_PREFIX}${randomBytes(24).toString('base64')}`;

/** The secrets a delivery is signed with now: the current one first, then the previous one during its grace. */
export interface SigningSecrets {
  current: string;
  previous: { secret: string; validUntil: Date } | null;
}

/** The key's secrets, the current one made when it has none yet (concurrent first uses agree on one). */
export async function signingSecretsOf(db: Db, apiKeyId: string, now = new Date()): Promise<SigningSecrets> {
  const stored = await readSecrets(db, apiKeyId);
  if (stored?.current) return inForce(stored.current, stored, now);
  // The one write: only the first use, and only the first of concurrent first uses, makes the secret.
  await db
    .update(apiKeys)
    .set({ webhookSecret: newSecret() })
    .where(and(eq(apiKeys.id, apiKeyId), isNull(apiKeys.webhookSecret)));
  const made = await readSecrets(db, apiKeyId);
  if (!made?.current) throw new Error(`API key ${apiKeyId} is gone`);
  return inForce(made.current, made, now);
}

async function readSecrets(db: Db, apiKeyId: string) {
  const [row] = await db
    .select({
      current: apiKeys.webhookSecret,
      previous: apiKeys.previousWebhookSecret,
      validUntil: apiKeys.previousWebhookSecretUntil,
    })
    .from(apiKeys)
    .where(eq(apiKeys.id, apiKeyId));
  return row;
}

/** The stored secrets that still sign: the previous one only until its grace period ends. */
function inForce(current: string, row: { previous: string | null; validUntil: Date | null }, now: Date): SigningSecrets {
  const previous = row.previous && row.validUntil && row.validUntil > now ? { secret: row.previous, validUntil: row.validUntil } : null;
  return { current, previous };
}

/**
 * Replaces the key's secret. The one it replaces stays valid for `graceSeconds` (none when 0). Returns the new
 * secrets.
 */
export async function rotateSigningSecret(db: Db, apiKeyId: string, graceSeconds: number): Promise<SigningSecrets> {
  // Made first, so the rotation always has a current secret to keep as the previous one.
  await signingSecretsOf(db, apiKeyId);
  const [row] = await db
    .update(apiKeys)
    .set({
      previousWebhookSecret: graceSeconds > 0 ? sql`${apiKeys.webhookSecret}` : null,
      previousWebhookSecretUntil: graceSeconds > 0 ? sql`now() + ${graceSeconds} * interval '1 second'` : null,
      webhookSecret: newSecret(),
    })
    .where(eq(apiKeys.id, apiKeyId))
    .returning({ current: apiKeys.webhookSecret, previous: apiKeys.previousWebhookSecret, validUntil: apiKeys.previousWebhookSecretUntil });
  if (!row?.current) throw new Error(`API key ${apiKeyId} is gone`);
  return { current: row.current, previous: row.previous && row.validUntil ? { secret: row.previous, validUntil: row.validUntil } : null };
}
