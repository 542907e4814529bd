import type { Database } from '../db/open.js';
import { apiKeyRevoked, listenTo } from '../events/channels.js';

export type SessionKind = 'socket' | 'subscription';

/** Open subscriptions and sockets by API key, so revoking a key ends them at once in every process. */
export interface Sessions {
  /** Registers `end` to run when `keyId` is revoked; returns the unregister function. */
  track(keyId: string, end: () => void, kind?: SessionKind): () => void;
  /** Sessions of one kind that `keyId` has open in this process. */
  count(keyId: string, kind: SessionKind): number;
  /** generationStatus streams one key may hold open in one process, over WebSocket and SSE together. */
  readonly subscriptionsPerKey: number;
  close(): Promise<void>;
}

export async function createSessions(database: Database, options: { subscriptionsPerKey: number }): Promise<Sessions> {
  const byKey = new Map<string, Set<{ end: () => void; kind: SessionKind }>>();
  const unlisten = await listenTo(database, apiKeyRevoked, ({ keyId }) => {
    const ends = byKey.get(keyId);
    byKey.delete(keyId);
    for (const session of ends ?? []) session.end();
  });
  return {
    track(keyId, end, kind = 'socket') {
      let set = byKey.get(keyId);
      if (!set) byKey.set(keyId, (set = new Set()));
      const session = { end, kind };
      set.add(session);
      return () => {
        set.delete(session);
        if (set.size === 0 && byKey.get(keyId) === set) byKey.delete(keyId);
      };
    },
    subscriptionsPerKey: options.subscriptionsPerKey,
    count: (keyId, kind) => [...(byKey.get(keyId) ?? [])].filter((session) => session.kind === kind).length,
    close: unlisten,
  };
}
