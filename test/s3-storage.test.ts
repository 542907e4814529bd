import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyStoredVideo } from '../src/storage/probe.js';
import { createS3Storage, type S3StorageOptions } from '../src/storage/s3.js';
import { StorageCheckError, VideoTooLargeError, type VideoStorage } from '../src/storage/video-storage.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';
import { paddedVideo, readSampleVideo } from './helpers/videos.js';
import { waitFor } from './helpers/wait.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** A body that sends `bytes` in 64 KiB chunks and then, with `stallAtEnd`, never ends. */
function slowBody(bytes: Buffer, { stallAtEnd = false } = {}): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes.length) {
        if (!stallAtEnd) this.push(null);
        return;
      }
      const chunk = bytes.subarray(offset, offset + 64 * 1024);
      offset += chunk.length;
      this.push(chunk);
    },
  });
}

const collect = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('the s3 storage driver against a real S3 protocol server', () => {
  let s3: S3Server;
  let storage: VideoStorage;
  let sample: Buffer;
  const driverFor = (overrides: Partial<S3StorageOptions> = {}) =>
    createS3Storage({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      prefix: 'videos/',
      partBytes: PART,
      requestTimeoutMs: 5000,
      credentials: S3RVER_CREDENTIALS,
      ...overrides,
    });

  beforeAll(async () => {
    sample = await readSampleVideo();
    s3 = await startS3Server();
    storage = driverFor();
  });
  afterAll(() => s3?.stop());
  beforeEach(() => void s3.requests.splice(0));

  it('stores a small video in one put under the prefix, and reads it back whole and by byte range', async () => {
    const { sizeBytes } = await storage.save('small.mp4', Readable.from([sample]));
    expect(sizeBytes).toBe(sample.length);
    expect(await s3.objectKeys()).toContain('videos/small.mp4');
    expect(s3.requests.filter((r) => r.startsWith('PUT /reelql-test/videos/small.mp4'))).toEqual(['PUT /reelql-test/videos/small.mp4']);
    expect(await storage.size('small.mp4')).toBe(sample.length);
    expect((await collect(storage.read('small.mp4'))).equals(sample)).toBe(true);
    expect((await collect(storage.read('small.mp4', { start: 100, end: 1099 }))).equals(sample.subarray(100, 1100))).toBe(true);
    expect(await verifyStoredVideo(storage, 'small.mp4')).toMatchObject({ contentType: 'video/mp4' });
  });

  it('streams a video larger than a part as a multipart upload, part by part, and the probe verifies it by ranges', async () => {
    const video = paddedVideo(sample, 2 * PART + 123_456);
    const { sizeBytes } = await storage.save('large.mp4', slowBody(video));
    expect(sizeBytes).toBe(video.length);
    const uploads = s3.requests.filter((r) => r.includes('/videos/large.mp4'));
    expect(uploads).toEqual([
      'POST /reelql-test/videos/large.mp4?uploads',
      'PUT /reelql-test/videos/large.mp4?partNumber&uploadId',
      'PUT /reelql-test/videos/large.mp4?partNumber&uploadId',
      'PUT /reelql-test/videos/large.mp4?partNumber&uploadId',
      'POST /reelql-test/videos/large.mp4?uploadId',
    ]);
    expect(await s3.pendingUploads()).toEqual([]);
    expect(await storage.size('large.mp4')).toBe(video.length);
    expect((await collect(storage.read('large.mp4', { start: PART - 10, end: PART + 9 }))).equals(video.subarray(PART - 10, PART + 10))).toBe(true);
    s3.requests.splice(0);
    expect((await verifyStoredVideo(storage, 'large.mp4')).durationSeconds).toBeGreaterThan(0);
    // The probe reads boxes and a frame by ranges: a handful of small GETs, never the 10 MB file.
    const reads = s3.requests.filter((r) => r.startsWith('GET /reelql-test/videos/large.mp4'));
    expect(reads.length).toBeGreaterThan(0);
  });

  it('aborts the multipart upload when the save is stopped midway, leaving no object and no pending upload', async () => {
    const controller = new AbortController();
    // Two parts' worth arrive, then the download hangs, as a stalled upstream does.
    const saving = storage.save('stopped.mp4', slowBody(paddedVideo(sample, 2 * PART + 1000), { stallAtEnd: true }), { signal: controller.signal });
    await waitFor('the first part to be uploaded', () => s3.requests.some((r) => r.startsWith('PUT /reelql-test/videos/stopped.mp4?partNumber')));
    controller.abort(new Error('the generation was canceled'));
    await expect(saving).rejects.toThrow();
    expect(s3.requests).toContain('DELETE /reelql-test/videos/stopped.mp4?uploadId');
    expect(await s3.pendingUploads()).toEqual([]);
    expect(await s3.objectKeys()).not.toContain('videos/stopped.mp4');
    expect(await storage.size('stopped.mp4')).toBeNull();
  });

  it('refuses a body larger than its limit, aborting the upload it had begun', async () => {
    const saving = storage.save('too-large.mp4', slowBody(paddedVideo(sample, 2 * PART)), { maxBytes: PART + 1 });
    await expect(saving).rejects.toBeInstanceOf(VideoTooLargeError);
    expect(await s3.pendingUploads()).toEqual([]);
    expect(await storage.size('too-large.mp4')).toBeNull();
  });

  it('removes an object, and reports a missing one as absent', async () => {
    await storage.save('doomed.mp4', Readable.from([sample]));
    await storage.remove('doomed.mp4');
    expect(await storage.size('doomed.mp4')).toBeNull();
    expect(await s3.objectKeys()).not.toContain('videos/doomed.mp4');
    await expect(storage.remove('doomed.mp4')).resolves.toBeUndefined();
  });

  it('aborts the uploads a killed process left pending: those of one key, and old ones under the prefix', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const begin = (Key: string) => client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
    await begin('videos/killed-a.mp4');
    await begin('videos/killed-b.mp4');
    await begin('elsewhere/not-ours.mp4');
    expect((await s3.pendingUploads()).map((u) => u.key).sort()).toEqual(['elsewhere/not-ours.mp4', 'videos/killed-a.mp4', 'videos/killed-b.mp4']);

    await storage.removePartials('killed-a.mp4');
    expect((await s3.pendingUploads()).map((u) => u.key).sort()).toEqual(['elsewhere/not-ours.mp4', 'videos/killed-b.mp4']);
    // Not old enough yet: a live upload elsewhere may still be writing it.
    expect(await storage.sweepPartials(new Date(Date.now() - 60_000))).toBe(0);
    expect(await storage.sweepPartials(new Date(Date.now() + 60_000))).toBe(1);
    expect((await s3.pendingUploads()).map((u) => u.key)).toEqual(['elsewhere/not-ours.mp4']);
    client.destroy();
  });

  it('signs a GET that the bucket serves, with Range, to anyone holding it', async () => {
    await storage.save('signed.mp4', Readable.from([sample]));
    const url = new URL(await storage.presignedUrl!('signed.mp4', 60));
    expect(url.origin).toBe(s3.endpoint);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    const response = await fetch(url, { headers: { range: 'bytes=0-99' } });
    expect(response.status).toBe(206);
    expect(Buffer.from(await response.arrayBuffer()).equals(sample.subarray(0, 100))).toBe(true);
  });

  it('passes its start-up check on a writable bucket, leaving nothing behind', async () => {
    const before = await s3.objectKeys();
    expect(await storage.check()).toContain(`bucket ${s3.bucket}`);
    expect(await s3.objectKeys()).toEqual(before);
  });

  it.each([
    ['a bucket that does not exist', { bucket: 'no-such-bucket' }, /S3_BUCKET "no-such-bucket" does not exist/],
    ['an access key the server does not know', { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'x' } }, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
    ['an endpoint where nothing listens', { endpoint: 'http://127.0.0.1:9' }, /cannot be reached at S3_ENDPOINT http:\/\/127\.0\.0\.1:9/],
  ] as const)('fails its start-up check on %s, naming the setting to fix', async (_what, overrides, message) => {
    const check = driverFor(overrides).check();
    await expect(check).rejects.toBeInstanceOf(StorageCheckError);
    await expect(check).rejects.toThrow(message);
  });
});
