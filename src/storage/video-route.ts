import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { serverSecrets } from '../db/schema.js';
import { contentTypeOfKey, type VideoStorage } from './video-storage.js';

export const VIDEO_PATH_PREFIX = '/videos/';
/**
 * `/videos/<name>.mp4`, and its stills `/videos/<name>.poster.jpg` and `/videos/<name>.last.jpg`, where the name is a
 * generation's id or `story-<id>` for a story's stitched video; the storage key is the file name.
 */
const VIDEO_PATH = /^\/videos\/((?:story-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(mp4|poster\.jpg|last\.jpg)$/;

/** The public path of a stored video, by its name (a generation's id, or `story-<id>`). */
export const videoPath = (name: string) => `${VIDEO_PATH_PREFIX}${name}.mp4`;
/** The public paths of a stored video's first and last frame (JPEG). */
export const posterPath = (name: string) => `${VIDEO_PATH_PREFIX}${name}.poster.jpg`;
export const lastFramePath = (name: string) => `${VIDEO_PATH_PREFIX}${name}.last.jpg`;

/** The name a story's stitched video and its stills are stored, signed and served under. */
export const storyVideoKey = (storyId: string) => `story-${storyId}`;

type ByteRange = { start: number; end: number };

/** Parses a single `bytes=` range; 'unsatisfiable' for ranges outside the file, null to send it whole. */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple or malformed ranges: RFC 9110 lets us ignore the header and send the whole file.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [, first = '', last = ''] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves stored videos with Range support so browsers can seek, and their poster and last frame. A still's link
 * carries the video's token and passes the same checks. Returns false when the request is not for a video path,
 * so the caller can hand it on.
 */
export function createVideoHandler(
  storage: VideoStorage,
  options: {
    signingSecret: Buffer;
    /** Whether the key that owns this generation is still active: revoking a key ends its links too. */
    ownerIsActive: (generationId: string) => Promise<boolean>;
    /**
     * When set (a bucket that can presign), a checked request is answered with a 302 to a presigned GET valid for
     * this many seconds, and the bucket serves the bytes; otherwise this server streams them.
     */
    redirectSeconds?: number | undefined;
  },
) {
  return async function handleVideo(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(VIDEO_PATH_PREFIX)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed: use GET or HEAD.\n');
      return true;
    }
    const match = VIDEO_PATH.exec(url.pathname);
    // Links carry a signed, expiring token, so <video src> works without headers and only for the owner's
    // links. A bad token is refused before the file is looked up, so nothing reveals which videos exist.
    if (match && !verifyVideo(options.signingSecret, match[1]!, url.searchParams)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('This video link is invalid or expired: ask the API for a fresh video.url.\n');
      return true;
    }
    if (match && !(await options.ownerIsActive(match[1]!))) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('This video link was revoked with the API key that made it.\n');
      return true;
    }
    const key = match ? `${match[1]}.${match[2]}` : null;
    let size: number | null;
    try {
      size = key ? await storage.size(key) : null;
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('The video storage is not answering; try again shortly.\n');
      return true;
    }
    if (!key || size === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('No such video.\n');
      return true;
    }
    if (options.redirectSeconds !== undefined && storage.presignedUrl) {
      // Every rule above was checked by us; the presigned URL only lets this client fetch the bytes for a minute.
      const location = await storage.presignedUrl(key, options.redirectSeconds);
      res.writeHead(302, { location, 'cache-control': 'no-store' }).end();
      return true;
    }
    const headers = {
      'content-type': contentTypeOfKey(key),
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=3600',
    };
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return true;
    }
    if (range) {
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${range.start}-${range.end}/${size}`,
        'content-length': range.end - range.start + 1,
      });
    } else {
      res.writeHead(200, { ...headers, 'content-length': size });
    }
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return true;
    }
    try {
      await pipeline(storage.read(key, range ?? undefined), res);
    } catch {
      // The client went away mid-download; nothing to clean up beyond the stream itself.
      res.destroy();
    }
    return true;
  };
}

/** The secret that signs video URLs, shared by every replica through the database; made on first start. */
export async function loadVideoSigningSecret(db: Db): Promise<Buffer> {
  await db
    .insert(serverSecrets)
    .values({ name: 'video_url_signing', value: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select().from(serverSecrets).where(eq(serverSecrets.name, 'video_url_signing'));
  return Buffer.from(row!.value, 'base64url');
}

const signature = (secret: Buffer, id: string, expires: number) =>
  createHmac('sha256', secret).update(`${id}.${expires}`).digest('base64url');

/** `?expires=…&token=…` for a video URL that works in `<video src>` without headers until `expires`. */
export function signVideo(secret: Buffer, id: string, ttlSeconds: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  return `expires=${expires}&token=${signature(secret, id, expires)}`;
}

/** Whether the query of a video URL carries a valid, unexpired signature for this generation id. */
export function verifyVideo(secret: Buffer, id: string, query: URLSearchParams, now = Date.now()): boolean {
  const expires = Number(query.get('expires'));
  const token = query.get('token') ?? '';
  if (!Number.isInteger(expires) || expires < now / 1000) return false;
  const expected = Buffer.from(signature(secret, id, expires));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
