import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { byteCounter, contentTypeOfKey, StorageCheckError, type VideoStorage } from './video-storage.js';
import { explainBucketError, isNotFound } from './s3-errors.js';

export interface S3StorageOptions {
  bucket: string;
  /** Unset: AWS S3 in `region`. */
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Prepended to every key, e.g. `videos/`. */
  prefix: string;
  /** Size of each multipart part; an upload holds about two in memory (one sent, one being filled). */
  partBytes: number;
  requestTimeoutMs: number;
  /** Credentials to use instead of the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Variables of the AWS SDK's default credential chain a deployment may set: the SDK reads them, not loadConfig. */
export const AWS_CREDENTIAL_VARIABLES: readonly string[] = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Pages of in-progress multipart uploads one sweep reads at most (1,000 each); the rest wait for the next. */
const MAX_LISTING_PAGES = 10;

/**
 * The S3 driver: objects in one bucket under a prefix, written by a streamed multipart upload (a part in flight
 * and the next being filled: about 15 MB per upload, whatever the video's size) that is aborted when the save
 * fails or is stopped, so no upload is left pending.
 */
export function createS3Storage(options: S3StorageOptions): VideoStorage {
  const { bucket, prefix } = options;
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle,
    ...(options.credentials && { credentials: options.credentials }),
    requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: Math.ceil(options.requestTimeoutMs / 6) },
    maxAttempts: 3,
    // Checksums only where S3 requires them: many S3-compatible services reject (or store verbatim) the
    // aws-chunked bodies and CRC trailers the SDK otherwise adds.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const objectKey = (key: string) => {
    if (!SAFE_KEY.test(key)) throw new Error(`invalid storage key "${key}"`);
    return `${prefix}${key}`;
  };
  const abortUpload = async (Key: string, UploadId: string) => {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    } catch (error) {
      // Already gone: lib-storage aborted it first.
      if (!isNotFound(error)) throw error;
    }
  };
  /** In-progress multipart uploads under `keyPrefix`, oldest pages first, bounded. */
  const pendingUploads = async (keyPrefix: string): Promise<MultipartUpload[]> => {
    const found: MultipartUpload[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (let page = 0; page < MAX_LISTING_PAGES; page++) {
      const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyPrefix, ...markers }));
      found.push(...(listing.Uploads ?? []));
      if (!listing.IsTruncated) break;
      markers = { ...(listing.NextKeyMarker && { KeyMarker: listing.NextKeyMarker }), ...(listing.NextUploadIdMarker && { UploadIdMarker: listing.NextUploadIdMarker }) };
    }
    return found;
  };
  const where = options.endpoint ? `${options.endpoint} (bucket ${bucket})` : `AWS S3 ${options.region} (bucket ${bucket})`;

  return {
    driver: 's3',
    async save(key, body, { maxBytes = Number.POSITIVE_INFINITY, signal } = {}) {
      const Key = objectKey(key);
      const counter = byteCounter(maxBytes);
      body.once('error', (error) => counter.destroy(error));
      counter.once('error', () => body.destroy());
      body.pipe(counter);
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key, Body: counter, ContentType: contentTypeOfKey(key) },
        partSize: options.partBytes,
        // One part in flight per upload: memory stays at about two parts, however large the video.
        queueSize: 1,
        leavePartsOnError: false,
      });
      const stop = () => {
        body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('the upload was stopped'));
        void upload.abort();
      };
      if (signal?.aborted) stop();
      else signal?.addEventListener('abort', stop, { once: true });
      try {
        await upload.done();
      } catch (error) {
        body.destroy();
        // lib-storage aborts the multipart upload too, but only after done() has rejected on an abort(): abort it
        // here as well, so that nothing is pending in the bucket once this save has failed.
        // An abort that fails too (the bucket is down) leaves the upload to retention's sweep; the save's own
        // error is what the caller must see.
        if (upload.uploadId) await abortUpload(Key, upload.uploadId).catch(() => undefined);
        throw error;
      } finally {
        signal?.removeEventListener('abort', stop);
      }
      return { sizeBytes: counter.bytes };
    },
    async size(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        return head.ContentLength ?? 0;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    read(key, range) {
      const Key = objectKey(key);
      const controller = new AbortController();
      async function* chunks(): AsyncGenerator<Buffer> {
        const { Body } = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key, ...(range && { Range: `bytes=${range.start}-${range.end}` }) }),
          { abortSignal: controller.signal },
        );
        const stream = Body as Readable;
        try {
          for await (const chunk of stream) yield chunk as Buffer;
        } finally {
          stream.destroy();
        }
      }
      const readable = Readable.from(chunks(), { objectMode: false });
      // A reader that goes away (a browser seeking elsewhere) ends the request to the bucket too.
      readable.once('close', () => controller.abort());
      return readable;
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    },
    async removePartials(key) {
      const Key = objectKey(key);
      for (const upload of await pendingUploads(Key)) {
        if (upload.Key === Key && upload.UploadId) await abortUpload(Key, upload.UploadId);
      }
    },
    async sweepPartials(olderThan) {
      let aborted = 0;
      for (const upload of await pendingUploads(prefix)) {
        if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue;
        await abortUpload(upload.Key, upload.UploadId);
        aborted += 1;
      }
      return aborted;
    },
    presignedUrl(key, expiresInSeconds) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { expiresIn: expiresInSeconds });
    },
    async check() {
      // Written and deleted at once: missing buckets, refused credentials and read-only keys show now, not at
      // the first finished video.
      const Key = `${prefix}.startup-check-${randomUUID()}`;
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'reelql start-up check', ContentType: 'text/plain' }));
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      } catch (error) {
        throw new StorageCheckError(explainBucketError(error, { bucket, region: options.region, endpoint: options.endpoint }), { cause: error });
      }
      return `videos are stored in ${where} under "${prefix}"`;
    },
  };
}
