import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSimAccount, type SimulatedUpload } from './account.js';
import {
  checkFault,
  createFaultQueue,
  faultAnswer,
  mergedAnswer,
  type SimulatorEndpoint,
  type SimulatorFault,
} from './faults.js';
import {
  htmlPage,
  isLoopback,
  json,
  jsonError,
  parseJsonBody,
  readBody,
  safeDecode,
  sendAnswer,
  sendPadded,
  sendStalled,
  sendCutOff,
  type SimAnswer,
} from './http.js';
import type { SimulatedJobInfo } from './jobs.js';
import { createClipRenderer, type ClipRenderer } from './clips.js';
import { ffmpegPath } from '../../media/ffmpeg.js';

/** Longest one clip may take to render; an 8 s 1080p clip takes about a second. */
const CLIP_TIMEOUT_MS = 60_000;

const STATUS_PATH = /^\/v2\/requests\/([^/]+)\/status$/;

export type { SimulatorEndpoint, SimulatorFault } from './faults.js';
export type { SimulatedJobInfo } from './jobs.js';
export type { SimulatedUpload } from './account.js';

/** Options of {@link createSegmindSimulator}. */
export interface SegmindSimulatorOptions {
  /** Requests without this `x-api-key` get 401. @default 'sim-key' */
  apiKey?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Time from submit to the final status; the first 5% is QUEUED, the rest PROCESSING. @default 15000 */
  processingMs?: number;
  /**
   * Random variation of each job's length, as a fraction: 0.1 makes every job take `processingMs` × a factor
   * drawn uniformly from [0.9, 1.1], as real jobs vary. From 0 to 1 (exclusive). @default 0
   */
  processingJitter?: number;
  /** Seed of the jitter's random sequence; the same seed gives the same job lengths in submit order. @default 1 */
  jitterSeed?: number;
  /** Status and result records answer 404 this long after submission (Segmind keeps them 1 hour). @default 3600000 */
  expiryMs?: number;
  /**
   * USD balance. Each accepted submit costs its price ($0.10/s, $0.15/s with audio); a submit costing more than is
   * left gets 402. @default Infinity
   */
  credits?: number;
  /** The slug served at `POST /v2/<model>`. @default 'veo-3.1-fast' */
  model?: string;
  /**
   * A directory to keep jobs in, so a simulator started again on it (in another process, after a crash) still
   * answers for the jobs it accepted, on the same wall-clock schedule. Credits and uploads are not kept.
   * @default undefined (jobs live in memory only)
   */
  stateDir?: string;
  /**
   * The ffmpeg that renders each job's clip (see clips.ts); when it cannot, the job gets the shipped 2-second
   * 320×180 sample and `warn` is told. @default the binary of @ffmpeg-installer/ffmpeg
   */
  ffmpegPath?: string;
  /** Where problems that do not fail a request are told. @default a line on stderr */
  warn?: (message: string) => void;
}

export interface SegmindSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`; throws before `start()`. */
  readonly url: string;
  /** Listens and returns the base URL. */
  start(): Promise<string>;
  /** Closes the server and every open socket, hung ones included. */
  stop(): Promise<void>;
  /**
   * Accepted (HTTP 200 or `acceptThenFail`) submissions since start or reset: the number of billed jobs. With
   * `stateDir`, those of earlier runs kept there count too.
   */
  submissions(): number;
  /** Status requests since start or reset, for known and unknown ids alike (each job counts its own too). */
  statusRequests(): number;
  jobs(): readonly SimulatedJobInfo[];
  /** The images the upload endpoint received since start or reset, oldest first (the last 100), decoded. */
  uploads(): readonly SimulatedUpload[];
  injectFault(fault: SimulatorFault): void;
  /** Forgets jobs, faults, uploads and submissions and refills the credits. */
  reset(): void;
  /** Makes a job's records answer 404 now, as after Segmind's hour. Returns false for unknown ids. */
  expire(requestId: string): boolean;
}

/**
 * A Segmind look-alike on a real loopback HTTP server: the v2 submit/status/result endpoints, the upload endpoint
 * and hosted files, with key checks, credits, expiry and injectable faults. Used by `npm start` without a key and
 * by tests.
 *
 * Prompts choose a job's outcome, so a test in another process can steer it without the simulator object:
 * - `[sim:fail]` — the job ends FAILED (HTTP 422) with a safety-block message containing "Support codes: 58061214";
 *   it is not charged.
 * - `[sim:slow]` — the job takes 10 × `processingMs`.
 *
 * Control endpoints (no key, loopback only): `POST /__sim/faults` (body: a {@link SimulatorFault}),
 * `GET /__sim/stats` → `{ submissions, credits, jobs }` (each job with its `statusRequests` and `completesAt`),
 * `POST /__sim/reset`, `POST /__sim/expire/<id>`.
 */
export function createSegmindSimulator(options: SegmindSimulatorOptions = {}): SegmindSimulator {
  const apiKey = options.apiKey ?? 'sim-key';
  const model = options.model ?? 'veo-3.1-fast';
  const processingJitter = options.processingJitter ?? 0;
  if (!(processingJitter >= 0 && processingJitter < 1)) {
    throw new RangeError(`processingJitter must be from 0 to below 1; got ${processingJitter}`);
  }

  let server: Server | undefined;
  let baseUrl: string | undefined;
  // Aborted by stop() so that delayed answers do not outlive the server.
  let lifetime = new AbortController();
  const faults = createFaultQueue();

  const url = () => {
    if (!baseUrl) throw new Error('The Segmind simulator is not started');
    return baseUrl;
  };

  const warn = options.warn ?? ((message: string) => process.stderr.write(`segmind simulator: ${message}\n`));
  let clips: ClipRenderer | undefined;
  try {
    clips = createClipRenderer({ ffmpeg: { path: ffmpegPath(options.ffmpegPath), timeoutMs: CLIP_TIMEOUT_MS }, warn });
  } catch (error) {
    warn(`no ffmpeg to render clips with, every job gets the sample video: ${String(error)}`);
  }
  const account = createSimAccount({
    clips,
    warn,
    processingMs: options.processingMs ?? 15_000,
    processingJitter,
    jitterSeed: options.jitterSeed ?? 1,
    expiryMs: options.expiryMs ?? 3_600_000,
    credits: options.credits ?? Infinity,
    stateDir: options.stateDir,
    url,
  });

  function control(method: string, path: string, body: unknown): SimAnswer {
    if (method === 'GET' && path === '/__sim/stats') {
      // Status request counts are per job; the body keeps its original top-level keys for existing clients.
      return json(200, { submissions: account.submissions(), credits: account.credits(), jobs: account.jobs() });
    }
    if (method !== 'POST') return htmlPage(405);
    if (path === '/__sim/faults') {
      const fault = checkFault(body);
      if (typeof fault === 'string') return jsonError(400, fault);
      simulator.injectFault(fault);
      return json(200, { ok: true });
    }
    if (path === '/__sim/reset') {
      simulator.reset();
      return json(200, { ok: true });
    }
    const expireId = /^\/__sim\/expire\/([^/]+)$/.exec(path)?.[1];
    if (expireId !== undefined) {
      return simulator.expire(expireId) ? json(200, { ok: true }) : jsonError(404, `Request ${expireId} not found`);
    }
    return jsonError(404, 'Not found');
  }

  type Route = { endpoint?: SimulatorEndpoint; needsKey?: boolean; run: (body: unknown) => SimAnswer | Promise<SimAnswer> };

  function route(method: string, path: string, req: IncomingMessage): Route {
    const answer = (a: SimAnswer): Route => ({ run: () => a });
    const only = (allowed: string[], r: Route): Route => (allowed.includes(method) ? r : answer(htmlPage(405)));
    if (path.startsWith('/__sim/')) {
      return isLoopback(req.socket.remoteAddress)
        ? { run: (body) => control(method, path, body) }
        : answer(jsonError(403, 'Control endpoints are loopback only'));
    }
    if (path === `/v2/${model}`) return only(['POST'], { endpoint: 'submit', needsKey: true, run: account.submit });
    const statusId = STATUS_PATH.exec(path)?.[1];
    if (statusId) return only(['GET'], { endpoint: 'status', needsKey: true, run: () => account.report(statusId, false) });
    const resultId = /^\/v[12]\/requests\/([^/]+)$/.exec(path)?.[1];
    if (resultId) return only(['GET'], { endpoint: 'result', needsKey: true, run: () => account.report(resultId, true) });
    if (/^\/v2\/[^/]+$/.test(path)) return answer(jsonError(404, `Model ${path.slice(4)} not found`));
    if (path === '/upload-asset') return only(['POST'], { endpoint: 'upload', needsKey: true, run: account.upload });
    if (path.startsWith('/files/')) return only(['GET', 'HEAD'], { endpoint: 'file', run: () => account.file(path) });
    return answer(jsonError(404, 'Not found'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const send = (answer: SimAnswer) => sendAnswer(res, answer, method === 'HEAD');
    const path = safeDecode(new URL(req.url ?? '/', 'http://sim').pathname);
    const raw = await readBody(req);
    if (!raw) return send(jsonError(413, 'Request body too large'));
    const r = route(method, path, req);
    // Counted as the request arrives, before key checks and faults: it is what the client spent.
    if (r.endpoint === 'status') account.countStatusRequest(STATUS_PATH.exec(path)?.[1] ?? '');
    const run = async (): Promise<SimAnswer> =>
      r.needsKey && req.headers['x-api-key'] !== apiKey
        ? jsonError(401, 'Invalid or missing API key')
        : r.run(parseJsonBody(raw));
    const fault = r.endpoint ? faults.take(r.endpoint) : undefined;
    if (!fault) return send(await run());
    const real = fault.acceptThenFail ? await run() : undefined;
    if (fault.delayMs) await sleep(fault.delayMs, undefined, { signal: lifetime.signal });
    if (fault.hang) return; // stop() destroys the socket
    let answer =
      fault.status !== undefined ? faultAnswer(fault, fault.status) : fault.serveSample ? account.sample() : (real ?? (await run()));
    if (fault.merge) answer = mergedAnswer(answer, fault.merge);
    if (fault.cutOff) return sendCutOff(res, answer);
    if (fault.stallAfterBytes !== undefined) return sendStalled(res, answer, fault.stallAfterBytes);
    if (fault.padding) return sendPadded(res, answer, fault.padding);
    send(answer);
  }

  const simulator: SegmindSimulator = {
    get url() {
      return url();
    },
    async start() {
      if (baseUrl) return baseUrl;
      await account.load();
      lifetime = new AbortController();
      const s = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
          if (lifetime.signal.aborted) return; // stopping: the socket is gone
          if (!res.headersSent) sendAnswer(res, jsonError(500, `Simulator error: ${String(error)}`));
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
      });
      server = s;
      const { address, port } = s.address() as AddressInfo;
      // A wildcard bind is still reached over loopback; IPv6 literals need brackets in URLs.
      const host = ['0.0.0.0', '::'].includes(address) ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
      baseUrl = `http://${host}:${port}`;
      return baseUrl;
    },
    async stop() {
      const s = server;
      if (!s) return;
      server = undefined;
      baseUrl = undefined;
      lifetime.abort();
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    submissions: account.submissions,
    statusRequests: account.statusRequests,
    jobs: account.jobs,
    uploads: account.uploads,
    injectFault(fault) {
      const checked = checkFault(fault);
      if (typeof checked === 'string') throw new TypeError(`Invalid simulator fault: ${checked}`);
      faults.add(checked);
    },
    reset() {
      account.reset();
      faults.clear();
    },
    expire: account.expire,
  };
  return simulator;
}
