import { isLoopbackHost } from '../config.js';

/** Which result URLs the worker may download from, and how. */
export interface DownloadPolicy {
  /** Host names; `*.example.com` matches subdomains of example.com. */
  allowedHosts: readonly string[];
  /** Redirects followed at most. @default 5 */
  maxRedirects?: number;
}

export class UnsafeDownloadError extends Error {
  override name = 'UnsafeDownloadError';
}


export function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  const host = hostname.toLowerCase();
  return allowedHosts.some((entry) => {
    const allowed = entry.toLowerCase();
    return allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) && host.length > allowed.length - 1 : host === allowed;
  });
}

/** Throws unless `url` is https on an allowed host, or plain http on a loopback host that is explicitly listed. */
export function assertDownloadable(url: URL, policy: DownloadPolicy): void {
  const listed = hostAllowed(url.hostname, policy.allowedHosts);
  const httpOk = url.protocol === 'http:' && isLoopbackHost(url.hostname) && listed;
  if (url.protocol !== 'https:' && !httpOk) {
    throw new UnsafeDownloadError(`refusing to download over ${url.protocol} from ${url.host}`);
  }
  if (!listed) throw new UnsafeDownloadError(`refusing to download from ${url.host}: not in SEGMIND_OUTPUT_HOSTS`);
}

/**
 * Fetches a result video, checking every hop: redirects are followed by hand so none can lead off the
 * allowlist (or to an internal address), and nothing is sent but a plain GET.
 */
export async function safeDownload(
  url: string,
  policy: DownloadPolicy,
  fetchImpl: typeof fetch,
  signal: AbortSignal,
): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; hop <= (policy.maxRedirects ?? 5); hop++) {
    assertDownloadable(current, policy);
    const response = await fetchImpl(current, { redirect: 'manual', signal });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    current = new URL(location, current);
  }
  throw new UnsafeDownloadError('too many redirects');
}
