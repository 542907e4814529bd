import { createInterface } from 'node:readline';
import { CliError } from './exit-codes.js';
import type { CancelResult, Terminal } from './generate.js';
import type { ProgressView } from './progress.js';
import { FINAL_STATUSES, type Followed, type StatusWatch } from './watch.js';

/**
 * One Ctrl-C can arrive twice: the terminal sends SIGINT to the whole foreground process group, and `npm run`
 * (in that group) relays its own copy to its child a moment later. SIGINTs this close together are one key press,
 * so the relayed copy cannot count as the "second Ctrl-C" that leaves a generation running. A person who reads
 * the question and presses again is far slower than this.
 */
export const SAME_PRESS_MS = 300;

/** Returns a function that says, for each SIGINT as it arrives, whether it is a new key press. */
export function keyPressFilter(now: () => number = () => performance.now()): () => boolean {
  let last = -Infinity;
  return () => {
    const at = now();
    const isNew = at - last >= SAME_PRESS_MS;
    last = at;
    return isNew;
  };
}

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

export type FollowOutcome<T extends Followed> =
  | { kind: 'final'; generation: T }
  | { kind: 'canceled'; chargeMayApply: boolean }
  /** A second Ctrl-C while the question was open (or no answer can be read): the generation goes on without us. */
  | { kind: 'left' };

export interface FollowOptions<T extends Followed> {
  id: string;
  /** What Ctrl-C's question offers to cancel. @default `generation <id>` */
  label?: string;
  watch: StatusWatch<T>;
  view: ProgressView<T>;
  terminal: Terminal;
  /** Cancels what is followed (for a story: its running shot, which ends the story). */
  cancel: () => Promise<CancelResult>;
  /** Ctrl-C was pressed before the generation existed: ask at once. */
  interruptedEarly?: boolean;
  /** The server runs jobs on its built-in simulator, which charges nothing: the question says so. */
  simulated?: boolean;
}

const YES = /^\s*y(es)?\s*$/i;

/**
 * Shows the generation's progress until it is final. Ctrl-C asks whether to cancel it; a second Ctrl-C while
 * the question is open leaves without canceling. While a cancel is on its way, a final status from the
 * stream waits for the cancel's answer, which says whether a charge may apply.
 */
export function follow<T extends Followed>(options: FollowOptions<T>): Promise<FollowOutcome<T>> {
  const { watch, view, terminal } = options;
  const label = options.label ?? `generation ${options.id}`;
  return new Promise<FollowOutcome<T>>((resolve, reject) => {
    let settled = false;
    /** Open while the cancel question waits for an answer. */
    let question: AbortController | undefined;
    let canceling = false;
    let final: T | undefined;

    const end = () => {
      settled = true;
      stopListening();
      if (question) {
        terminal.stderr.write('\n');
        question.abort();
        question = undefined;
      }
    };
    const settle = (outcome: FollowOutcome<T>) => {
      if (settled) return;
      end();
      resolve(outcome);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      end();
      reject(error instanceof Error ? error : new Error(String(error)));
    };

    async function decide(answer: Answer): Promise<void> {
      if (answer.kind === 'aborted' || settled) return;
      // With stdin closed no answer can come, and waiting would make Ctrl-C useless: leave, as a second one would.
      if (answer.kind === 'end') return settle({ kind: 'left' });
      if (!YES.test(answer.line)) {
        terminal.stdout.write('Not canceled; still waiting.\n');
        view.resume();
        return;
      }
      canceling = true;
      const result = await options.cancel();
      canceling = false;
      if (result.__typename === 'CancelGenerationSuccess') return settle({ kind: 'canceled', chargeMayApply: result.chargeMayApply });
      if (result.__typename === 'NotFoundError') return fail(new CliError('USER', result.message));
      terminal.stdout.write(`Too late to cancel: ${result.message}\n`);
      if (final) settle({ kind: 'final', generation: final });
      else view.resume();
    }

    function onInterrupt(): void {
      if (settled || canceling) return;
      if (question) {
        // Ends the question (no answer), then leaves.
        return settle({ kind: 'left' });
      }
      view.pause();
      const asking = (question = new AbortController());
      askLine(
        `Cancel ${label}? ${options.simulated ? 'The simulator charges nothing.' : 'Segmind may still charge if it already started.'} [y/N] `,
        terminal.stdin,
        terminal.stderr,
        asking.signal,
      )
        .then((answer) => {
          if (question === asking) question = undefined;
          return decide(answer);
        })
        .catch(fail);
    }

    const stopListening = terminal.onInterrupt(onInterrupt);
    if (options.interruptedEarly) onInterrupt();

    void (async () => {
      for await (const generation of watch.states) {
        view.update(generation);
        if (!FINAL_STATUSES.has(generation.status)) continue;
        final = generation;
        // Finished while the question was open: nothing left to cancel. A cancel in flight answers first.
        if (!canceling) settle({ kind: 'final', generation });
        return;
      }
    })().catch(fail);
  });
}
