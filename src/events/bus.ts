import type { Database } from '../db/open.js';
import type { GenerationRow, StoryRow } from '../db/schema.js';
import { generationUpdates, listenTo, storyUpdates } from './channels.js';
import { storyVersionsSince } from '../stories/story-timeline.js';
import { generationSnapshots, versionsSince } from './timeline.js';

/**
 * Called with the new version and, when the notification carried it, the row at that version (as the timeline
 * stores it); or with NaN when updates may have been missed and the listener should re-read.
 */
export type VersionListener = (version: number, row?: GenerationRow) => void;

/** The row a notification carried, when it is well formed and is the version it says. */
function carriedRow(id: string, version: number, snapshot: string | undefined): GenerationRow | undefined {
  if (snapshot === undefined) return undefined;
  try {
    const row = generationSnapshots.decode(JSON.parse(snapshot) as Record<string, unknown>);
    return row.id === id && row.version === version ? row : undefined;
  } catch {
    // Anyone may NOTIFY: a payload that is not our snapshot only means reading the timeline instead.
    return undefined;
  }
}

/**
 * Fans the process's LISTEN connection out to local listeners by id: of a generation, or of a story (both are
 * random UUIDs, so one map holds both).
 */
export interface EventBus {
  /** Calls `listener` with the new version whenever generation `id` changes; returns the unsubscribe. */
  subscribe(id: string, listener: VersionListener): () => void;
  /**
   * Every version of `id` after `afterVersion` (see {@link versionsSince}). Subscribers of one generation that
   * are at the same version all ask for the same rows when notified; the first read in flight is shared, so an
   * update watched 1,000 times costs one query, not 1,000.
   */
  versionsSince(id: string, afterVersion: number): Promise<GenerationRow[]>;
  /** {@link versionsSince} for a story, with the same sharing of reads in flight. */
  storyVersionsSince(id: string, afterVersion: number): Promise<StoryRow[]>;
  /** Number of generations with at least one local listener. */
  readonly watchedCount: number;
  close(): Promise<void>;
}

export async function createEventBus(database: Database): Promise<EventBus> {
  const listeners = new Map<string, Set<VersionListener>>();
  const readsInFlight = new Map<string, Promise<unknown[]>>();
  // Notifications sent while the connection was down are lost: wake everyone to re-read.
  const wakeAll = () => {
    for (const set of listeners.values()) for (const listener of set) listener(Number.NaN);
  };
  const unlistenGenerations = await listenTo(
    database,
    generationUpdates,
    ({ id, version, snapshot }) => {
      const set = listeners.get(id);
      if (!set) return;
      // Decoded once for all of this process's subscribers of the generation.
      const row = carriedRow(id, version, snapshot);
      for (const listener of set) listener(version, row);
    },
    wakeAll,
  );
  // A story's notification carries no row: its subscribers read its timeline.
  const unlistenStories = await listenTo(
    database,
    storyUpdates,
    ({ id, version }) => {
      for (const listener of listeners.get(id) ?? []) listener(version);
    },
    wakeAll,
  );
  /** The first read in flight for a key is shared by everyone asking for the same rows. */
  const shared = <Row>(key: string, read: () => Promise<Row[]>): Promise<Row[]> => {
    let pending = readsInFlight.get(key) as Promise<Row[]> | undefined;
    if (!pending) {
      pending = read().finally(() => readsInFlight.delete(key));
      readsInFlight.set(key, pending);
    }
    return pending;
  };
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
    versionsSince: (id, afterVersion) => shared(`${id}:${afterVersion}`, () => versionsSince(database.db, id, afterVersion)),
    storyVersionsSince: (id, afterVersion) => shared(`story:${id}:${afterVersion}`, () => storyVersionsSince(database.db, id, afterVersion)),
    get watchedCount() {
      return listeners.size;
    },
    async close() {
      await Promise.all([unlistenGenerations(), unlistenStories()]);
    },
  };
}
