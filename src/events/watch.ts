import { Repeater } from 'graphql-yoga';
import type { Db } from '../db/client.js';
import { getGeneration, isTerminal, versionsSince } from '../db/generations.js';
import type { GenerationRow } from '../db/schema.js';
import type { EventBus } from './bus.js';

/**
 * Subscribers of one generation that are at the same version all ask for the same rows when notified; the
 * first query in flight is shared, so an update watched 1,000 times costs one read, not 1,000.
 */
const inFlightReads = new WeakMap<Db, Map<string, Promise<GenerationRow[]>>>();
function sharedVersionsSince(db: Db, id: string, afterVersion: number): Promise<GenerationRow[]> {
  let reads = inFlightReads.get(db);
  if (!reads) inFlightReads.set(db, (reads = new Map<string, Promise<GenerationRow[]>>()));
  const key = `${id}:${afterVersion}`;
  let read = reads.get(key);
  if (!read) {
    read = versionsSince(db, id, afterVersion).finally(() => reads.delete(key));
    reads.set(key, read);
  }
  return read;
}

export interface WatchOptions {
  /** Re-read the timeline this often even without a notification, so a lost NOTIFY only delays. @default 5000 */
  sweepMs?: number;
  /** Called as each version is handed to the subscriber (for delivery-latency metrics). */
  onDeliver?: (row: GenerationRow) => void;
  /** Called once when the stream starts and once when it ends. */
  onOpen?: () => void;
  onClose?: () => void;
  /** Only stream a generation this key owns; another key's looks missing. */
  apiKeyId?: string;
  /** Ends the stream (e.g. when the key is revoked). */
  signal?: AbortSignal;
}

/**
 * Streams a generation: its current state first, then every later version exactly once and in order,
 * ending after a terminal status. Listens before reading, and replays versions from the timeline, so
 * nothing committed between the read and the first notification is missed.
 * Resolves to null when the generation does not exist.
 */
export async function watchGeneration(
  db: Db,
  bus: EventBus,
  id: string,
  options: WatchOptions = {},
): Promise<AsyncIterable<GenerationRow> | null> {
  const sweepMs = options.sweepMs ?? 5000;
  let pending = false;
  let wake: (() => void) | undefined;
  const unsubscribe = bus.subscribe(id, () => {
    pending = true;
    wake?.();
  });
  const current = await getGeneration(db, id, options.apiKeyId);
  if (!current) {
    unsubscribe();
    return null;
  }
  const deliver = async (push: (row: GenerationRow) => Promise<unknown>, row: GenerationRow) => {
    options.onDeliver?.(row);
    await push(row);
  };
  return new Repeater<GenerationRow>(async (push, stop) => {
    options.onOpen?.();
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      wake?.();
    });
    options.signal?.addEventListener('abort', () => stop(), { once: true });
    try {
      await deliver(push, current);
      let last = current.version;
      let done = isTerminal(current.status);
      while (!done && !stopped) {
        if (!pending) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, sweepMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        pending = false;
        if (stopped) break;
        let rows: GenerationRow[];
        try {
          rows = await sharedVersionsSince(db, id, last);
        } catch {
          // The database is unreachable (e.g. restarting): keep the subscription and try again on the next sweep.
          continue;
        }
        for (const row of rows) {
          await deliver(push, row);
          last = row.version;
          if (isTerminal(row.status)) done = true;
        }
      }
      stop();
    } finally {
      unsubscribe();
      options.onClose?.();
    }
  });
}
