import { askLine, type Answer } from './ask.js';
import { CliError } from './exit-codes.js';
import { FINAL_STATUSES, type CancelResult, type Generation } from './operations.js';
import type { ProgressView } from './progress.js';
import type { Terminal } from './terminal.js';
import type { GenerationWatch } from './watch.js';

export type FollowOutcome =
  | { kind: 'final'; generation: Generation }
  | { kind: 'canceled'; chargeMayApply: boolean }
  /** A second Ctrl-C while the question was open (or no answer can be read): the generation goes on without us. */
  | { kind: 'left' };

export interface FollowOptions {
  id: string;
  watch: GenerationWatch;
  view: ProgressView;
  terminal: Terminal;
  cancel: (id: string) => Promise<CancelResult>;
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
export function follow(options: FollowOptions): Promise<FollowOutcome> {
  const { id, watch, view, terminal } = options;
  return new Promise<FollowOutcome>((resolve, reject) => {
    let settled = false;
    /** Open while the cancel question waits for an answer. */
    let question: AbortController | undefined;
    let canceling = false;
    let final: Generation | undefined;

    const end = () => {
      settled = true;
      stopListening();
      if (question) {
        terminal.stderr.write('\n');
        question.abort();
        question = undefined;
      }
    };
    const settle = (outcome: FollowOutcome) => {
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
      const result = await options.cancel(id);
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
        `Cancel generation ${id}? ${options.simulated ? 'The simulator charges nothing.' : 'Segmind may still charge if it already started.'} [y/N] `,
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
