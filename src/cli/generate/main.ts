/**
 * Turns a prompt into a video from the command line: `npm run generate -- "a prompt" [flags]` (see --help).
 * An entry file: it reads the arguments, the environment and the terminal, and exits with a code from EXIT_CODES.
 */
import { parseGenerateArgs, USAGE } from './args.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { keyPressFilter } from './follow.js';
import { runGenerate } from './generate.js';

async function main(): Promise<number> {
  const isNewPress = keyPressFilter();
  /** What Ctrl-C does now: set by the command while it has something to ask or stop. */
  let onInterrupt: (() => void) | undefined;
  process.on('SIGINT', () => {
    if (!isNewPress()) return;
    if (onInterrupt) return onInterrupt();
    // Nothing was submitted yet (or everything is done): stop at once.
    process.stderr.write('\nStopped.\n');
    process.exit(EXIT_CODES.CANCELED.code);
  });

  let parsed;
  try {
    parsed = parseGenerateArgs(process.argv.slice(2), process.env, process.cwd());
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return error.exitCode;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_CODES.SAVED.code;
  }
  return runGenerate(parsed.options, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    tty: process.stdout.isTTY === true,
    cwd: process.cwd(),
    onInterrupt(handler) {
      onInterrupt = handler;
      return () => {
        if (onInterrupt === handler) onInterrupt = undefined;
      };
    },
  });
}

process.exit(await main());
