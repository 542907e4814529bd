import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Database } from '../db/open.js';
import { storyStitchesDue } from '../events/channels.js';
import { createClaimLoop, type ClaimLoop } from '../worker/claim-loop.js';
import { claimStitch, releaseStitch, removeStaleStitchDirs, runStitch, type StitchDeps } from './stitch-job.js';

export interface StitcherOptions extends Omit<StitchDeps, 'db' | 'workerId'> {
  database: Database;
  sweepMs: number;
}

/** Stories stitched at once per worker process: ffmpeg is the heavy part, and one run at a time keeps a core free. */
const STITCH_CONCURRENCY = 1;

/** The worker-side loop that stitches stories whose shots all succeeded (see stitch-job.ts). */
export function createStitcher(options: StitcherOptions): ClaimLoop {
  const { database, sweepMs, ...rest } = options;
  const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const deps: StitchDeps = { ...rest, db: database.db, workerId, log: options.log.child({ workerId }) };
  const loop = createClaimLoop({
    database,
    log: deps.log,
    channel: storyStitchesDue,
    sweepMs,
    concurrency: STITCH_CONCURRENCY,
    claim: async () => {
      const story = await claimStitch(deps.db, workerId, deps.leaseMs);
      return story ? [story] : [];
    },
    idOf: (story) => story.id,
    run: (story, signal) => runStitch(story, deps, signal),
    release: (id) => releaseStitch(deps.db, id, workerId),
  });
  return {
    get inFlight() {
      return loop.inFlight;
    },
    async start() {
      // A stitch runs a few ffmpeg runs and copies; anything untouched for ten of those is a dead process's.
      const removed = await removeStaleStitchDirs(10 * options.ffmpeg.timeoutMs);
      if (removed > 0) deps.log.info('removed temporary stitch files left by stopped processes', { removed });
      await loop.start();
    },
    stop: () => loop.stop(),
  };
}
