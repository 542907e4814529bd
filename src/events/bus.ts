import type { Database } from '../db/open.js';
import { UPDATES_CHANNEL } from '../db/generations.js';

/** Called with the new version, or NaN when updates may have been missed and the listener should re-read. */
export type VersionListener = (version: number) => void;

/** Fans the process's one LISTEN connection out to local listeners by generation id. */
export interface EventBus {
  /** Calls `listener` with the new version whenever generation `id` changes; returns the unsubscribe. */
  subscribe(id: string, listener: VersionListener): () => void;
  /** Number of generations with at least one local listener. */
  readonly watchedCount: number;
  close(): Promise<void>;
}

export async function createEventBus(database: Database): Promise<EventBus> {
  const listeners = new Map<string, Set<VersionListener>>();
  const unlisten = await database.listen(
    UPDATES_CHANNEL,
    (payload) => {
      const separator = payload.lastIndexOf(':');
      const id = payload.slice(0, separator);
      const version = Number(payload.slice(separator + 1));
      const set = listeners.get(id);
      if (!set) return;
      for (const listener of set) listener(version);
    },
    // Notifications sent while the connection was down are lost: wake everyone to re-read.
    () => {
      for (const set of listeners.values()) for (const listener of set) listener(Number.NaN);
    },
  );
  return {
    subscribe(id, listener) {
      let set = listeners.get(id);
      if (!set) listeners.set(id, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(id) === set) listeners.delete(id);
      };
    },
    get watchedCount() {
      return listeners.size;
    },
    close: unlisten,
  };
}
