import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import type { Config } from '../config/index.js';
import { isLoopbackHost } from '../contract/tables.js';
import type { Db } from '../db/open.js';
import { apiKeys } from '../db/schema.js';
import { createApiKeyUnlessNameTaken, findActiveKey } from './keys.js';

export interface DevelopmentKeyPolicy {
  /** Whether this server makes and shows a development key at all. */
  enabled: boolean;
  /** The key's daily budget, kept up to date on every start; undefined leaves it as it is (none when made). */
  dailyBudgetUsd: number | undefined;
}

/**
 * Outside production, a development key is made with the simulator (`DEVELOPMENT_KEY=auto`), or also beside a
 * real Segmind key when asked for (`on`). Beside a real key every video is paid for, so the key then has a small
 * daily budget, even when it is not used by this server: it may have been made by an earlier run with the simulator.
 */
export function developmentKeyPolicy(config: Config): DevelopmentKeyPolicy {
  const paid = config.segmind.apiKey !== undefined;
  return {
    enabled: !config.server.production && (config.auth.developmentKey === 'on' || (config.auth.developmentKey === 'auto' && !paid)),
    dailyBudgetUsd: paid ? config.auth.developmentKeyDailyBudgetUsd : undefined,
  };
}

/**
 * The first-run key of a development setup: created when the database has no key at all, and kept in
 * `<dataDir>/development-key` (readable by the owner only) so later starts can show it again. Returns
 * undefined when the policy says no, when keys were made some other way, or the stored one was revoked.
 */
export async function ensureDevelopmentKey(db: Db, dataDir: string, policy: DevelopmentKeyPolicy): Promise<string | undefined> {
  const file = path.join(dataDir, 'development-key');
  const stored = await fs.readFile(file, 'utf8').then((text) => text.trim(), () => undefined);
  const storedKey = stored ? await findActiveKey(db, stored) : null;
  if (storedKey && policy.dailyBudgetUsd !== undefined) {
    await db.update(apiKeys).set({ dailyBudgetUsd: policy.dailyBudgetUsd.toFixed(2) }).where(eq(apiKeys.id, storedKey.id));
  }
  if (!policy.enabled) return undefined;
  if (storedKey) return stored;
  const [existing] = await db.select({ n: count() }).from(apiKeys);
  if ((existing?.n ?? 0) > 0) return undefined;
  // Replicas starting together may race here; only one creates the key.
  const created = await createApiKeyUnlessNameTaken(db, { name: 'development', dailyBudgetUsd: policy.dailyBudgetUsd ?? null });
  if (!created) return undefined;
  const { key } = created;
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** Headers a proxy adds: a request that carries one may come from anywhere, whatever its Host says. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];

/** What a Host header may hold (a name or address and a port); anything else, `user@host` included, is refused. */
const HOST_SHAPE = /^[a-z0-9.\-[\]:]+$/;

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Whether a request was made on this machine by the person using it: addressed to a loopback name (`localhost`,
 * `127.0.0.1` or `[::1]`, any port), so a page whose own name was rebound to 127.0.0.1 is refused; and not sent
 * by a page of another origin (an `Origin` other than the one addressed, or a `Sec-Fetch-Site` other than
 * `same-origin` or `none`), so another website, or another server on this machine, is refused too. A request
 * typed or bookmarked, or made by this server's own pages, passes. Only such a request may see the development key.
 */
export function isLocalSameOriginRequest({ headers }: Pick<IncomingMessage, 'headers'>): boolean {
  const host = single(headers.host)?.toLowerCase() ?? '';
  if (!HOST_SHAPE.test(host)) return false;
  let addressed: URL;
  try {
    addressed = new URL(`http://${host}`);
  } catch {
    return false;
  }
  if (!isLoopbackHost(addressed.hostname)) return false;
  if (PROXY_HEADERS.some((name) => headers[name] !== undefined)) return false;
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = single(headers.origin);
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    return from.origin === new URL(`${from.protocol}//${host}`).origin;
  } catch {
    return false;
  }
}
