/** postgres.js and Node error codes for a database that cannot be reached or went away mid-query. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
/**
 * SQLSTATEs of a server shutting down or starting up, and of a database not accepting connections for now
 * (55000, e.g. during maintenance with `allow_connections false`); class 08 is "connection exception".
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '55000']);

/**
 * Whether an error (or what caused it: drizzle and GraphQL wrap the driver's error) means the database is
 * unreachable for now, rather than a bug: clients get a retryable 503 for it instead of "Unexpected error".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) {
      return true;
    }
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return false;
}
