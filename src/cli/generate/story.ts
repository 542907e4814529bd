import {
  CancelDocument,
  EstimateStoryDocument,
  GenerateStoryDocument,
  type GenerateStoryInput,
  type GenerateStoryMutation,
  type GenerateVideoInput,
} from '../../contract/generated/cli/graphql.js';
import type { GenerateOptions } from './args.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { follow } from './follow.js';
import type { Terminal } from './generate.js';
import { cancelCharge, refused, saveVideo } from './outcome.js';
import type { frameInput, GraphqlHttp } from './graphql-http.js';
import { createProgressView, storyNotes, storySuffix } from './progress.js';
import { watchStory, type Story } from './watch.js';

type Accepted = Extract<GenerateStoryMutation['generateStory'], { __typename: 'GenerateStorySuccess' }>['story'];

/** Everything the single-video path already prepared: the key, the checked output path and frames, the input. */
export interface StoryRun {
  options: GenerateOptions & { shots: string[] };
  terminal: Terminal;
  graphql: GraphqlHttp;
  key: string;
  /** The single-video input the flags make; its shared fields become the story's. */
  input: GenerateVideoInput;
  frames: Awaited<ReturnType<typeof frameInput>>;
  outputFor: (id: string) => string;
}

/** GenerateStoryInput from the flags: one shot per --shot, each of --duration seconds. */
function storyInput({ options, input }: StoryRun): GenerateStoryInput {
  const story: GenerateStoryInput = {
    shots: options.shots.map((prompt) => ({
      prompt,
      durationSeconds: options.durationSeconds,
      ...(options.negativePrompt !== undefined && { negativePrompt: options.negativePrompt }),
    })),
    aspectRatio: input.aspectRatio,
    resolution: input.resolution,
    generateAudio: input.generateAudio,
  };
  if (input.seed != null) story.seed = input.seed;
  if (input.idempotencyKey != null) story.idempotencyKey = input.idempotencyKey;
  if (input.webhookUrl != null) story.webhookUrl = input.webhookUrl;
  return story;
}

/** The shot a story is running now, which a cancel stops (and with it the story). */
const runningShot = (story: Story) => story.shots.find((shot) => !['SUCCEEDED', 'FAILED', 'CANCELED'].includes(shot.status));

/**
 * Makes a story: shows the price of every shot together, creates it, follows storyStatus (each shot's status once,
 * then the stitching) and saves the stitched MP4. Ctrl-C asks whether to cancel the shot running now, which ends the
 * story and cancels the shots after it.
 */
export async function runStory(run: StoryRun): Promise<number> {
  const { options, terminal, graphql, key } = run;
  const say = (line: string) => terminal.stdout.write(`${line}\n`);
  const shots = options.shots.length;
  const input = storyInput(run);
  const { estimateStoryCost: price } = await graphql(EstimateStoryDocument, { input });
  say(
    `Price: $${price.amount} ${price.currency} for ${shots} shot${shots === 1 ? '' : 's'} ` +
      `(${options.durationSeconds} s each, ${options.resolution}, ${options.aspectRatio}, ${options.generateAudio ? 'with audio' : 'no audio'}).`,
  );

  let interruptedEarly = false;
  const stopDeferring = terminal.onInterrupt(() => {
    interruptedEarly = true;
    terminal.stderr.write('Submitting; you can cancel as soon as the server answers.\n');
  });
  let story: Accepted;
  try {
    const { generateStory } = await graphql(
      GenerateStoryDocument,
      { input: { ...input, ...run.frames.fields } },
      run.frames.uploads,
    );
    if (generateStory.__typename !== 'GenerateStorySuccess') refused(generateStory, 'generateStory');
    story = generateStory.story;
  } finally {
    stopDeferring();
  }
  const { id } = story;
  const simulated = story.shots[0]?.provider === 'SIMULATOR';
  say(`Story ${id}: ${story.status}, ${shots} shots, $${story.cost.amount} ${story.cost.currency}.`);
  if (simulated) say('The server runs the built-in Segmind simulator: each shot is a test clip, and no money is spent.');

  const watch = watchStory(options.url, key, id);
  const view = createProgressView<Story>((text) => terminal.stdout.write(text), terminal.tty, storyNotes, storySuffix);
  let latest: Story = story;
  let outcome: Awaited<ReturnType<typeof follow<Story>>>;
  try {
    outcome = await follow<Story>({
      id,
      label: `story ${id} (the shot running now, and the shots after it)`,
      simulated,
      watch: {
        states: (async function* () {
          for await (const state of watch.states) yield (latest = state);
        })(),
        close: () => watch.close(),
      },
      view,
      terminal,
      interruptedEarly,
      cancel: async () => {
        const shot = runningShot(latest);
        if (!shot) throw new CliError('USER', `Story ${id} has no shot left to cancel.`);
        return (await graphql(CancelDocument, { id: shot.id })).cancelGeneration;
      },
    });
  } finally {
    view.end();
    await watch.close().catch(() => undefined);
  }

  if (outcome.kind === 'left') {
    terminal.stderr.write(`Left without canceling: story ${id} keeps running on the server.\n`);
    return EXIT_CODES.CANCELED.code;
  }
  if (outcome.kind === 'canceled') {
    say(`Canceled story ${id}; the shots after the running one were not sent. ${cancelCharge(outcome.chargeMayApply, simulated)}`);
    return EXIT_CODES.CANCELED.code;
  }
  const final = outcome.generation;
  if (final.status === 'CANCELED') {
    say(`Story ${id} was canceled (one of its shots was canceled elsewhere). It cost $${final.cost.amount}.`);
    return EXIT_CODES.CANCELED.code;
  }
  if (final.status === 'FAILED') {
    const error = final.error ?? { code: 'UNKNOWN', message: 'no reason was given.', retryable: false };
    throw new CliError(
      'UPSTREAM',
      `Story ${id} failed: ${error.code}: ${error.message}\nIt cost $${final.cost.amount}; the shots after the failed one were not sent.`,
    );
  }
  say(`Story ${id} is ready: ${final.video!.durationSeconds.toFixed(1)} s in all, $${final.cost.amount} ${final.cost.currency}.`);
  return saveVideo({ video: final.video!, outPath: run.outputFor(id), options, terminal });
}
