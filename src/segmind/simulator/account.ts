import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { veoPriceCents } from '../../contract/tables.js';
import { json, jsonError, type SimAnswer } from './http.js';
import {
  FAIL_SWITCH,
  jitteredMs,
  jobInfo,
  jobStatus,
  parseDataUrl,
  parseVeoInput,
  resultAnswer,
  seededRandom,
  simulatedDurationFactor,
  statusAnswer,
  type SimJob,
  type SimulatedJobInfo,
} from './jobs.js';
import { createSimJobStore } from './store.js';
import type { ClipRenderer } from './clips.js';

/** What the account needs of the simulator's options, defaults applied. */
export interface SimAccountOptions {
  processingMs: number;
  processingJitter: number;
  jitterSeed: number;
  expiryMs: number;
  credits: number;
  stateDir: string | undefined;
  /** The simulator's base URL, for the addresses its answers name. */
  url: () => string;
  /** Renders each job's clip; without it (or when it fails) every job gets the shipped sample. */
  clips: ClipRenderer | undefined;
  /** Told when a clip could not be rendered and the sample is served instead. */
  warn: (message: string) => void;
}

/**
 * The simulated Segmind account behind the HTTP endpoints: its jobs, credits and uploaded files, and what the
 * submit, status, result, upload and file endpoints answer from them. Knows nothing of routing, keys or faults.
 */
export interface SimAccount {
  /** Reads the sample video (once per simulator) and the jobs a `stateDir` kept from earlier runs. */
  load: () => Promise<void>;
  submit: (body: unknown) => SimAnswer;
  /** Status (`full` false) and result share the 404 and the 422; they differ only in what a live job shows. */
  report: (id: string, full: boolean) => SimAnswer | Promise<SimAnswer>;
  upload: (body: unknown) => SimAnswer;
  file: (path: string) => SimAnswer | Promise<SimAnswer>;
  /** The shipped sample video, whatever the job asked (the `serveSample` fault). */
  sample: () => SimAnswer;
  /** Counts a status request for `id` (known or not), as it arrives, before key checks and faults. */
  countStatusRequest: (id: string) => void;
  submissions: () => number;
  statusRequests: () => number;
  /** The balance, or null when unlimited. */
  credits: () => number | null;
  jobs: () => SimulatedJobInfo[];
  /** What the upload endpoint received, oldest first: the last {@link KEPT_UPLOADS} data URLs. */
  uploads: () => readonly SimulatedUpload[];
  reset: () => void;
  expire: (id: string) => boolean;
}

/** One data URL the upload endpoint received, decoded. */
export interface SimulatedUpload {
  contentType: string;
  bytes: Buffer;
  /** The hosted URL it was answered with. */
  url: string;
  at: Date;
}

/** Uploads kept for tests to inspect; older ones are forgotten (their files stay served). */
export const KEPT_UPLOADS = 100;

export function createSimAccount(options: SimAccountOptions): SimAccount {
  const { processingMs, processingJitter, jitterSeed, expiryMs, url } = options;
  const store = options.stateDir ? createSimJobStore(options.stateDir) : undefined;
  const jobs = new Map<string, SimJob>();
  const assets = new Map<string, { contentType: string; bytes: Buffer }>();
  const received: SimulatedUpload[] = [];
  let video: Buffer | undefined;
  let credits = options.credits;
  let submissionCount = 0;
  let statusRequestCount = 0;
  let random = seededRandom(jitterSeed);

  /** The job's own clip, or the sample when it cannot be rendered. */
  async function videoOf(job: SimJob): Promise<Buffer> {
    const sample = video ?? Buffer.alloc(0);
    if (!options.clips) return sample;
    const { input } = job;
    try {
      return await options.clips.clip({
        // Jobs kept by an older simulator have no number; they all show 1.
        sequence: job.sequence ?? 1,
        durationSeconds: input.duration,
        aspectRatio: input.aspect_ratio,
        resolution: input.resolution,
        withAudio: input.generate_audio,
      });
    } catch (error) {
      options.warn(`could not render the clip of simulated job ${job.id}, serving the sample video instead: ${String(error)}`);
      return sample;
    }
  }

  function liveJob(id: string): SimJob | undefined {
    const job = jobs.get(id);
    return job && !job.expired && Date.now() - job.submittedAt < expiryMs ? job : undefined;
  }

  return {
    async load() {
      video ??= await readFile(new URL('./assets/sample.mp4', import.meta.url));
      for (const job of store?.load() ?? []) {
        if (jobs.has(job.id)) continue;
        jobs.set(job.id, job);
        submissionCount += 1;
      }
    },

    submit(body) {
      const input = parseVeoInput(body);
      if (typeof input === 'string') return jsonError(400, input);
      const price = veoPriceCents({ durationSeconds: input.duration, generateAudio: input.generate_audio }) / 100;
      if (credits < price) return jsonError(402, `Insufficient credits: this request costs $${price.toFixed(2)}`);
      const fails = input.prompt.includes(FAIL_SWITCH);
      const durationMs = jitteredMs(processingMs, processingJitter, random) * simulatedDurationFactor(input.prompt);
      const id = randomUUID();
      const cost = fails ? 0 : price;
      credits -= cost;
      const sequence = submissionCount + 1;
      const job: SimJob = { id, input, sequence, submittedAt: Date.now(), durationMs, fails, cost, expired: false, statusRequests: 0 };
      // Rendered while the job "runs", so the result is ready when it completes; errors surface when it is fetched.
      if (!fails) void videoOf(job);
      // On disk before it is answered: a simulator that stops after this still knows the job it accepted.
      store?.save(job);
      jobs.set(id, job);
      submissionCount += 1;
      const base = url();
      return json(200, {
        request_id: id,
        status: 'QUEUED',
        poll_url: `${base}/v1/requests/${id}`,
        status_url: `${base}/v2/requests/${id}/status`,
        response_url: `${base}/v2/requests/${id}`,
      });
    },

    report(id, full) {
      const job = liveJob(id);
      if (!job) return jsonError(404, `Request ${id} not found`);
      if (!full) return statusAnswer(job, Date.now());
      const now = Date.now();
      const answer = async () => {
        // JSON has no Infinity; unlimited credits show as a large balance.
        const remainingCredits = Number.isFinite(credits) ? Math.round(credits * 100) / 100 : 1_000_000;
        const fileUrl = `${url()}/files/${id}.mp4`;
        const fileSize = jobStatus(job, now) === 'COMPLETED' ? (await videoOf(job)).length : 0;
        return resultAnswer(job, now, { fileUrl, fileSize, remainingCredits });
      };
      return answer();
    },

    upload(body) {
      const dataUrls = (body as { data_urls?: unknown } | undefined)?.data_urls;
      if (!Array.isArray(dataUrls) || dataUrls.length === 0) return jsonError(400, 'data_urls must be a non-empty list');
      const files = [];
      for (const dataUrl of dataUrls) {
        const parsed = parseDataUrl(dataUrl);
        if (typeof parsed === 'string') return jsonError(400, parsed);
        files.push(parsed);
      }
      const fileUrls = files.map(({ contentType, extension, bytes }) => {
        const path = `/files/assets/${randomUUID()}.${extension}`;
        assets.set(path, { contentType, bytes });
        received.push({ contentType, bytes, url: `${url()}${path}`, at: new Date() });
        if (received.length > KEPT_UPLOADS) received.shift();
        return `${url()}${path}`;
      });
      return json(200, { file_urls: fileUrls });
    },

    file(path) {
      const asset = assets.get(path);
      if (asset) return { status: 200, headers: { 'content-type': asset.contentType }, body: asset.bytes };
      // Videos stay downloadable after the record expires, as on Segmind; they exist only once the job completed.
      const job = jobs.get(/^\/files\/([^/]+)\.mp4$/.exec(path)?.[1] ?? '');
      if (job && jobStatus(job, Date.now()) === 'COMPLETED') {
        return videoOf(job).then((body) => ({ status: 200, headers: { 'content-type': 'video/mp4' }, body }));
      }
      return jsonError(404, 'File not found');
    },

    sample: () => ({ status: 200, headers: { 'content-type': 'video/mp4' }, body: video ?? Buffer.alloc(0) }),

    countStatusRequest(id) {
      statusRequestCount += 1;
      const job = jobs.get(id);
      if (job) job.statusRequests += 1;
    },

    submissions: () => submissionCount,
    statusRequests: () => statusRequestCount,
    credits: () => (Number.isFinite(credits) ? credits : null),

    jobs() {
      const now = Date.now();
      return [...jobs.values()].map((job) => jobInfo(job, now, !liveJob(job.id)));
    },

    uploads: () => [...received],

    reset() {
      jobs.clear();
      store?.clear();
      assets.clear();
      received.length = 0;
      submissionCount = 0;
      statusRequestCount = 0;
      random = seededRandom(jitterSeed);
      credits = options.credits;
    },

    expire(id) {
      const job = jobs.get(id);
      if (!job) return false;
      job.expired = true;
      store?.save(job);
      return true;
    },
  };
}
