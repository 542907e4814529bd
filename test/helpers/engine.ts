import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through a {@link RecordingProxy}. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v2/requests/<id>/status`. */
  path: string;
  /** `Date.now()` when the request reached the proxy. */
  at: number;
}

/** A transparent HTTP proxy that remembers every request: what the workers asked Segmind, and when. */
export interface RecordingProxy {
  /** Base URL to use instead of the target's, e.g. as SEGMIND_BASE_URL. */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests with this method whose path matches, optionally only those that arrived after `since`. */
  count(method: string, path: RegExp, since?: number): number;
  stop(): Promise<void>;
}

/**
 * Starts a loopback proxy in front of `targetUrl` (e.g. the Segmind simulator). The simulator counts accepted
 * jobs only; the proxy also sees polls and refused or hung submits, which is what "asked again" assertions need.
 * A client giving up (timeout) cuts the upstream request too, as it would on the wire.
 */
export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', at: Date.now() });
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        // An answer cut off upstream is cut off here too, instead of leaving the client waiting for the rest.
        answer.on('close', () => {
          if (!answer.complete) res.destroy();
        });
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (method, path, since = Number.NEGATIVE_INFINITY) =>
      requests.filter((r) => r.method === method && path.test(r.path) && r.at > since).length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A query run every `intervalMs` until stopped; `stop()` resolves with every sample, oldest first. */
export function startSampler<T>(intervalMs: number, sample: () => Promise<T>): { stop(): Promise<T[]> } {
  const samples: T[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      samples.push(await sample());
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** The largest number of half-open intervals [start, end) that contain one same instant. */
export function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  // At equal times an end sorts before a start: a job that ends as another begins does not overlap it.
  const edges = intervals.flatMap(({ start, end }) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const { delta } of edges) {
    current += delta;
    max = Math.max(max, current);
  }
  return max;
}
