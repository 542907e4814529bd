import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { submitWindowMs } from '../src/worker/record-segmind-request-id.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { GENERATE, GET } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';
import { DEFAULTS } from '../src/config/defaults.js';

const LEASE_MS = 1500;
/**
 * Resuming may take the rest of the lease, one sweep interval (1 s) and scheduling slack on two cores shared with
 * the rest of the suite; when A died storing, B's first event is `succeeded`, after its own download, probe and
 * stills (ffmpeg), which alone took 3 s under load. A resume that waited for anything else (a deadline, a
 * restart) takes far longer.
 */
const RESUME_LIMIT_MS = LEASE_MS + 1000 + 5000;
// Long enough that a `[sim:slow]` job (10×) outlasts starting a second worker on a loaded machine.
const PROCESSING_MS = 1500;
/**
 * No worker sends a submit again before its dead sender would have stopped trying to record Segmind's answer.
 * A short request timeout (still longer than worker B takes to start, while A's submit hangs) and commit patience
 * bring that window down to seconds.
 */
// The request timeout must outlast starting worker B on a loaded machine, or the held submit times out first.
const PATIENCE = { requestTimeoutMs: 12_000, commitPatienceMs: 500, lastWriteSlackMs: DEFAULTS.worker.lastWriteSlackMs.default };
const SUBMIT_WINDOW_MS = submitWindowMs(PATIENCE);

interface Row {
  status: string;
  version: number;
  lease_owner: string | null;
  segmind_request_id: string | null;
  submit_started_at: Date | null;
}

/** Worker ids are `<host>:<pid>:<random>`. */
const ownedBy = (row: Row | undefined, worker: ServerProcess) => row?.lease_owner?.includes(`:${worker.process.pid}:`) ?? false;

describe.skipIf(!hasPostgres)('a worker killed with SIGKILL at a dangerous point', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let api: TestApp;
  let workers: ServerProcess[] = [];
  /** An idle worker a passing test left running; the next test uses it as its worker A, saving a start. */
  let spare: ServerProcess | undefined;
  /** Video storage shared by every process, as a volume would be in a deployment. */
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-crash-'));
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: PROCESSING_MS });
    api = await startTestApp({ ROLE: 'api', DATABASE_URL: database.url, DATA_DIR: dataDir, ...sim.env });
  });
  beforeEach(() => sim.simulator.reset());
  afterEach(async () => {
    await Promise.all(workers.filter((w) => w !== spare).map((w) => w.stop('SIGKILL')));
    workers = spare ? [spare] : [];
    // A generation a failed test left unfinished must not become the next test's work.
    await database.sql`update generations set status = 'CANCELED' where status not in ('SUCCEEDED', 'FAILED', 'CANCELED')`;
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await api?.stop();
    await sim?.simulator.stop();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<ServerProcess> {
    const worker = await spawnServer({
      ROLE: 'worker',
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      ...sim.env,
      LEASE_MS: String(LEASE_MS),
      SEGMIND_REQUEST_TIMEOUT_MS: String(PATIENCE.requestTimeoutMs),
      COMMIT_PATIENCE_MS: String(PATIENCE.commitPatienceMs),
      SEGMIND_POLL_MIN_MS: '50',
      SEGMIND_POLL_MAX_MS: '200',
      LOG_LEVEL: 'debug',
    });
    workers.push(worker);
    return worker;
  }

  async function row(id: string): Promise<Row | undefined> {
    const [found] = await database.sql<Row[]>`
      select status, version, lease_owner, segmind_request_id, submit_started_at from generations where id = ${id}`;
    return found;
  }

  const jobsFor = (prompt: string) => sim.simulator.jobs().filter((job) => job.input.prompt === prompt);

  /**
   * Worker A drives a new generation until `reached` says it is at the point, then dies by SIGKILL; worker B,
   * started while A still held its lease, must finish it. Returns the final generation and the timings.
   */
  async function killAndResume(input: Record<string, unknown>, reached: (row: Row) => boolean | Promise<boolean>) {
    const workerA = spare ?? (await startWorker());
    spare = undefined;
    const created = await api.graphql(GENERATE, { input });
    const id = created.data?.generateVideo.generation?.id as string;
    expect(id, JSON.stringify(created)).toBeTruthy();
    await waitFor('worker A to claim the generation', async () => (ownedBy(await row(id), workerA) ? true : undefined));

    // B starts now, so that it is ready when A dies; it cannot take the generation while A's lease is live.
    const [workerB] = await Promise.all([
      startWorker(),
      waitFor('worker A to reach the point', async () => {
        const current = await row(id);
        return current && ownedBy(current, workerA) && (await reached(current)) ? true : undefined;
      }),
    ]);
    const atKill = (await row(id))!;
    expect(ownedBy(atKill, workerA), `A no longer drives it: ${JSON.stringify(atKill)}\n${workerA.output()}`).toBe(true);
    expect(await reached(atKill), `the point passed while B started: ${JSON.stringify(atKill)}`).toBe(true);

    const killedAt = Date.now();
    expect(await workerA.stop('SIGKILL')).toBeNull();
    const takeoverMs =
      (await waitFor('worker B to take the generation over', async () => (ownedBy(await row(id), workerB) ? Date.now() : undefined), {
        timeoutMs: 15_000,
        intervalMs: 20,
      }).catch(() => undefined)) ?? Number.NaN;
    const final = await waitFor(
      'the generation to end',
      async () => {
        const generation = (await api.graphql(GET, { id })).data?.generation;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(generation?.status) ? generation : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- worker B:\n${workerB.output()}`);
    });
    const [first] = await database.sql<{ at_ms: number; type: string; version: number }[]>`
      select (extract(epoch from created_at) * 1000)::float8 as at_ms, type, version from generation_events
      where generation_id = ${id} and version > ${atKill.version} order by version limit 1`;
    const resumeMs = first ? first.at_ms - killedAt : Number.NaN;
    spare = workerB; // done with its generation, so idle
    return { id, final, atKill, workerB, takeoverMs: takeoverMs - killedAt, resumeMs, firstEvent: first?.type, firstAtMs: first?.at_ms };
  }

  function report(point: string, result: Awaited<ReturnType<typeof killAndResume>>, resumeLimitMs = RESUME_LIMIT_MS) {
    console.log(
      `[crash-resume] ${point}: SIGKILL → lease taken by worker B after ${Math.round(result.takeoverMs)} ms, ` +
        `B's first event (${result.firstEvent}) after ${Math.round(result.resumeMs)} ms (LEASE_MS ${LEASE_MS})`,
    );
    expect(result.final.status, result.workerB.output()).toBe('SUCCEEDED');
    expect(result.final.video?.contentType).toBe('video/mp4');
    expect(result.resumeMs).toBeGreaterThan(0);
    expect(result.resumeMs, `resume took ${result.resumeMs} ms`).toBeLessThan(resumeLimitMs);
  }

  /** B sent it again only once A's submit window had passed: until then A might still have recorded the answer. */
  function expectResubmittedAfterWindow(result: Awaited<ReturnType<typeof killAndResume>>) {
    const markedAt = result.atKill.submit_started_at!.getTime();
    expect(result.firstAtMs! - markedAt).toBeGreaterThanOrEqual(SUBMIT_WINDOW_MS);
  }

  const eventTypes = (generation: { events: { type: string }[] }) => generation.events.map((e) => e.type);

  it('resubmits, and says so, when the worker died before Segmind accepted the submit', async () => {
    const prompt = 'crash before Segmind accepts';
    sim.simulator.injectFault({ endpoint: 'submit', hang: true });
    const result = await killAndResume({ prompt, durationSeconds: 4 }, async (r) => {
      if (!r.submit_started_at || r.segmind_request_id) return false;
      await sleep(300); // the marked request reaches the simulator, which never answers it
      return true;
    });
    expect(result.atKill.status).toBe('QUEUED');
    report('before submit', result, SUBMIT_WINDOW_MS + 3000);
    expectResubmittedAfterWindow(result);

    // Segmind never accepted A's request; B's is the only job, and it is the one recorded.
    const jobs = jobsFor(prompt);
    expect(jobs).toHaveLength(1);
    expect((await row(result.id))!.segmind_request_id).toBe(jobs[0]!.requestId);
    expect(result.firstEvent).toBe('resubmitting_after_crash');
    expect(eventTypes(result.final).filter((t) => t === 'resubmitting_after_crash')).toHaveLength(1);
    expect(eventTypes(result.final).filter((t) => t === 'submitted')).toHaveLength(1);
    expect(result.final.attempts).toBe(2);
  });

  it('resubmits once, and records it, when Segmind accepted but the worker died before committing the request id', async () => {
    const prompt = 'crash after Segmind accepts';
    // Accepted, and never answered: A dies waiting, however long starting worker B takes (up to the timeout).
    sim.simulator.injectFault({ endpoint: 'submit', acceptThenFail: true, hang: true });
    const result = await killAndResume({ prompt, durationSeconds: 4 }, () => jobsFor(prompt).length === 1);
    expect(result.atKill.status).toBe('QUEUED');
    expect(result.atKill.segmind_request_id).toBeNull();
    report('after accept, before commit', result, SUBMIT_WINDOW_MS + 3000);
    expectResubmittedAfterWindow(result);

    // The documented window: Segmind billed A's job, nobody knew its id, so it was sent again.
    const jobs = jobsFor(prompt);
    expect(jobs).toHaveLength(2);
    expect((await row(result.id))!.segmind_request_id).toBe(jobs[1]!.requestId);
    expect(result.firstEvent).toBe('resubmitting_after_crash');
    expect(eventTypes(result.final).filter((t) => t === 'resubmitting_after_crash')).toHaveLength(1);
    expect(eventTypes(result.final).filter((t) => t === 'submitted')).toHaveLength(1);
  });

  it('resumes polling without submitting again when the worker died while Segmind was processing', async () => {
    // A slow job, and a combination no other test completes, so the expected length is Segmind's 100 s and
    // progress keeps moving (worker B writes a progress tick soon after it resumes).
    const prompt = 'crash while polling [sim:slow]';
    const result = await killAndResume(
      { prompt, durationSeconds: 6, resolution: 'RES_720P', generateAudio: false },
      (r) => r.status === 'PROCESSING',
    );
    expect(result.atKill.segmind_request_id).toBeTruthy();
    report('while polling', result);

    const jobs = jobsFor(prompt);
    expect(jobs).toHaveLength(1);
    expect((await row(result.id))!.segmind_request_id).toBe(jobs[0]!.requestId);
    expect(eventTypes(result.final).filter((t) => t === 'submitted')).toHaveLength(1);
    expect(eventTypes(result.final)).not.toContain('resubmitting_after_crash');
    expect(result.final.attempts).toBe(1);
  });

  it('downloads the video again without submitting again when the worker died while storing it', async () => {
    const prompt = 'crash while downloading';
    // A's download is never answered, so A dies in it however long starting worker B takes; B's is answered.
    sim.simulator.injectFault({ endpoint: 'file', hang: true });
    const result = await killAndResume({ prompt, durationSeconds: 4 }, async (r) => {
      if (r.status !== 'STORING') return false;
      await sleep(300); // A's download request reaches the simulator and waits on the slow file
      return true;
    });
    report('while downloading', result);

    expect(jobsFor(prompt)).toHaveLength(1);
    expect(eventTypes(result.final).filter((t) => t === 'submitted')).toHaveLength(1);
    expect(eventTypes(result.final)).not.toContain('resubmitting_after_crash');
    expect(result.firstEvent).toBe('succeeded');
    const video = await fetch(result.final.video.url);
    expect(video.status).toBe(200);
    expect(Buffer.from(await video.arrayBuffer()).subarray(4, 8).toString()).toBe('ftyp');
  });
});
