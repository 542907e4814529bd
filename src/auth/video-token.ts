import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { serverSecrets } from '../db/schema.js';

/** The secret that signs video URLs, shared by every replica through the database; made on first start. */
export async function loadVideoSigningSecret(db: Db): Promise<Buffer> {
  await db
    .insert(serverSecrets)
    .values({ name: 'video_url_signing', value: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select().from(serverSecrets).where(eq(serverSecrets.name, 'video_url_signing'));
  return Buffer.from(row!.value, 'base64url');
}

const signature = (secret: Buffer, id: string, expires: number) =>
  createHmac('sha256', secret).update(`${id}.${expires}`).digest('base64url');

/** `?expires=…&token=…` for a video URL that works in `<video src>` without headers until `expires`. */
export function signVideo(secret: Buffer, id: string, ttlSeconds: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  return `expires=${expires}&token=${signature(secret, id, expires)}`;
}

/** Whether the query of a video URL carries a valid, unexpired signature for this generation id. */
export function verifyVideo(secret: Buffer, id: string, query: URLSearchParams, now = Date.now()): boolean {
  const expires = Number(query.get('expires'));
  const token = query.get('token') ?? '';
  if (!Number.isInteger(expires) || expires < now / 1000) return false;
  const expected = Buffer.from(signature(secret, id, expires));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
