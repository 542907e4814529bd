import { SegmindError, segmindErrorFromFetchFailure, segmindErrorFromResponse } from './errors.js';
import { cleanUpstreamText, redactSecrets, upstreamMediaType, upstreamUrlProblem } from './upstream-text.js';
import type { ResultAnswer, SegmindJobStatus, StatusAnswer, SubmitAnswer, VeoInput } from './types.js';
import { DEFAULTS } from '../config/defaults.js';

/** Options of {@link createSegmindClient}. */
export interface SegmindClientOptions {
  /** e.g. `https://api.segmind.com`, or the simulator's URL. A trailing slash is ignored. */
  baseUrl: string;
  apiKey: string;
  /** @default 'veo-3.1-fast' */
  model?: string;
  /** @default SEGMIND_UPLOAD_URL's default (config/defaults.ts) */
  uploadUrl?: string;
  /** Injected in unit tests. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Per request, including reading the body. @default SEGMIND_REQUEST_TIMEOUT_MS's default */
  requestTimeoutMs?: number;
}

/** A typed client for Segmind's v2 async API. Every method throws {@link SegmindError} and nothing else. */
export interface SegmindClient {
  /** Starts a job. Each success is a new billed job: Segmind has no idempotency key, so never repeat blindly. */
  submit(input: VeoInput): Promise<SubmitAnswer>;
  /** Safe to repeat. A FAILED job (HTTP 422 with a final status) is an answer, not an error. */
  status(segmindRequestId: string): Promise<StatusAnswer>;
  /** Where the finished video is. Throws a `server` error while the job has no output yet. */
  result(segmindRequestId: string): Promise<ResultAnswer>;
  /** Hosts `data:` URLs (e.g. a user's first frame) and returns their http(s) URLs, in order. */
  upload(dataUrls: string[]): Promise<string[]>;
}

const JOB_STATUSES: readonly string[] = ['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED'] satisfies SegmindJobStatus[];

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * What a request id we can store and put in a URL looks like. Segmind's are a dashed UUID or 32 hex
 * characters; this allows any short id of URL-safe characters, and nothing a database would reject.
 */
const SEGMIND_REQUEST_ID = /^[A-Za-z0-9._~:-]{1,200}$/;

/** Segmind sends numbers sometimes as strings (`file_size`). */
function toNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** A size in bytes, or undefined for anything that is not a whole number a bigint column holds exactly. */
function toByteCount(value: unknown): number | undefined {
  const n = toNumber(value);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Longest excerpt of a FAILED job's message we keep: enough for a sentence and Google's support codes. */
export const MAX_JOB_ERROR_LENGTH = 300;

/** A status as Segmind names it, read case-insensitively; undefined when it is none of the four. */
function jobStatus(value: unknown): SegmindJobStatus | undefined {
  const status = typeof value === 'string' ? value.trim().toUpperCase() : undefined;
  return status !== undefined && JOB_STATUSES.includes(status) ? (status as SegmindJobStatus) : undefined;
}

/** A 2xx answer we cannot use: the call may still have had effects (a submit may have been billed). */
function unexpectedAnswer(what: string, status: number, body: string): SegmindError {
  return new SegmindError({
    kind: 'server',
    message: `Segmind sent an unexpected answer to ${what}.`,
    httpStatus: status,
    requestSent: true,
    upstreamMessage: body,
  });
}

export function createSegmindClient(options: SegmindClientOptions): SegmindClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const model = options.model ?? 'veo-3.1-fast';
  const uploadUrl = options.uploadUrl ?? DEFAULTS.segmind.uploadUrl.default;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULTS.segmind.requestTimeoutMs.default;
  const secrets = [options.apiKey];

  /**
   * One HTTP exchange; the timeout covers the body too, since a stalled body is as bad as a stalled answer.
   * A body over {@link MAX_ANSWER_BYTES} is not read: it comes back as a non-JSON text, so a 2xx with it is an
   * unexpected answer like any other unusable one, and an error status keeps its meaning.
   */
  async function call(method: 'GET' | 'POST', url: string, body?: unknown) {
    const headers: Record<string, string> = { 'x-api-key': options.apiKey, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // Known once the status line arrived: a body that then fails to arrive still came with an answer.
    let answeredStatus: number | undefined;
    try {
      const response = await fetchFn(url, {
        method,
        headers,
        signal: AbortSignal.timeout(timeoutMs),
        // Following a redirect would send a submit (a billed job) a second time, to wherever it points.
        redirect: 'manual',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      answeredStatus = response.status;
      const read = await readCappedText(response, MAX_ANSWER_BYTES);
      // An answer that echoes our key must not carry it into an error, a log line or a stored message.
      const text = redactSecrets(read.text, secrets);
      if (read.oversized) {
        const text = `Segmind's answer was larger than ${MAX_ANSWER_BYTES} bytes; it was not read.`;
        return { status: response.status, ok: response.ok, headers: response.headers, text, json: undefined };
      }
      return { status: response.status, ok: response.ok, headers: response.headers, text, json: parseJson(text) };
    } catch (error) {
      throw segmindErrorFromFetchFailure(error, timeoutMs, answeredStatus, secrets);
    }
  }

  function requestUrl(segmindRequestId: string, suffix = ''): string {
    return `${baseUrl}/v2/requests/${encodeURIComponent(segmindRequestId)}${suffix}`;
  }

  return {
    async submit(input) {
      const answer = await call('POST', `${baseUrl}/v2/${model}`, input);
      if (!answer.ok) throw segmindErrorFromResponse(answer.status, answer.headers, answer.text);
      // A 2xx is an accepted, billed job even when its id is missing or unusable: the error keeps the status,
      // which is how the worker knows never to send it again.
      const segmindRequestId = isRecord(answer.json) ? answer.json.request_id : undefined;
      if (typeof segmindRequestId !== 'string' || !SEGMIND_REQUEST_ID.test(segmindRequestId)) {
        throw unexpectedAnswer('a submit', answer.status, answer.text);
      }
      return { segmindRequestId };
    },

    async status(segmindRequestId) {
      const answer = await call('GET', requestUrl(segmindRequestId, '/status'));
      const json = isRecord(answer.json) ? answer.json : undefined;
      // A failed job answers 422 with a body like a status answer: that is news about the job, not a call failure.
      const status = jobStatus(json?.status);
      const failedAnswer = answer.status === 422 && status === 'FAILED';
      if (!answer.ok && !failedAnswer) throw segmindErrorFromResponse(answer.status, answer.headers, answer.text);
      if (status === undefined) throw unexpectedAnswer('a status poll', answer.status, answer.text);
      // Stored and shown as the generation's error: one clean line, short, without our key.
      const error =
        typeof json?.error === 'string'
          ? cleanUpstreamText(json.error, { maxLength: MAX_JOB_ERROR_LENGTH, secrets, singleLine: true })
          : '';
      return {
        status,
        metrics: isRecord(json?.metrics) ? json.metrics : {},
        ...(error !== '' && { error }),
      };
    },

    async result(segmindRequestId) {
      const answer = await call('GET', requestUrl(segmindRequestId));
      if (!answer.ok) throw segmindErrorFromResponse(answer.status, answer.headers, answer.text);
      const json = isRecord(answer.json) ? answer.json : {};
      const video = isRecord(json.video) ? json.video : {};
      const outputUrl = typeof json.output === 'string' && json.output !== '' ? json.output : video.url;
      const status = jobStatus(json.status);
      if (status === undefined) throw unexpectedAnswer('a result fetch', answer.status, answer.text);
      if (status !== 'COMPLETED' || outputUrl === undefined || outputUrl === '') {
        // Typically a job still QUEUED or PROCESSING: asking again later is right, hence the transient kind.
        throw new SegmindError({
          kind: 'server',
          message: `Segmind has no video for this request yet (status ${status}).`,
          httpStatus: answer.status,
          requestSent: true,
          upstreamMessage: answer.text,
        });
      }
      // The address is stored, logged and fetched: anything but a plain absolute http(s) URL is an unusable answer.
      const urlProblem = upstreamUrlProblem(outputUrl);
      if (urlProblem !== null) {
        throw new SegmindError({
          kind: 'server',
          message: `Segmind's result names ${urlProblem} for the video.`,
          httpStatus: answer.status,
          requestSent: true,
          upstreamMessage: answer.text,
        });
      }
      const fileSize = toByteCount(video.file_size);
      const metrics = isRecord(json.metrics) ? json.metrics : {};
      const cost = toNumber(metrics.cost);
      const queueSeconds = toNumber(metrics.queue_time);
      const inferenceSeconds = toNumber(metrics.inference_time);
      const totalSeconds =
        toNumber(metrics.total_time) ??
        (queueSeconds !== undefined && inferenceSeconds !== undefined ? queueSeconds + inferenceSeconds : undefined);
      return {
        status,
        outputUrl: outputUrl as string,
        contentType: upstreamMediaType(video.content_type) ?? 'video/mp4',
        ...(fileSize !== undefined && { fileSize }),
        ...(cost !== undefined && { cost }),
        ...(totalSeconds !== undefined && { totalSeconds }),
      };
    },

    async upload(dataUrls) {
      const answer = await call('POST', uploadUrl, { data_urls: dataUrls });
      if (!answer.ok) throw segmindErrorFromResponse(answer.status, answer.headers, answer.text);
      // The docs name the field `urls`, the official SDK reads `file_urls`; a bare list is tolerated too.
      const json = answer.json;
      const urls: unknown = Array.isArray(json) ? json : isRecord(json) ? (json.file_urls ?? json.urls) : undefined;
      // The URLs are stored as the generation's frames and sent to Segmind: each must be a plain http(s) URL.
      if (!Array.isArray(urls) || urls.length !== dataUrls.length || !urls.every((u) => upstreamUrlProblem(u) === null)) {
        throw unexpectedAnswer('an upload', answer.status, answer.text);
      }
      return urls as string[];
    },
  };
}

// Reading an upstream answer without letting its size decide how much memory we spend.

/** Largest Segmind JSON answer we read. Status and result answers are a few KB; this is generous. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** A body as far as it was read: its text, or `oversized` when it was larger than allowed and not kept. */
export type CappedBody = { text: string; oversized: false } | { text: ''; oversized: true };

/**
 * Reads `response`'s body as UTF-8 text, at most `maxBytes` of it. A Content-Length over the cap is refused
 * without reading a byte; a body that grows past the cap is canceled there, which closes the connection.
 */
export async function readCappedText(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<CappedBody> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return { text: '', oversized: true };
  }
  if (!response.body) return { text: '', oversized: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { text: '', oversized: true };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), oversized: false };
}
