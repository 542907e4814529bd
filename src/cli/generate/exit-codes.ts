import { API_ERROR_CODES } from '../../contract/tables.js';

/** What the generate command's exit status means. `--help`, the README and the tests all read this table. */
export const EXIT_CODES = {
  SAVED: { code: 0, meaning: 'the video was saved' },
  UNEXPECTED: { code: 1, meaning: 'unexpected error: a bug, or the server answered something it should not' },
  USER: {
    code: 2,
    meaning:
      'the request cannot work as given: bad flags or input, a budget or active-generation limit, ' +
      'a reused idempotency key, a bad or missing API key, an unknown generation',
  },
  UPSTREAM: {
    code: 3,
    meaning: 'the generation failed (status FAILED, frame upload failed) or the server could not be reached',
  },
  CANCELED: {
    code: 4,
    meaning:
      'stopped with Ctrl-C: the generation was canceled, left running on the server (second Ctrl-C), ' +
      'or never submitted',
  },
} as const;

export type ExitKind = keyof typeof EXIT_CODES;

/** A failure with a message meant for the user and the exit code that says what kind it is. */
export class CliError extends Error {
  constructor(
    readonly kind: ExitKind,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind].code;
  }
}

/** The table as help text, one line per code. */
export const exitCodeLines = (indent = '  ') =>
  Object.values(EXIT_CODES)
    .map(({ code, meaning }) => `${indent}${code}  ${meaning}`)
    .join('\n');

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
    case API_ERROR_CODES.UNAUTHENTICATED:
      return new CliError('USER', `The server refused the API key: ${message}\nPass a valid key with --key or REELQL_API_KEY.`);
    case API_ERROR_CODES.BAD_USER_INPUT: {
      const field = typeof first.extensions?.field === 'string' ? ` (${first.extensions.field})` : '';
      return new CliError('USER', `Invalid input${field}: ${message}`);
    }
    case API_ERROR_CODES.NOT_FOUND:
      return new CliError('USER', message);
    case API_ERROR_CODES.RATE_LIMITED:
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
