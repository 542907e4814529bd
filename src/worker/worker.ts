import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Database } from '../db/open.js';
import { generationJobs } from '../events/channels.js';
import type { EventBus } from '../events/bus.js';
import { claimNext, releaseLease, renewLease, type SubmitLimits } from './claim.js';
import { keyPrefixOf, runGeneration, type RunnerDeps } from './run.js';
import { submitWindowMs } from './record-segmind-request-id.js';

export interface WorkerOptions extends Omit<RunnerDeps, 'db' | 'workerId'> {
  database: Database;
  /** Used to notice at once when a generation we drive is canceled. */
  bus: EventBus;
  /** Generations driven at once. */
  concurrency: number;
  /** Caps on new submits, shared with every other worker through Postgres. */
  submitLimits: SubmitLimits;
  /** Look for due work this often even without a notification (retries, expired leases). */
  sweepMs: number;
  /** Lease renewals per lease period, and the shortest wait between two. */
  heartbeat: { perLease: number; minMs: number };
  /** How often this worker clears old submit records after a claimed submit. */
  submitLogPruneMs: number;
  /** Key prefixes remembered before the cache starts over. */
  keyPrefixCacheSize: number;
}

export interface Worker {
  readonly id: string;
  /** Generations being driven right now. */
  readonly inFlight: number;
  /** When the worker last looked for work successfully; readiness checks it is recent. */
  readonly lastClaimCheckAt: number;
  start(): Promise<void>;
  /** Stops claiming, lets in-flight work reach a safe point, and hands its leases back. */
  stop(): Promise<void>;
}

export function createWorker(options: WorkerOptions): Worker {
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const { database, log } = options;
  const db = database.db;
  const deps: RunnerDeps = { ...options, db, workerId: id, log: log.child({ workerId: id }) };
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const submitWindow = submitWindowMs(options.submitPatience);
  let stopping = false;
  let claiming = false;
  let lastClaimCheckAt = Date.now();
  let claimAgain = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  // Old submit records only need clearing now and then: once per `submitLogPruneMs` keeps the table small.
  let lastSubmitLogPruneAt = 0;
  const submitLogPruneIsDue = () => {
    if (Date.now() - lastSubmitLogPruneAt < options.submitLogPruneMs) return false;
    lastSubmitLogPruneAt = Date.now();
    return true;
  };
  // A key's prefix never changes, so each is looked up once: one round trip less before a submit.
  const keyPrefixes = new Map<string, Promise<string | null>>();
  const prefixOf = (apiKeyId: string | null): Promise<string | null> => {
    if (!apiKeyId) return Promise.resolve(null);
    let prefix = keyPrefixes.get(apiKeyId);
    if (!prefix) {
      if (keyPrefixes.size >= options.keyPrefixCacheSize) keyPrefixes.clear();
      prefix = keyPrefixOf(db, apiKeyId);
      keyPrefixes.set(apiKeyId, prefix);
      prefix.catch(() => keyPrefixes.delete(apiKeyId));
    }
    return prefix;
  };

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
          const exclusions = { driving: [...running.keys()], submitWindowMs: submitWindow };
          const row = await claimNext(db, id, options.leaseMs, options.submitLimits, exclusions, submitLogPruneIsDue);
          if (!row) break;
          drive(row.id, row);
        }
      } while (claimAgain && !stopping);
      lastClaimCheckAt = Date.now();
    } catch (error) {
      deps.log.error('claiming failed', { err: error });
    } finally {
      claiming = false;
    }
  }

  function drive(generationId: string, row: Parameters<typeof runGeneration>[0]): void {
    const controller = new AbortController();
    // Every line about this generation carries its id and its key's prefix.
    let log = deps.log.child({ generationId });
    const check = async () => {
      if (controller.signal.aborted) return;
      try {
        if (!(await renewLease(db, generationId, id, options.leaseMs))) controller.abort();
      } catch (error) {
        log.warn('lease renewal failed', { err: error });
      }
    };
    const heartbeatMs = Math.max(options.heartbeat.minMs, Math.floor(options.leaseMs / options.heartbeat.perLease));
    const heartbeat = setInterval(() => void check(), heartbeatMs);
    // A change made by someone else (a cancel) shows up as a notification: re-check our lease at once.
    const unsubscribe = options.bus.subscribe(generationId, () => void check());
    const started = Date.now();
    const done = prefixOf(row.apiKeyId)
      .then((keyPrefix) => {
        log = log.child({ keyPrefix });
        return runGeneration(row, { ...deps, log }, controller.signal);
      })
      // The lease is kept on purpose: the generation is resumed when it expires, which also keeps an
      // error that repeats from retrying (and, around a submit, from paying) in a tight loop.
      .catch((error: unknown) => log.error('generation run crashed', { err: error }))
      .finally(async () => {
        clearInterval(heartbeat);
        unsubscribe();
        running.delete(generationId);
        if (stopping) await releaseLease(db, generationId, id).catch(() => undefined);
        log.debug('generation run ended', { durationMs: Date.now() - started });
        void fillSlots();
      });
    running.set(generationId, { controller, done });
  }

  return {
    id,
    get inFlight() {
      return running.size;
    },
    get lastClaimCheckAt() {
      return lastClaimCheckAt;
    },
    async start() {
      unlisten = await database.listen(
        generationJobs.name,
        () => void fillSlots(),
        () => void fillSlots(),
      );
      sweepTimer = setInterval(() => void fillSlots(), options.sweepMs);
      void fillSlots();
    },
    async stop() {
      stopping = true;
      clearInterval(sweepTimer);
      await unlisten?.().catch(() => undefined);
      for (const { controller } of running.values()) controller.abort();
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}
