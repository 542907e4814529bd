import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isLoopbackHost } from '../contract/tables.js';
import { hostAllowed, upstreamUrlProblem } from '../segmind/upstream-text.js';
import type { VideoStorage } from './video-storage.js';
import { InvalidVideoError, verifyStoredVideo, type VerifiedVideo } from './probe.js';
import { DEFAULTS } from '../config/defaults.js';

/** Which result URLs the worker may download from, and how long it waits on them. */
export interface DownloadPolicy {
  /**
   * `host` or `host:port` entries; `*.example.com` matches subdomains of example.com. An entry without a port
   * allows only the scheme's default port (443 for https, 80 for http).
   */
  allowedHosts: readonly string[];
  /** Redirects followed at most. @default 5 */
  maxRedirects?: number;
  /** The connection and the response headers (of each redirect hop) must arrive within this. @default SEGMIND_REQUEST_TIMEOUT_MS's default */
  headersTimeoutMs?: number;
  /** Longest wait for the next bytes of the body. @default SEGMIND_REQUEST_TIMEOUT_MS's default */
  idleTimeoutMs?: number;
}

export class UnsafeDownloadError extends Error {
  override name = 'UnsafeDownloadError';
}

/** A download that stopped answering; retrying it may work. */
export class DownloadTimeoutError extends Error {
  override name = 'DownloadTimeoutError';
}

/** Throws unless `url` is https on an allowed host, or plain http on a loopback host that is explicitly listed. */
export function assertDownloadable(url: URL, policy: DownloadPolicy): void {
  // A redirect's Location is upstream's word like the result itself: the same rules, or no request at all.
  const problem = upstreamUrlProblem(url.href);
  if (problem !== null) throw new UnsafeDownloadError(`refusing to download from ${problem}`);
  const listed = hostAllowed(url, policy.allowedHosts);
  const httpOk = url.protocol === 'http:' && isLoopbackHost(url.hostname) && listed;
  if (url.protocol !== 'https:' && !httpOk) {
    throw new UnsafeDownloadError(`refusing to download over ${url.protocol} from ${url.host}`);
  }
  if (!listed) throw new UnsafeDownloadError(`refusing to download from ${url.host}: host and port not in SEGMIND_OUTPUT_HOSTS`);
}

/**
 * Fetches a result video, checking every hop: redirects are followed by hand so none can lead off the
 * allowlist (or to an internal address), and nothing is sent but a plain GET. Nothing may hang it: each hop
 * must answer within `headersTimeoutMs`, and the body of the answer returned errors with a
 * {@link DownloadTimeoutError} when no bytes come for `idleTimeoutMs`. Aborting `signal` stops it all.
 */
export async function safeDownload(
  url: string,
  policy: DownloadPolicy,
  fetchImpl: typeof fetch,
  signal: AbortSignal,
): Promise<Response> {
  const headersTimeoutMs = policy.headersTimeoutMs ?? DEFAULTS.segmind.requestTimeoutMs.default;
  const idleTimeoutMs = policy.idleTimeoutMs ?? DEFAULTS.segmind.requestTimeoutMs.default;
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, what: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new DownloadTimeoutError(`${what} within ${ms} ms`)), ms);
    timer.unref();
  };
  const disarm = () => clearTimeout(timer);
  const finish = () => {
    disarm();
    signal.removeEventListener('abort', forward);
  };
  /** Our own timeout's error rather than whatever the fetch implementation made of the abort. */
  const reasonFor = (error: unknown) => {
    const reason: unknown = controller.signal.reason;
    return reason instanceof DownloadTimeoutError ? reason : error;
  };

  try {
    let current = new URL(url);
    for (let hop = 0; hop <= (policy.maxRedirects ?? 5); hop++) {
      assertDownloadable(current, policy);
      arm(headersTimeoutMs, `no answer from ${current.host}`);
      const response = await fetchImpl(current, { redirect: 'manual', signal: controller.signal });
      disarm();
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        if (!response.body) {
          finish();
          return response;
        }
        const idle = { arm: () => arm(idleTimeoutMs, 'no bytes'), disarm, finish, reasonFor };
        return new Response(watchIdle(response.body, idle), {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      }
      await response.body?.cancel();
      current = new URL(location, current);
    }
    throw new UnsafeDownloadError('too many redirects');
  } catch (error) {
    finish();
    throw reasonFor(error);
  }
}

/** `body`, with the idle timer armed whenever we wait for its next chunk (not while our consumer is slow). */
function watchIdle(
  body: ReadableStream<Uint8Array>,
  idle: { arm: () => void; disarm: () => void; finish: () => void; reasonFor: (error: unknown) => unknown },
): ReadableStream<Uint8Array> {
  const { finish, reasonFor } = idle;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(stream) {
      idle.arm();
      try {
        const { done, value } = await reader.read();
        idle.disarm();
        if (done) {
          finish();
          stream.close();
        } else {
          stream.enqueue(value);
        }
      } catch (error) {
        finish();
        stream.error(reasonFor(error));
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason);
    },
  });
}

export interface StoreResultOptions {
  url: string;
  key: string;
  storage: VideoStorage;
  policy: DownloadPolicy;
  fetch: typeof fetch;
  maxBytes: number;
  /** Aborts the download wherever it is (a stop request, the generation's deadline). */
  signal: AbortSignal;
}

/**
 * One download of a result into storage under `key`, then the check that it is an MP4 video. Throws
 * {@link InvalidVideoError} (the stored file is left for the caller to remove), a download's own errors, or
 * whatever the abort of `signal` caused.
 */
export async function storeResult(options: StoreResultOptions): Promise<{ sizeBytes: number; video: VerifiedVideo }> {
  const { storage, key } = options;
  const response = await safeDownload(options.url, options.policy, options.fetch, options.signal);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`download answered HTTP ${response.status}`);
  }
  if (!response.body) throw new InvalidVideoError('the download had no body');
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  // The signal stops the upload too (for a bucket: aborts the multipart upload), not just the download.
  const { sizeBytes } = await storage.save(key, body, { maxBytes: options.maxBytes, signal: options.signal });
  return { sizeBytes, video: await verifyStoredVideo(storage, key) };
}
