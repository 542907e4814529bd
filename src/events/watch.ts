import { Repeater } from 'graphql-yoga';
import type { Db } from '../db/open.js';
import { getGeneration } from '../db/generations.js';
import { isTerminal } from '../generations/lifecycle.js';
import type { GenerationRow, GenerationStatus } from '../db/schema.js';
import type { EventBus } from './bus.js';

/** Rows carried by notifications that one subscriber keeps while it has not delivered them yet. */
const MAX_CARRIED = 64;

export interface WatchOptions<Row = GenerationRow> {
  /** Re-read the timeline this often even without a notification, so a lost NOTIFY only delays. @default 5000 */
  sweepMs?: number;
  /** Called as each version is handed to the subscriber (for delivery-latency metrics). */
  onDeliver?: (row: Row) => void;
  /** Called once when the watch begins and once when it ends, whichever way it ends (a failed read included). */
  onOpen?: () => void;
  onClose?: () => void;
  /** Only stream a generation this key owns; another key's looks missing. */
  apiKeyId?: string;
  /** Ends the stream (e.g. when the key is revoked). */
  signal?: AbortSignal;
}

/** A row with a timeline: how to read it now and its versions since one. */
export interface WatchedTimeline<Row extends { version: number; status: GenerationStatus }> {
  /** The row now, or null when it does not exist (or `apiKeyId` does not own it). */
  current(id: string, apiKeyId: string | undefined): Promise<Row | null>;
  versionsSince(id: string, afterVersion: number): Promise<Row[]>;
}

/**
 * Streams a generation: its current state first, then every later version exactly once and in order,
 * ending after a terminal status. Listens before reading, and replays versions from the timeline, so
 * nothing committed between the read and the first notification is missed.
 * Resolves to null when the generation does not exist.
 */
export function watchGeneration(
  db: Db,
  bus: EventBus,
  id: string,
  options: WatchOptions = {},
): Promise<AsyncIterableIterator<GenerationRow> | null> {
  return watchTimeline(
    bus,
    id,
    { current: (rowId, apiKeyId) => getGeneration(db, rowId, apiKeyId), versionsSince: (rowId, after) => bus.versionsSince(rowId, after) },
    options,
  );
}

/**
 * {@link watchGeneration} for any row with a timeline whose changes the bus announces (a generation, a story).
 * Only a generation's notifications carry rows; a story's subscribers always read its timeline.
 */
export async function watchTimeline<Row extends { version: number; status: GenerationStatus }>(
  bus: EventBus,
  id: string,
  timeline: WatchedTimeline<Row>,
  options: WatchOptions<Row> = {},
): Promise<AsyncIterableIterator<Row> | null> {
  const sweepMs = options.sweepMs ?? 5000;
  let pending = false;
  let wake: (() => void) | undefined;
  // What notifications told since the last delivery: the highest version, whether a re-read is needed (updates may
  // have been missed), and the rows they carried, by version. A version is taken from here only when it is the
  // next one; anything else (a notification lost, or one too big to carry its row) reads the timeline.
  let notifiedUpTo = 0;
  let reread = false;
  const carried = new Map<number, Row>();
  options.onOpen?.();
  const unsubscribe = bus.subscribe(id, (version, row) => {
    if (Number.isNaN(version)) reread = true;
    else {
      notifiedUpTo = Math.max(notifiedUpTo, version);
      // Bounded: a consumer this far behind reads the timeline instead.
      if (row && carried.size < MAX_CARRIED) carried.set(version, row as unknown as Row);
    }
    pending = true;
    wake?.();
  });
  // Every way out ends here exactly once: a failed read, a missing row, the end of the stream, and a stream
  // its consumer returns before reading it (a Repeater that never started never runs its own finally).
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    options.onClose?.();
  };
  let current: Row | null;
  try {
    current = await timeline.current(id, options.apiKeyId);
  } catch (error) {
    close();
    throw error;
  }
  if (!current) {
    close();
    return null;
  }
  const first = current;
  const deliver = async (push: (row: Row) => Promise<unknown>, row: Row) => {
    options.onDeliver?.(row);
    await push(row);
  };
  const stream = new Repeater<Row>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      wake?.();
    });
    try {
      await deliver(push, first);
      let last = first.version;
      let done = isTerminal(first.status);
      const take = async (row: Row) => {
        await deliver(push, row);
        last = row.version;
        if (isTerminal(row.status)) done = true;
      };
      while (!done && !stopped) {
        let swept = false;
        if (!pending) {
          swept = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), sweepMs);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
        }
        pending = false;
        if (stopped) break;
        for (let next = carried.get(last + 1); next && !done && !stopped; next = carried.get(last + 1)) await take(next);
        for (const version of carried.keys()) if (version <= last) carried.delete(version);
        // The timeline is read on the sweep, after a reconnect, and for any notified version not delivered yet.
        if (done || stopped || !(swept || reread || notifiedUpTo > last)) continue;
        reread = false;
        let rows: Row[];
        try {
          rows = await timeline.versionsSince(id, last);
        } catch {
          // The database is unreachable (e.g. restarting): keep the subscription and try again on the next sweep.
          reread = true;
          continue;
        }
        for (const row of rows) {
          if (done || stopped) break;
          if (row.version > last) await take(row);
        }
      }
      stop();
    } finally {
      close();
    }
  });
  // Ended by its consumer or by the signal, started or not.
  const end = () => void stream.return().finally(close);
  if (options.signal?.aborted) end();
  else options.signal?.addEventListener('abort', end, { once: true });
  const iterator: AsyncIterableIterator<Row> = {
    next: () => stream.next(),
    return: (value?: unknown) => stream.return(value).finally(close),
    throw: (error?: unknown) => stream.throw(error).finally(close),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
