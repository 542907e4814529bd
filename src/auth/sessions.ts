import type { Database } from '../db/client.js';
import { REVOKED_CHANNEL } from './keys.js';

/** Open subscriptions and sockets by API key, so revoking a key ends them at once in every process. */
export interface Sessions {
  /** Registers `end` to run when `keyId` is revoked; returns the unregister function. */
  track(keyId: string, end: () => void): () => void;
  close(): Promise<void>;
}

export async function createSessions(database: Database): Promise<Sessions> {
  const byKey = new Map<string, Set<() => void>>();
  const unlisten = await database.listen(REVOKED_CHANNEL, (keyId) => {
    const ends = byKey.get(keyId);
    byKey.delete(keyId);
    for (const end of ends ?? []) end();
  });
  return {
    track(keyId, end) {
      let set = byKey.get(keyId);
      if (!set) byKey.set(keyId, (set = new Set()));
      set.add(end);
      return () => void set.delete(end);
    },
    close: unlisten,
  };
}
