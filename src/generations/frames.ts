import { createHash } from 'node:crypto';
import { VEO, EventType } from '../contract/tables.js';
import type { Db } from '../db/open.js';
import { getGeneration } from '../db/generations.js';
import { transition } from '../events/timeline.js';
import type { GenerationRow, NewGenerationRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { InputError, UploadFailedError } from './errors.js';

/**
 * Frames a client uploads instead of naming a URL: checked by their bytes, read once, and stored at Segmind's
 * asset storage, whose URLs then stand in for them.
 *
 * A generation with uploaded frames is admitted before its frames go to Segmind, so that the budget, the
 * active cap and the idempotency key are decided once, under the key's lock, and a refused request or a
 * repeat uploads nothing. Until its frames are stored the row is held by a lease that names the upload:
 * no worker claims it, and a repeat of the same request waits for it instead of uploading again.
 */

/** Google's limit for Veo input images. */
export const MAX_UPLOAD_BYTES = VEO.maxFrameBytes;

/** The frame cap in words, e.g. "20 MB". */
export const MAX_UPLOAD_SIZE = `${MAX_UPLOAD_BYTES / 1024 / 1024} MB`;

/** A multipart request carries up to two frames of MAX_UPLOAD_BYTES and its operation: 41 MB in all. */
export const MAX_MULTIPART_BODY_BYTES = 2 * MAX_UPLOAD_BYTES + 1024 * 1024;

const SIGNATURES: { type: string; matches: (b: Uint8Array) => boolean }[] = [
  { type: 'image/jpeg', matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    type: 'image/png',
    matches: (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => b[i] === byte),
  },
  {
    type: 'image/webp',
    matches: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP',
  },
];

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/**
 * Checks an uploaded frame by its bytes (the name and the declared type are the client's word, not proof)
 * and returns it as a data URL for Segmind's asset upload. Throws InputError naming `field`.
 */
export async function frameToDataUrl(field: string, file: File): Promise<string> {
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new InputError(field, `${field} must be at most ${MAX_UPLOAD_SIZE}; got ${(file.size / 1024 / 1024).toFixed(1)} MB.`);
  }
  if (file.size === 0) throw new InputError(field, `${field} is empty: send a JPEG, PNG or WebP image.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = SIGNATURES.find((signature) => signature.matches(bytes))?.type;
  if (!type) throw new InputError(field, `${field} must be a JPEG, PNG or WebP image; its contents are not.`);
  return `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** The frame fields that can be uploaded, and the URL field each stands in for. */
const FRAME_FIELDS = [
  ['imageFile', 'image'],
  ['lastFrameFile', 'lastFrame'],
] as const;

type FileField = (typeof FRAME_FIELDS)[number][0];
type UrlField = (typeof FRAME_FIELDS)[number][1];

/** A request's frame fields as sent: URLs and uploaded files. */
export type FrameFields = { [K in FileField]?: File | null } & { [K in UrlField]?: string | null };

/** An uploaded frame, checked and read once: its data URL for Segmind and its digest for idempotency. */
export interface Frame {
  urlField: UrlField;
  dataUrl: string;
  digest: string;
}

export type Frames = Partial<Record<FileField, Frame>>;

/** Checks and reads the uploaded frames (type, size, not alongside a URL) before anything goes upstream. */
export async function readFrames(input: FrameFields): Promise<Frames> {
  const frames: Frames = {};
  for (const [fileField, urlField] of FRAME_FIELDS) {
    const file = input[fileField];
    if (!file) continue;
    if (input[urlField]) throw new InputError(fileField, `Give ${urlField} or ${fileField}, not both.`);
    const dataUrl = await frameToDataUrl(fileField, file);
    frames[fileField] = { urlField, dataUrl, digest: createHash('sha256').update(dataUrl).digest('hex') };
  }
  return frames;
}

/** Uploaded frames stand in as placeholder URLs during validation, so every field rule applies to them too. */
export const placeholderUrls = (frames: Frames): Partial<Record<UrlField, string>> =>
  Object.fromEntries(Object.values(frames).map((frame) => [frame.urlField, `https://uploaded-frame.example/${frame.urlField}`]));

/** Stores the frames at Segmind's asset storage; returns the URL fields to use instead. */
export async function uploadFrames(
  upload: (dataUrls: string[]) => Promise<string[]>,
  frames: Frame[],
  log: Logger,
): Promise<Partial<Record<UrlField, string>>> {
  if (frames.length === 0) return {};
  let urls: string[];
  try {
    urls = await upload(frames.map((frame) => frame.dataUrl));
  } catch (error) {
    log.warn('frame upload failed', { err: error });
    throw new UploadFailedError();
  }
  return Object.fromEntries(frames.map((frame, i) => [frame.urlField, urls[i]]));
}

const UPLOAD_LEASE_PREFIX = 'upload:';

/** Extra time the lease outlives the pending deadline, so a worker that takes the row over sees it as late. */
const LEASE_MARGIN_MS = 10_000;

export const isAwaitingFrames = (row: GenerationRow) => row.leaseOwner?.startsWith(UPLOAD_LEASE_PREFIX) ?? false;

/**
 * The columns that park a new generation while its frames upload. Should this process die mid-upload, the
 * short deadline makes the first worker to take the row over fail it with TIMEOUT before any submit, and
 * a job Segmind never saw is not charged.
 */
export function awaitingFrames(id: string, now: Date, windowMs: number): Pick<NewGenerationRow, 'leaseOwner' | 'leaseExpiresAt' | 'deadlineAt'> {
  return {
    leaseOwner: `${UPLOAD_LEASE_PREFIX}${id}`,
    deadlineAt: new Date(now.getTime() + windowMs),
    leaseExpiresAt: new Date(now.getTime() + windowMs + LEASE_MARGIN_MS),
  };
}

/** Records the stored frames' URLs and hands the generation to the workers; null if it is no longer waiting. */
export function completeFrameUpload(
  db: Db,
  row: GenerationRow,
  urls: Partial<Record<UrlField, string>>,
  deadlineAt: Date,
): Promise<GenerationRow | null> {
  return transition(db, row.id, {
    from: ['QUEUED'],
    storyId: row.storyId,
    leaseOwner: row.leaseOwner ?? undefined,
    set: { ...urls, deadlineAt, leaseOwner: null, leaseExpiresAt: null, runAfter: new Date() },
    event: { type: EventType.FramesUploaded, message: 'The uploaded frames are stored at Segmind.' },
  });
}

/**
 * Waits for another request's upload of the same frames to end: the generation once its frames are stored
 * (or it ended otherwise), null when that upload failed and the row is gone, or the row as it is at `until`.
 */
export async function waitForFrames(db: Db, row: GenerationRow, until: Date, pollMs = 100): Promise<GenerationRow | null> {
  let current: GenerationRow | null = row;
  while (current && isAwaitingFrames(current) && Date.now() < until.getTime()) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    current = await getGeneration(db, row.id);
  }
  return current;
}
