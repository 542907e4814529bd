import {
  CancelDocument,
  EstimateDocument,
  GenerateDocument,
  type CancelMutation,
  type GenerateMutation,
  type GenerateVideoInput,
} from '../../contract/generated/cli/graphql.js';
import { cancelCharge, refused, saveVideo } from './outcome.js';
import { runStory } from './story.js';
import { resolveApiKey, type GenerateOptions } from './args.js';
import { checkOutput } from './download.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { follow, type FollowOutcome } from './follow.js';
import { createGraphqlHttp, frameInput, type GraphqlHttp } from './graphql-http.js';
import { createProgressView } from './progress.js';
import { watchGeneration, type Generation } from './watch.js';

/** What the command needs from its process: streams, the working directory and Ctrl-C. */
export interface Terminal {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** stdout is a terminal: one progress line redrawn in place, instead of a line per change. */
  tty: boolean;
  cwd: string;
  /** Makes `handler` the answer to Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** What the server answers to generateVideo and cancelGeneration (src/contract/operations/cli.graphql). */
type GenerateResult = GenerateMutation['generateVideo'];
type Accepted = Extract<GenerateResult, { __typename: 'GenerateVideoSuccess' }>['generation'];
export type CancelResult = CancelMutation['cancelGeneration'];

const ASPECT_ENUM = { '16:9': 'RATIO_16_9', '9:16': 'RATIO_9_16' } as const;
const RESOLUTION_ENUM = { '720p': 'RES_720P', '1080p': 'RES_1080P' } as const;

/** GenerateVideoInput without the frames, which do not change the price. */
function baseInput(options: GenerateOptions): GenerateVideoInput {
  const input: GenerateVideoInput = {
    prompt: options.prompt,
    durationSeconds: options.durationSeconds,
    resolution: RESOLUTION_ENUM[options.resolution],
    aspectRatio: ASPECT_ENUM[options.aspectRatio],
    generateAudio: options.generateAudio,
  };
  if (options.negativePrompt !== undefined) input.negativePrompt = options.negativePrompt;
  if (options.seed !== undefined) input.seed = options.seed;
  if (options.idempotencyKey !== undefined) input.idempotencyKey = options.idempotencyKey;
  if (options.webhookUrl !== undefined) input.webhookUrl = options.webhookUrl;
  if (options.continueFrom !== undefined) input.continueFrom = options.continueFrom;
  if (options.deadlineSeconds !== undefined) input.deadlineSeconds = options.deadlineSeconds;
  return input;
}

function accepted(result: GenerateResult): Accepted {
  if (result.__typename === 'GenerateVideoSuccess') return result.generation;
  return refused(result, 'generateVideo');
}

/** Creates the generation, follows it and saves the video. Returns the exit code; throws CliError. */
async function generate(options: GenerateOptions, terminal: Terminal): Promise<number> {
  const say = (line: string) => terminal.stdout.write(`${line}\n`);
  const warn = (line: string) => terminal.stderr.write(`${line}\n`);

  const { key, note } = await resolveApiKey({
    key: options.key,
    serverUrl: options.url,
    developmentKeyFile: options.developmentKeyFile,
    cwd: terminal.cwd,
  });
  if (note) warn(note);
  // Everything that can be wrong on this side is checked before anything is spent.
  const outputFor = await checkOutput(options.out, terminal.cwd);
  const frames = await frameInput(options, terminal.cwd);
  const graphql: GraphqlHttp = createGraphqlHttp(options.url, key);
  const input = baseInput(options);
  if (options.shots) return runStory({ options: { ...options, shots: options.shots }, terminal, graphql, key, input, frames, outputFor });

  const { estimateCost: price } = await graphql(EstimateDocument, { input });
  say(
    `Price: $${price.amount} ${price.currency} (${options.durationSeconds} s, ${options.resolution}, ${options.aspectRatio}, ` +
      `${options.generateAudio ? 'with audio' : 'no audio'}).`,
  );

  // Ctrl-C during the submit cannot stop a request that may already have created the generation: ask once it answers.
  let interruptedEarly = false;
  const stopDeferring = terminal.onInterrupt(() => {
    interruptedEarly = true;
    warn('Submitting; you can cancel as soon as the server answers.');
  });
  let generation: Accepted;
  try {
    const { generateVideo } = await graphql(
      GenerateDocument,
      { input: { ...input, ...frames.fields } },
      frames.uploads,
    );
    generation = accepted(generateVideo);
  } finally {
    stopDeferring();
  }
  const { id } = generation;
  const simulated = generation.provider === 'SIMULATOR';
  say(`Generation ${id}: ${generation.status}, $${generation.cost.amount} ${generation.cost.currency} (${generation.provider}).`);
  if (simulated) {
    say('The server runs the built-in Segmind simulator: the video will be a numbered test clip of the asked length and size, and no money is spent.');
  }

  const watch = watchGeneration(options.url, key, id);
  const view = createProgressView((text) => terminal.stdout.write(text), terminal.tty);
  let outcome: FollowOutcome<Generation>;
  try {
    outcome = await follow({
      id,
      simulated,
      watch,
      view,
      terminal,
      interruptedEarly,
      cancel: async () => (await graphql(CancelDocument, { id })).cancelGeneration,
    });
  } finally {
    view.end();
    await watch.close().catch(() => undefined);
  }

  if (outcome.kind === 'left') {
    const again = options.idempotencyKey
      ? 'Run the same command again to follow it.'
      : `See it later with: query { generation(id: "${id}") { status video { url } } }`;
    warn(`Left without canceling: generation ${id} keeps running on the server. ${again}`);
    return EXIT_CODES.CANCELED.code;
  }
  if (outcome.kind === 'canceled') {
    say(`Canceled generation ${id}. ${cancelCharge(outcome.chargeMayApply, simulated)}`);
    return EXIT_CODES.CANCELED.code;
  }

  const final = outcome.generation;
  if (final.status === 'CANCELED') {
    say(`Generation ${id} was canceled elsewhere (another client using this key).`);
    return EXIT_CODES.CANCELED.code;
  }
  if (final.status === 'FAILED') {
    const error = final.error ?? { code: 'UNKNOWN', message: 'no reason was given.', retryable: false };
    throw new CliError(
      'UPSTREAM',
      `Generation ${id} failed: ${error.code}: ${error.message}` +
        (error.retryable ? '\nTrying again may work.' : '\nTrying again with the same input will not help.'),
    );
  }

  return saveVideo({ video: final.video!, outPath: outputFor(id), options, terminal });
}

/** Runs the command and turns every failure into its message and exit code (see EXIT_CODES). */
export async function runGenerate(options: GenerateOptions, terminal: Terminal): Promise<number> {
  try {
    return await generate(options, terminal);
  } catch (error) {
    if (error instanceof CliError) {
      terminal.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    terminal.stderr.write(`Unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_CODES.UNEXPECTED.code;
  }
}
