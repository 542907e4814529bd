import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const require = createRequire(import.meta.url);

/** The parts of s3rver (untyped CommonJS) the harness uses. */
interface S3rverInstance {
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<unknown>)[];
  store: { getBucketPath(bucket: string): string; getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer: Server;
}
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
/** Not an object to s3rver: its listings take only files ending in `._S3rver_object`. */
const KEEP_FILE = '.kept-by-harness';

/** s3rver's fixed account: it checks the access key id (not the V4 signature). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  bucket: string;
  /** The variables that point a server process (or loadConfig) at this bucket, credentials included. */
  env: Record<string, string>;
  /** Multipart uploads begun and neither completed nor aborted, as ListMultipartUploads reports them. */
  pendingUploads(): Promise<{ key: string; uploadId: string }[]>;
  /** Every request s3rver received, as `METHOD /bucket/key?query-names`, e.g. `PUT /reelql-test/videos/x.mp4?partNumber&uploadId`. */
  requests: string[];
  /** Keys of the stored objects under `prefix`. */
  objectKeys(prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (a real S3 protocol server storing on disk) on a loopback port with one bucket, in its own temporary
 * directory. s3rver 3.7.1 lacks three multipart operations real S3 has, which the harness adds over s3rver's own
 * upload directories: AbortMultipartUpload (it answers 405), ListMultipartUploads (it answers NotImplemented) and
 * UploadPart's NoSuchUpload for an aborted upload (it would recreate the upload). Everything else is s3rver's.
 */
export async function startS3Server({
  bucket = 'reelql-test',
  listsMultipartUploads = true,
}: {
  bucket?: string;
  /** false: ListMultipartUploads answers NotImplemented, as s3rver alone (and some S3-compatible services) do. */
  listsMultipartUploads?: boolean;
} = {}): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'reelql-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    resetOnClose: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  const uploadsOf = (name: string) => server.store.getResourcePath(name, undefined, 'uploads');
  const uploadsIn = async (name: string) => {
    const root = uploadsOf(name);
    const ids = await readdir(root).catch(() => [] as string[]);
    const found: { key: string; uploadId: string; initiated: Date }[] = [];
    for (const uploadId of ids) {
      const keyFile = path.join(root, uploadId, 'key');
      if (!existsSync(keyFile)) continue;
      found.push({ key: await readFile(keyFile, 'utf8'), uploadId, initiated: (await stat(keyFile)).mtime });
    }
    return found;
  };
  const requests: string[] = [];
  server.middleware.unshift(async (ctx, next) => {
    // `x-id` only names the SDK's operation.
    const names = Object.keys(ctx.query).filter((name) => name !== 'x-id').sort().join('&');
    requests.push(`${ctx.method} ${ctx.path}${names ? `?${names}` : ''}`);
    await next();
  });
  /** UploadPart requests s3rver is still handling, by upload id. */
  const partsInFlight = new Map<string, Set<Promise<unknown>>>();
  /** Upload ids an AbortMultipartUpload has ended. */
  const aborted = new Set<string>();
  // Before s3rver's router (the last middleware), so these requests never reach its refusals.
  server.middleware.splice(server.middleware.length - 1, 0, async (ctx, next) => {
    const [, name, key] = /^\/([^/]+)\/?(.*)$/.exec(ctx.path) ?? [];
    if (!name) return next();
    const uploadId = ctx.query.uploadId;
    if (key?.includes('/') && (ctx.method === 'PUT' || ctx.method === 'POST') && existsSync(server.store.getBucketPath(name))) {
      // s3rver keeps "a/b" as the file b in the directory a, and a DELETE that empties a directory removes it,
      // racing any write under the same prefix (whose stream error it leaves unhandled, crashing the process).
      // Real S3 has no directories, so a file s3rver never lists keeps the directory from ever being empty (only
      // in a bucket that exists: a directory made for a missing one would make s3rver find it).
      const directory = path.dirname(server.store.getResourcePath(name, key, 'object'));
      await mkdir(directory, { recursive: true });
      await writeFile(path.join(directory, KEEP_FILE), '');
    }
    if (ctx.method === 'GET' && !key && 'uploads' in ctx.query && listsMultipartUploads) {
      const prefix = ctx.query.prefix ?? '';
      const uploads = (await uploadsIn(name)).filter((upload) => upload.key.startsWith(prefix));
      ctx.body = {
        ListMultipartUploadsResult: {
          Bucket: name,
          Prefix: prefix,
          IsTruncated: false,
          Upload: uploads.map((upload) => ({
            Key: upload.key,
            UploadId: upload.uploadId,
            Initiated: upload.initiated.toISOString(),
            StorageClass: 'STANDARD',
          })),
        },
      };
      return;
    }
    if (key && uploadId && (ctx.method === 'DELETE' || ctx.method === 'PUT')) {
      const dir = path.join(uploadsOf(name), uploadId);
      if (aborted.has(uploadId) || !existsSync(path.join(dir, 'key'))) {
        throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
      }
      if (ctx.method === 'DELETE') {
        // A part still being written would find its directory gone, and s3rver leaves that stream error
        // unhandled (crashing the process). So the upload is gone at once for every later request, and the
        // directory goes once the parts already in flight are written (a few seconds at most).
        aborted.add(uploadId);
        const writing = [...(partsInFlight.get(uploadId) ?? [])];
        await Promise.race([Promise.allSettled(writing), sleep(5000)]);
        await rm(dir, { recursive: true, force: true });
        ctx.status = 204;
        return;
      }
      const parts = partsInFlight.get(uploadId) ?? new Set<Promise<unknown>>();
      partsInFlight.set(uploadId, parts);
      const part = next();
      parts.add(part);
      try {
        return await part;
      } finally {
        parts.delete(part);
        if (parts.size === 0) partsInFlight.delete(uploadId);
      }
    }
    return next();
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    bucket,
    requests,
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    async pendingUploads() {
      const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (listing.Uploads ?? []).map((upload) => ({ key: upload.Key!, uploadId: upload.UploadId! }));
    },
    async objectKeys(prefix = '') {
      const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (listing.Contents ?? []).map((object) => object.Key!).sort();
    },
    async stop() {
      client.destroy();
      server.httpServer.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
