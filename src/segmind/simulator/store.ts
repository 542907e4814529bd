/**
 * The simulator's jobs on disk, one small JSON file per job, so a restarted simulator still knows the jobs it
 * accepted, as Segmind keeps running jobs while its clients restart. Job timing comes from the wall-clock
 * submit time, so a job submitted before a restart completes on time after it. Writes are synchronous and
 * atomic (a temporary file renamed over the old one): an accepted submit is on disk before it is answered.
 */

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimJob } from './jobs.js';

export interface SimJobStore {
  /**
   * Every job on disk; files that are not a job (a torn temporary file, a stray) are skipped, and jobs older than
   * {@link KEPT_FOR_MS} are deleted, so the directory does not grow without end.
   */
  load(): SimJob[];
  save(job: SimJob): void;
  /** Forgets every job on disk. */
  clear(): void;
}

const JOB_FILE = /^([0-9a-f-]{36})\.json$/;

/** Segmind keeps result files for days after the hour of its records; the simulator keeps a job a week. */
export const KEPT_FOR_MS = 7 * 24 * 60 * 60 * 1000;

function isSimJob(value: unknown, id: string): value is SimJob {
  const job = value as Partial<SimJob> | null;
  return (
    typeof job === 'object' &&
    job !== null &&
    job.id === id &&
    typeof job.input === 'object' &&
    typeof job.submittedAt === 'number' &&
    typeof job.durationMs === 'number' &&
    typeof job.fails === 'boolean' &&
    typeof job.cost === 'number' &&
    typeof job.expired === 'boolean'
  );
}

export function createSimJobStore(directory: string): SimJobStore {
  const fileOf = (id: string) => path.join(directory, `${id}.json`);
  return {
    load() {
      mkdirSync(directory, { recursive: true });
      const jobs: SimJob[] = [];
      for (const name of readdirSync(directory)) {
        const id = JOB_FILE.exec(name)?.[1];
        if (!id) continue;
        try {
          const job: unknown = JSON.parse(readFileSync(path.join(directory, name), 'utf8'));
          if (!isSimJob(job, id)) continue;
          if (Date.now() - job.submittedAt > KEPT_FOR_MS) rmSync(path.join(directory, name), { force: true });
          else jobs.push({ ...job, statusRequests: Number(job.statusRequests) || 0 });
        } catch {
          // Unreadable: not a job this simulator wrote.
        }
      }
      return jobs.sort((a, b) => a.submittedAt - b.submittedAt);
    },
    save(job) {
      mkdirSync(directory, { recursive: true });
      const temporary = `${fileOf(job.id)}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(job));
      renameSync(temporary, fileOf(job.id));
    },
    clear() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
