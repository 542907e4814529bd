import { createInterface } from 'node:readline';

export type Answer = { kind: 'line'; line: string } | { kind: 'aborted' } | { kind: 'end' };

/**
 * Writes `question` and reads one line from `input`. Ends with `aborted` when `signal` fires first, and with
 * `end` when the input has ended, so no answer can ever come. Without readline's terminal mode, so Ctrl-C
 * stays a real SIGINT (the caller decides what a second one means) and the terminal echoes what is typed;
 * a pipe is read the same way.
 */
export function askLine(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  signal: AbortSignal,
): Promise<Answer> {
  output.write(question);
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    const finish = (answer: Answer) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      rl.close();
      resolve(answer);
    };
    const onAbort = () => finish({ kind: 'aborted' });
    rl.once('line', (line) => {
      // A terminal echoes what is typed; an answer from a pipe is shown so that logs read as a dialogue.
      if (!(input as { isTTY?: boolean }).isTTY) output.write(`${line}\n`);
      finish({ kind: 'line', line });
    });
    rl.once('close', () => {
      if (!done) output.write('\n');
      finish({ kind: 'end' });
    });
    if (signal.aborted) finish({ kind: 'aborted' });
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
