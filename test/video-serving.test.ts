import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { collectWs, createWsClient, GENERATE, type TestGeneration as Generation, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import { fetchSimulatedVideo } from './helpers/videos.js';
import WebSocket from 'ws';
import { revokeApiKey } from '../src/auth/keys.js';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the path sent exactly as given (fetch would normalise `..` away). */
function rawRequest(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!hasPostgres)('serving a stored video', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let sample: Buffer;
  let size: number;
  let videoUrl: string;
  let videoPath: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 200 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });

    const created = await server.graphql<{ generateVideo: { generation: Generation } }>(GENERATE, {
      input: { prompt: 'a slow pan across a harbour at dawn', durationSeconds: 4 },
    });
    expect(created.errors).toBeUndefined();
    const client = createWsClient(server.url, { key: server.key });
    const { results, completed } = await collectWs<{ generationStatus: Generation }>(client, WATCH, {
      id: created.data!.generateVideo.generation.id,
    });
    await client.dispose();
    expect(completed).toBe(true);
    const final = results.at(-1)!.data!.generationStatus;
    expect(final.status).toBe('SUCCEEDED');
    // The stored file is the clip the simulator rendered for this job, byte for byte.
    sample = await fetchSimulatedVideo(sim.simulator.url, sim.simulator.jobs()[0]!.requestId);
    size = sample.length;
    expect(final.video).toEqual({ url: expect.any(String) as unknown, contentType: 'video/mp4', sizeBytes: size });
    videoUrl = final.video!.url;
    const link = new URL(videoUrl);
    expect(link.pathname).toBe(`/videos/${final.id}.mp4`);
    expect(link.searchParams.get('token')).toBeTruthy();
    videoPath = link.pathname + link.search;
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  it('answers GET with the whole file, its exact length and the headers a video player needs', async () => {
    const response = await fetch(videoUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe(String(size));
    expect(response.headers.get('content-range')).toBeNull();
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(size);
    expect(body.equals(sample)).toBe(true);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const response = await rawRequest(server.url, 'HEAD', videoPath);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(response.headers['content-length']).toBe(String(size));
    expect(response.body.length).toBe(0);
  });

  it('answers a closed range with 206 and exactly those bytes', async () => {
    const response = await fetch(videoUrl, { headers: { range: 'bytes=0-99' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect(response.headers.get('content-length')).toBe('100');
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(sample.subarray(0, 100))).toBe(true);
  });

  it('answers an open-ended range with the rest of the file', async () => {
    const response = await fetch(videoUrl, { headers: { range: 'bytes=100-' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100-${size - 1}/${size}`);
    expect(response.headers.get('content-length')).toBe(String(size - 100));
    expect(Buffer.from(await response.arrayBuffer()).equals(sample.subarray(100))).toBe(true);
  });

  it('answers a suffix range with the last bytes of the file', async () => {
    const response = await fetch(videoUrl, { headers: { range: 'bytes=-50' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${size - 50}-${size - 1}/${size}`);
    expect(response.headers.get('content-length')).toBe('50');
    expect(Buffer.from(await response.arrayBuffer()).equals(sample.subarray(size - 50))).toBe(true);
  });

  it('answers a range that starts past the end with 416 and the file size', async () => {
    for (const range of [`bytes=${size}-`, `bytes=${size + 1000}-${size + 2000}`]) {
      const response = await fetch(videoUrl, { headers: { range } });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${size}`);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('sends the whole file when asked for several ranges at once', async () => {
    const response = await fetch(videoUrl, { headers: { range: 'bytes=0-9,20-29' } });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(sample)).toBe(true);
  });

  it('answers 403 for a video link without a valid token, whether or not the video exists', async () => {
    const search = new URL(videoUrl).search;
    for (const path of [`/videos/${randomUUID()}.mp4`, `/videos/${randomUUID()}.mp4${search}`, new URL(videoUrl).pathname]) {
      const response = await rawRequest(server.url, 'GET', path);
      expect(response.status, path).toBe(403);
      expect(response.headers['content-type']).not.toBe('video/mp4');
    }
  });

  it('answers 404 for paths that are not video links', async () => {
    for (const path of ['/videos/not-a-generation.mp4', '/videos/', '/videos/x.webm']) {
      const response = await rawRequest(server.url, 'GET', path);
      expect(response.status, path).toBe(404);
      expect(response.headers['content-type']).not.toBe('video/mp4');
    }
  });

  it('answers 404 to path-traversal attempts and never leaks a file outside the video directory', async () => {
    const packageJson = await readFile(new URL('../package.json', import.meta.url), 'utf8');
    const attempts = [
      '/videos/..%2F..%2Fetc%2Fpasswd.mp4',
      '/videos/../package.json',
      '/videos/..%2Fpackage.json',
      '/videos/%2e%2e/%2e%2e/package.json',
      `/videos/..%2F..%2F..%2F${'..%2F'.repeat(8)}etc%2Fpasswd`,
      '/videos/%00.mp4',
    ];
    for (const path of attempts) {
      const response = await rawRequest(server.url, 'GET', path);
      expect(response.status, path).toBe(404);
      const text = response.body.toString('utf8');
      expect(text, path).not.toContain('root:');
      expect(text, path).not.toContain(packageJson.slice(0, 40));
    }
  });

  it('answers 405 with an Allow header to methods other than GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await rawRequest(server.url, method, videoPath);
      expect(response.status, method).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD');
    }
    // The video is still there afterwards.
    expect((await fetch(videoUrl, { method: 'HEAD' })).status).toBe(200);
  });

  it('serves two overlapping range requests in parallel, as a browser seeking does', async () => {
    const middle = Math.floor(size / 2);
    const [first, second] = await Promise.all([
      fetch(videoUrl, { headers: { range: `bytes=0-${middle + 1000}` } }),
      fetch(videoUrl, { headers: { range: `bytes=${middle}-` } }),
    ]);
    expect(first.status).toBe(206);
    expect(second.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-${middle + 1000}/${size}`);
    expect(second.headers.get('content-range')).toBe(`bytes ${middle}-${size - 1}/${size}`);
    const [a, b] = await Promise.all([first.arrayBuffer(), second.arrayBuffer()]);
    expect(Buffer.from(a).equals(sample.subarray(0, middle + 1001))).toBe(true);
    expect(Buffer.from(b).equals(sample.subarray(middle))).toBe(true);
  });

  it('keeps serving after a client hangs up in the middle of a download', async () => {
    const { hostname, port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: hostname, port, path: videoPath, agent: false }, (res) => {
        // Hang up as soon as the first bytes arrive, as a browser does when the user seeks away.
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
      req.end();
    });

    const again = await fetch(videoUrl, { headers: { range: 'bytes=1000-1999' } });
    expect(again.status).toBe(206);
    expect(Buffer.from(await again.arrayBuffer()).equals(sample.subarray(1000, 2000))).toBe(true);
  });

  it("stops serving a key's video links the moment the revocation reaches the server, cached answers included, and only that key's", async () => {
    const owner = await createKeyIn(database.url);
    const created = await server.graphql<{ generateVideo: { generation: Generation } }>(
      GENERATE,
      { input: { prompt: 'a link that will be revoked', durationSeconds: 4 } },
      { authorization: `Bearer ${owner.key}` },
    );
    const client = createWsClient(server.url, { key: owner.key });
    const { results } = await collectWs<{ generationStatus: Generation }>(client, WATCH, {
      id: created.data!.generateVideo.generation.id,
    });
    await client.dispose();
    const link = results.at(-1)!.data!.generationStatus.video!.url;
    // Twice, so the second answer comes from the cached owner-key check that revocation must clear.
    expect((await fetch(link)).status).toBe(200);
    expect((await fetch(link, { headers: { range: 'bytes=0-99' } })).status).toBe(206);

    // The revocation reaches this server by the NOTIFY that also closes the key's sockets: once one is closed,
    // the very next request for the link is refused.
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${owner.key}` } })));
      socket.once('message', () => resolve());
    });
    expect(await revokeApiKey(dbOf(database), owner.apiKey.name)).not.toBeNull();
    expect(await closed).toBe(4403);
    const refused = await fetch(link);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('revoked');
    // Another key's link is untouched.
    expect((await fetch(videoUrl)).status).toBe(200);
  });
});
