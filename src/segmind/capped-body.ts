/** Reading an upstream answer without letting its size decide how much memory we spend. */

/** Largest Segmind JSON answer we read. Status and result answers are a few KB; this is generous. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** A body as far as it was read: its text, or `oversized` when it was larger than allowed and not kept. */
export type CappedBody = { text: string; oversized: false } | { text: ''; oversized: true };

/**
 * Reads `response`'s body as UTF-8 text, at most `maxBytes` of it. A Content-Length over the cap is refused
 * without reading a byte; a body that grows past the cap is canceled there, which closes the connection.
 */
export async function readCappedText(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<CappedBody> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return { text: '', oversized: true };
  }
  if (!response.body) return { text: '', oversized: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { text: '', oversized: true };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), oversized: false };
}
