import { cleanUpstreamText, redactSecrets } from './upstream-text.js';

/** What went wrong talking to Segmind, as data the worker can decide on. */
export type SegmindErrorKind =
  | 'bad_request'
  | 'unauthorized'
  | 'insufficient_credits'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'timeout';

/** Kinds where the same request may succeed later without anyone changing anything. */
const TRANSIENT_KINDS: ReadonlySet<SegmindErrorKind> = new Set(['rate_limited', 'server', 'network', 'timeout']);

/** Sentences a user can read; the upstream text (possibly an HTML page) goes to `upstreamMessage` only. */
const MESSAGES: Record<SegmindErrorKind, string> = {
  bad_request: 'Segmind rejected the request parameters.',
  unauthorized: 'Segmind rejected the API key.',
  insufficient_credits: 'The Segmind account does not have enough credits.',
  forbidden: 'Segmind refused access to this model.',
  not_found: 'Segmind does not know this model or request; request records expire one hour after submission.',
  gone: 'Segmind has retired this model.',
  rate_limited: 'Segmind is rate limiting this account; try again later.',
  server: 'Segmind had a server error; try again later.',
  network: 'Could not reach Segmind over the network.',
  timeout: 'Segmind did not answer in time.',
};

/** Longest upstream text an error keeps for the logs. */
const MAX_UPSTREAM_MESSAGE_LENGTH = 2000;

/** Options of {@link SegmindError}. */
export interface SegmindErrorOptions {
  kind: SegmindErrorKind;
  /** Replaces the default sentence for `kind`; must be readable by users. */
  message?: string;
  httpStatus?: number;
  retryAt?: Date;
  requestSent: boolean;
  upstreamMessage?: string;
  cause?: unknown;
}

/** Any failure of a Segmind call. `message` is safe to show; `upstreamMessage` is for logs. */
export class SegmindError extends Error {
  override readonly name = 'SegmindError';
  readonly kind: SegmindErrorKind;
  /** The HTTP status when Segmind (or a gateway) answered. */
  readonly httpStatus?: number;
  /** When a 429 says the limit resets (`x-rate-limit-reset-at-utc`). */
  readonly retryAt?: Date;
  /**
   * False only when the request certainly never reached Segmind (connection refused, DNS failure). True otherwise,
   * including timeouts and resets after sending: a submit may then have created a billed job.
   */
  readonly requestSent: boolean;
  /** Raw error text from Segmind or the network stack, truncated; never show it to users. */
  readonly upstreamMessage?: string;

  constructor(options: SegmindErrorOptions) {
    super(options.message ?? MESSAGES[options.kind], { cause: options.cause });
    this.kind = options.kind;
    this.requestSent = options.requestSent;
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
    if (options.retryAt !== undefined) this.retryAt = options.retryAt;
    // Logged, so made harmless here, once for every way an error is made: no NUL, lone surrogate or escape codes.
    if (options.upstreamMessage !== undefined) {
      this.upstreamMessage = cleanUpstreamText(options.upstreamMessage, { maxLength: MAX_UPSTREAM_MESSAGE_LENGTH });
    }
  }

  /**
   * Whether Segmind answered the call with a 2xx (whose body we could not use). For a submit that is an
   * accepted, billed job: it must never be sent again.
   */
  get answeredWith2xx(): boolean {
    return this.httpStatus !== undefined && this.httpStatus >= 200 && this.httpStatus < 300;
  }

  /** Whether trying the same call later may succeed (429, 5xx, network, timeout). */
  get transient(): boolean {
    return TRANSIENT_KINDS.has(this.kind);
  }
}

export function isSegmindError(error: unknown): error is SegmindError {
  return error instanceof SegmindError;
}

/** Which kind an HTTP status means. Redirects and unlisted 4xx (405, 413, 422 without a final status, …) count as bad requests. */
export function kindForHttpStatus(status: number): SegmindErrorKind {
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 402: case 406: return 'insufficient_credits';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 410: return 'gone';
    case 429: return 'rate_limited';
    // Segmind's API does not redirect; one that does is refused, never followed (it would repeat a submit).
    default: return status >= 300 && status < 500 ? 'bad_request' : 'server';
  }
}

/** Longer headers are not timestamps; they are not even parsed. */
const MAX_RESET_HEADER_LENGTH = 64;

/**
 * Reads `x-rate-limit-reset-at-utc`. Segmind documents only "a timestamp", so accept ISO strings and epoch
 * seconds or milliseconds (told apart by size: 1e11 s is the year 5138). Anything else, including numbers
 * no `Date` can hold, is undefined: the caller falls back to its own backoff. How long to wait for a valid
 * but distant time is the caller's cap, not ours.
 */
export function parseRateLimitReset(value: string | null | undefined): Date | undefined {
  const text = value?.trim();
  if (!text || text.length > MAX_RESET_HEADER_LENGTH) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    ms = n < 1e11 ? n * 1000 : n;
  } else {
    // A timestamp without a zone is UTC per the header's name; Date.parse would read it as local time.
    const hasZone = /(Z|[+-]\d\d:?\d\d|GMT|UTC)$/i.test(text);
    ms = Date.parse(hasZone || !/\d{2}:\d{2}/.test(text) ? text : `${text}Z`);
  }
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The `error` field of a JSON body, or the body itself when it is not JSON (e.g. an HTML gateway page). */
function upstreamText(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string') {
      return parsed.error;
    }
  } catch {
    // Not JSON: keep the raw text for the logs.
  }
  return body;
}

/** The error for a non-2xx HTTP answer. Never throws on odd bodies. */
export function segmindErrorFromResponse(status: number, headers: Headers, body: string): SegmindError {
  const kind = kindForHttpStatus(status);
  const retryAt = kind === 'rate_limited' ? parseRateLimitReset(headers.get('x-rate-limit-reset-at-utc')) : undefined;
  let message: string | undefined;
  if (retryAt) message = `Segmind is rate limiting this account; try again after ${retryAt.toISOString()}.`;
  else if (kind === 'server') message = `Segmind had a server error (HTTP ${status}); try again later.`;
  else if (status < 400) message = `Segmind answered with a redirect (HTTP ${status}), which is never followed.`;
  else if (kind === 'bad_request' && status !== 400) message = `Segmind rejected the request (HTTP ${status}).`;
  return new SegmindError({
    kind,
    httpStatus: status,
    requestSent: true,
    upstreamMessage: upstreamText(body),
    ...(message !== undefined && { message }),
    ...(retryAt && { retryAt }),
  });
}

/** Error codes that mean the connection never carried our request. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Node codes found on an error, its cause, and an AggregateError's members (Happy Eyeballs tries many addresses). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 4) return [];
  const codes: string[] = [];
  if ('code' in error && typeof error.code === 'string') codes.push(error.code);
  if ('cause' in error) codes.push(...errorCodes(error.cause, depth + 1));
  if (error instanceof AggregateError) for (const e of error.errors) codes.push(...errorCodes(e, depth + 1));
  return codes;
}

/**
 * The error for a fetch that threw: a timeout of ours, or a network failure. `httpStatus` is given when the
 * status line had already arrived and reading the body failed: Segmind answered, and for a 2xx submit that
 * means it accepted the job.
 */
export function segmindErrorFromFetchFailure(
  error: unknown,
  timeoutMs: number,
  httpStatus?: number,
  secrets: readonly string[] = [],
): SegmindError {
  const answered = httpStatus !== undefined && { httpStatus };
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new SegmindError({
      kind: 'timeout',
      message: `Segmind did not answer within ${timeoutMs} ms.`,
      requestSent: true,
      upstreamMessage: error.message,
      cause: error,
      ...answered,
    });
  }
  const codes = errorCodes(error);
  const notSent = httpStatus === undefined && codes.length > 0 && codes.every((code) => NOT_SENT_CODES.has(code));
  const detail = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
  return new SegmindError({
    kind: 'network',
    requestSent: !notSent,
    upstreamMessage: codes.length > 0 ? `${detail} (${[...new Set(codes)].join(', ')})` : detail,
    cause: error,
    ...answered,
  });
}
