import type { Database } from '../db/open.js';
import { listenTo, type Channel } from '../events/channels.js';
import type { Logger } from '../logger.js';

/*
 * The loop the worker role's side jobs share (webhook deliveries, story stitching): wake on a NOTIFY (work became due) and on a timer (retries fall due,
 * leases of dead workers expire), claim up to `concurrency` items, run each, and claim again when one ends.
 */

export interface ClaimLoopOptions<Item> {
  database: Database;
  log: Logger;
  /** Says that work became due; any payload wakes the loop. */
  channel: Channel<unknown>;
  sweepMs: number;
  concurrency: number;
  /** Claims up to `limit` due items under a lease; none when nothing is due. */
  claim(limit: number): Promise<Item[]>;
  /** Identifies an item among those running. */
  idOf(item: Item): string;
  /** Runs one item; never expected to throw (a throw is logged and the lease left to expire). */
  run(item: Item, signal: AbortSignal): Promise<void>;
  /** Gives back the lease of an item still held when stopping. */
  release(id: string): Promise<void>;
}

export interface ClaimLoop {
  readonly inFlight: number;
  start(): Promise<void>;
  /** Stops claiming, aborts what runs, waits for it and hands back what it still holds. */
  stop(): Promise<void>;
}

export function createClaimLoop<Item>(options: ClaimLoopOptions<Item>): ClaimLoop {
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let stopping = false;
  let claiming = false;
  let claimAgain = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  async function fillSlots(): Promise<void> {
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        claimAgain = false;
        while (!stopping && running.size < options.concurrency) {
          const items = await options.claim(options.concurrency - running.size);
          if (items.length === 0) break;
          for (const item of items) {
            const id = options.idOf(item);
            const controller = new AbortController();
            const done = options
              .run(item, controller.signal)
              .catch((error: unknown) => options.log.error('claimed work crashed', { err: error, id }))
              .finally(() => {
                running.delete(id);
                void fillSlots();
              });
            running.set(id, { controller, done });
          }
        }
      } while (claimAgain && !stopping);
    } catch (error) {
      options.log.error('claiming work failed', { err: error });
    } finally {
      claiming = false;
    }
  }

  return {
    get inFlight() {
      return running.size;
    },
    async start() {
      unlisten = await listenTo(options.database, options.channel, () => void fillSlots(), () => void fillSlots());
      sweepTimer = setInterval(() => void fillSlots(), options.sweepMs);
      void fillSlots();
    },
    async stop() {
      stopping = true;
      clearInterval(sweepTimer);
      await unlisten?.().catch(() => undefined);
      const held = [...running.keys()];
      for (const { controller } of running.values()) controller.abort();
      await Promise.all([...running.values()].map((r) => r.done));
      await Promise.all(held.map((id) => options.release(id).catch(() => undefined)));
    },
  };
}
