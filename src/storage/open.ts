import path from 'node:path';
import type { Config } from '../config/index.js';
import { createLocalStorage } from './local.js';
import type { VideoStorage } from './video-storage.js';

/**
 * The storage driver the configuration names, checked: a bucket must be reachable and writable (a small object
 * put and deleted), the local directory writable. Returns it with the line the start-up log shows.
 */
export async function openVideoStorage(config: Config['storage']): Promise<{ storage: VideoStorage; description: string }> {
  // The AWS SDK is loaded only for a bucket: a server storing videos elsewhere does not carry its modules.
  const storage =
    config.driver === 's3'
      ? (await import('./s3.js')).createS3Storage({
          // loadConfig refuses STORAGE_DRIVER=s3 without S3_BUCKET.
          bucket: config.s3Bucket!,
          endpoint: config.s3Endpoint,
          region: config.s3Region,
          forcePathStyle: config.s3ForcePathStyle,
          prefix: config.s3Prefix,
          partBytes: config.s3PartBytes,
          requestTimeoutMs: config.s3RequestTimeoutMs,
        })
      : await createLocalStorage(path.join(config.dataDir, 'videos'));
  return { storage, description: await storage.check() };
}
