/**
 * The `extensions.code` of every error the API answers with (as opposed to errors returned as data, and to a
 * generation's failure code, which is the GenerationErrorCode enum). Clients switch on these, so the wire values
 * never change; the server, the CLI and the page all read them from here. Plain data: no imports, so the page
 * bundle and the CLI can take it without pulling in server code.
 */
export const API_ERROR_CODES = {
  /** The API key is missing, malformed, unknown or revoked (HTTP 401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** An argument is out of range or malformed; `extensions.field` names it when there is one. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The request itself cannot be read: an unreadable body, a malformed multipart request. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The id names no generation this key can see. */
  NOT_FOUND: 'NOT_FOUND',
  /** Too many requests, connections or subscriptions for this key at once. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A query-size limit (tokens, depth, aliases, cost) refused the operation; the message says how to get under it. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The database is unreachable for now (HTTP 503 with Retry-After). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];
