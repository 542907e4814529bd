import { CliError } from './exit-codes.js';

/** A GraphQL error as it travels in a response. */
export interface WireError {
  message: string;
  extensions?: { code?: unknown; field?: unknown };
}

/** Turns errors the server answered (not errors returned as data) into a CliError of the right kind. */
export function errorFromGraphql(errors: readonly WireError[]): CliError {
  const first = errors[0];
  const message = first?.message ?? 'no message';
  switch (first?.extensions?.code) {
    case 'UNAUTHENTICATED':
      return new CliError('USER', `The server refused the API key: ${message}\nPass a valid key with --key or REELQL_API_KEY.`);
    case 'BAD_USER_INPUT': {
      const field = typeof first.extensions?.field === 'string' ? ` (${first.extensions.field})` : '';
      return new CliError('USER', `Invalid input${field}: ${message}`);
    }
    case 'NOT_FOUND':
      return new CliError('USER', message);
    case 'RATE_LIMITED':
      return new CliError('USER', `The server limits this key: ${message}`);
    default:
      return new CliError('UNEXPECTED', `The server answered with an error: ${errors.map((e) => e.message).join('; ')}`);
  }
}

/** Why a request could not reach the server, in words. */
export function unreachable(serverUrl: string, error: unknown): CliError {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new CliError('UPSTREAM', `The server at ${serverUrl} did not answer in time.`);
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new CliError(
    'UPSTREAM',
    `Cannot reach the reelql server at ${serverUrl} (${detail}). Is it running? Start it with npm start, or pass --url.`,
  );
}
