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
