import fs from 'node:fs/promises';
import path from 'node:path';
import { count } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { createApiKeyUnlessNameTaken, findActiveKey } from './keys.js';

/**
 * The first-run key of a development setup: created when the database has no key at all, and kept in
 * `<dataDir>/development-key` (readable by the owner only) so later starts can show it again. Returns
 * undefined when keys were made some other way, or the stored one was revoked.
 */
export async function ensureDevelopmentKey(db: Db, dataDir: string): Promise<string | undefined> {
  const file = path.join(dataDir, 'development-key');
  const stored = await fs.readFile(file, 'utf8').then((text) => text.trim(), () => undefined);
  if (stored && (await findActiveKey(db, stored))) return stored;
  const [existing] = await db.select({ n: count() }).from(apiKeys);
  if ((existing?.n ?? 0) > 0) return undefined;
  // Replicas starting together may race here; only one creates the key.
  const created = await createApiKeyUnlessNameTaken(db, { name: 'development' });
  if (!created) return undefined;
  const { key } = created;
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}
