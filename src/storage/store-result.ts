import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { VideoStorage } from './local.js';
import { safeDownload, type DownloadPolicy } from './safe-download.js';
import { InvalidVideoError, verifyStoredVideo, type VerifiedVideo } from './probe.js';

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
  const { sizeBytes } = await storage.save(key, body, { maxBytes: options.maxBytes });
  return { sizeBytes, video: await verifyStoredVideo(storage, key) };
}
