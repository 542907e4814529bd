/** Small HTTP helpers of the Segmind simulator. */

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

/** An HTTP answer before it is written. */
export interface SimAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): SimAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** Segmind's error shape: a human message and no symbolic code. */
export function jsonError(status: number, message: string): SimAnswer {
  return json(status, { error: message });
}

/** Gateways and the 405 handler answer HTML, which clients must survive. */
export function htmlPage(status: number): SimAnswer {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const body =
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
  return { status, headers: { 'content-type': 'text/html' }, body };
}

export function sendAnswer(res: ServerResponse, answer: SimAnswer, headOnly = false): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(headOnly ? undefined : answer.body);
}

/**
 * Writes `answer` with `padding` spaces before its body's last character, chunk by chunk as the client reads,
 * and stops as soon as the client goes away. No Content-Length unless the answer's headers carry one.
 */
export async function sendPadded(res: ServerResponse, answer: SimAnswer, padding: number): Promise<void> {
  const body = Buffer.from(answer.body);
  let closed = false;
  res.once('close', () => (closed = true));
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  const write = async (bytes: Buffer) => {
    if (!closed && !res.write(bytes)) await drained();
  };
  res.writeHead(answer.status, answer.headers);
  await write(body.subarray(0, Math.max(0, body.length - 1)));
  const chunk = Buffer.alloc(64 * 1024, ' ');
  for (let left = padding; left > 0 && !closed; left -= chunk.length) {
    await write(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
  if (!closed) res.end(body.subarray(Math.max(0, body.length - 1)));
}

/** Writes the headers of `answer` (with its full length) and its first `bytes` bytes, then nothing more. */
export function sendStalled(res: ServerResponse, answer: SimAnswer, bytes: number): void {
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
  res.write(body.subarray(0, Math.min(bytes, body.length)));
}

/** Sends the head and the first half of the body, then cuts the connection: an answer cut off in transit. */
export function sendCutOff(res: ServerResponse, answer: SimAnswer): void {
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
}

/** The whole request body, or undefined past `maxBytes` (uploads carry base64 images of up to 20 MB). */
export async function readBody(req: IncomingMessage, maxBytes = 64 * 1024 * 1024): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The decoded path; malformed escapes are kept as they are and simply match no route. */
export function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}
