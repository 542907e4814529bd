import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from './helpers/s3.js';

// Two replicas starting at once each write and delete a check object under the same prefix. s3rver (unlike S3)
// removes a directory its DELETE empties, and a PUT into it then crashed the whole test process.
describe('the S3 test server under writes and deletes sharing a prefix', () => {
  let s3: S3Server;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startS3Server();
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('answers every one of two interleaved put-then-delete loops, as S3 would', async () => {
    const loop = async (name: string) => {
      for (let round = 0; round < 150; round += 1) {
        const Key = `videos/${name}-${round}`;
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: 'check' }));
        await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key }));
      }
    };
    await Promise.all([loop('api'), loop('worker')]);
    expect(await s3.objectKeys('videos/')).toEqual([]);
  });
});
