import { STATUS_CODES } from 'node:http';
import { htmlPage, jsonError, type SimAnswer } from './http.js';

/** The endpoints a fault can target. `file` covers the hosted videos and uploaded assets. */
export type SimulatorEndpoint = 'submit' | 'status' | 'result' | 'upload' | 'file';

/** Makes the next matching request(s) misbehave. Inject in process or by `POST /__sim/faults`. */
export interface SimulatorFault {
  endpoint: SimulatorEndpoint;
  /** Answer this status. Omitted: answer normally, after `delayMs` (or never, with `hang`). */
  status?: number;
  /** Raw body, e.g. an HTML page. @default `{"error": "<reason>"}`, or an nginx HTML page for 502/503/504 */
  body?: string;
  /** For 429 the defaults are `x-rate-limit-reset-at-utc` (now + 2 s, ISO) and `x-rate-limit-remaining: 0`. */
  headers?: Record<string, string>;
  /** How many requests it affects. @default 1 */
  times?: number;
  /** Wait this long before answering. @default 0 */
  delayMs?: number;
  /**
   * Handle the request for real first (a submit creates, charges and counts the job), then answer the fault
   * instead: "Segmind accepted, but we never saw the answer".
   */
  acceptThenFail?: boolean;
  /** Never answer; the socket stays open until the client gives up or the simulator stops. */
  hang?: boolean;
  /**
   * Insert this many spaces before the body's last character (`{"status": "PROCESSING"}` stays valid JSON) and
   * stream them as the client reads, without a Content-Length unless `headers` sets one: a huge answer that
   * costs the simulator no memory.
   */
  padding?: number;
  /**
   * Send the status line, the headers (with the full Content-Length) and only this many bytes of the body, then
   * nothing more: a download that stops halfway. Without a status the real answer is cut.
   */
  stallAfterBytes?: number;
  /**
   * Send the status line, the headers (with the full `content-length`) and only the first half of the body, then
   * cut the connection: an answer that arrived but cannot be read.
   */
  cutOff?: boolean;
  /**
   * Answer for real, with these fields merged into the JSON body (objects one level deep), e.g.
   * `{ metrics: { cost: -100 } }` on a result: a well-formed answer carrying hostile values.
   */
  merge?: Record<string, unknown>;
  /**
   * For `file`: answer with the shipped sample (2 s, 320×180, with audio) instead of the job's own clip, whatever
   * the job asked: a result far from the request.
   */
  serveSample?: boolean;
}

const ENDPOINTS: readonly string[] = ['submit', 'status', 'result', 'upload', 'file'] satisfies SimulatorEndpoint[];

function isCount(value: unknown, min: number): boolean {
  return value === undefined || (Number.isInteger(value) && Number(value) >= min);
}

/** Checks a fault, which may come over HTTP as any JSON; a string says what is wrong with it. */
export function checkFault(value: unknown): SimulatorFault | string {
  if (typeof value !== 'object' || value === null) return 'a fault must be a JSON object';
  const fault = value as Partial<Record<keyof SimulatorFault, unknown>>;
  if (typeof fault.endpoint !== 'string' || !ENDPOINTS.includes(fault.endpoint)) {
    return `endpoint must be one of ${ENDPOINTS.join(', ')}`;
  }
  if (!isCount(fault.status, 100) || Number(fault.status) > 599) return 'status must be an HTTP status code';
  if (!isCount(fault.padding, 0)) return 'padding must be a whole number >= 0';
  if (!isCount(fault.stallAfterBytes, 0)) return 'stallAfterBytes must be a whole number >= 0';
  if (fault.merge !== undefined && (typeof fault.merge !== 'object' || fault.merge === null || Array.isArray(fault.merge))) {
    return 'merge must be a JSON object';
  }
  if (fault.serveSample !== undefined && (typeof fault.serveSample !== 'boolean' || fault.endpoint !== 'file')) {
    return 'serveSample must be true or false, and only for the file endpoint';
  }
  const acts = fault.status !== undefined || fault.hang || fault.delayMs || fault.cutOff || fault.merge !== undefined || fault.serveSample;
  if (!acts && fault.stallAfterBytes === undefined) {
    return 'a fault needs a status, delayMs, hang, stallAfterBytes, cutOff, merge or serveSample';
  }
  if (!isCount(fault.times, 1)) return 'times must be a whole number >= 1';
  if (!isCount(fault.delayMs, 0)) return 'delayMs must be a whole number >= 0';
  if (fault.body !== undefined && typeof fault.body !== 'string') return 'body must be a string';
  const headers = fault.headers;
  const headersOk =
    headers === undefined ||
    (typeof headers === 'object' && headers !== null && Object.values(headers).every((v) => typeof v === 'string'));
  if (!headersOk) return 'headers must map names to strings';
  return fault as SimulatorFault;
}

/** The answer a fault with a status gives, with Segmind-like defaults. */
export function faultAnswer(fault: SimulatorFault, status: number): SimAnswer {
  const defaults: Record<string, string> =
    status === 429
      ? { 'x-rate-limit-reset-at-utc': new Date(Date.now() + 2000).toISOString(), 'x-rate-limit-remaining': '0' }
      : {};
  let base: SimAnswer;
  if (fault.body !== undefined) {
    const contentType = fault.body.trimStart().startsWith('<') ? 'text/html' : 'application/json';
    base = { status, headers: { 'content-type': contentType }, body: fault.body };
  } else {
    base = [502, 503, 504].includes(status) ? htmlPage(status) : jsonError(status, STATUS_CODES[status] ?? 'Error');
  }
  const headers = Object.fromEntries(Object.entries(fault.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return { ...base, headers: { ...base.headers, ...defaults, ...headers } };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A real JSON answer with a fault's `merge` fields laid over it; objects merge one level deep. */
export function mergedAnswer(answer: SimAnswer, merge: Record<string, unknown>): SimAnswer {
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString());
  } catch {
    return answer;
  }
  if (!isObject(body)) return answer;
  const merged: Record<string, unknown> = { ...body };
  for (const [key, value] of Object.entries(merge)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? { ...current, ...value } : value;
  }
  return { ...answer, body: JSON.stringify(merged) };
}

/** Faults waiting for their requests, first injected first used. */
export function createFaultQueue() {
  let queue: { fault: SimulatorFault; remaining: number }[] = [];
  return {
    add(fault: SimulatorFault): void {
      queue.push({ fault, remaining: fault.times ?? 1 });
    },
    take(endpoint: SimulatorEndpoint): SimulatorFault | undefined {
      const entry = queue.find((e) => e.fault.endpoint === endpoint);
      if (entry && --entry.remaining <= 0) queue = queue.filter((e) => e !== entry);
      return entry?.fault;
    },
    clear(): void {
      queue = [];
    },
  };
}
