/**
 * Errors that only mean the other end went away: a closed tab, a killed CLI, a dropped network. They are normal
 * (every Ctrl-C of the generate command causes one), so they are logged at debug, on one line, never as failures.
 */
const CLIENT_GONE_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNABORTED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isClientGone(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && CLIENT_GONE_CODES.has(code)) || name === 'AbortError';
}

/** The one line a client-gone error is logged with: its code and message, no stack. */
export function clientGoneFields(error: unknown): { code: string | undefined; reason: string } {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'string' ? code : undefined, reason: typeof message === 'string' ? message : String(error) };
}
