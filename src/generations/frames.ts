import { VEO } from '../contract/veo.js';
import { InputError } from './errors.js';

/** Google's limit for Veo input images. */
export const MAX_UPLOAD_BYTES = VEO.maxFrameBytes;

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
    throw new InputError(field, `${field} must be at most 20 MB; got ${(file.size / 1024 / 1024).toFixed(1)} MB.`);
  }
  if (file.size === 0) throw new InputError(field, `${field} is empty: send a JPEG, PNG or WebP image.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = SIGNATURES.find((signature) => signature.matches(bytes))?.type;
  if (!type) throw new InputError(field, `${field} must be a JPEG, PNG or WebP image; its contents are not.`);
  return `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
}
