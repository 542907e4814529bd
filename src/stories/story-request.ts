import { createHash } from 'node:crypto';
import { InputError, type FieldProblem } from '../generations/errors.js';
import type { Frames } from '../generations/frames.js';
import {
  generationRequestProblems,
  validateGenerationRequest,
  type AspectRatio,
  type GenerationRequest,
  type Resolution,
  type ValidGenerationRequest,
  type ValidationOptions,
} from '../generations/request.js';

/** The fewest and the most shots a story may have. */
export const MIN_SHOTS = 1;
export const MAX_SHOTS = 8;

/** One shot as a client asks for it. */
export interface StoryShotRequest {
  prompt: string;
  durationSeconds: number;
  negativePrompt?: string | null;
}

/** A story as a client asks for it, after GraphQL enum mapping and defaults. */
export interface StoryRequest {
  shots: readonly StoryShotRequest[];
  /** http(s) URL of the first frame of the first shot. */
  image?: string | null;
  aspectRatio: AspectRatio;
  resolution: Resolution;
  generateAudio: boolean;
  seed?: number | null;
  idempotencyKey?: string | null;
  webhookUrl?: string | null;
}

/** A story that passed validation: every shot as the generation it becomes (the same seed and settings in each). */
export interface ValidStoryRequest {
  shots: ValidGenerationRequest[];
  seed: number;
  image: string | null;
  idempotencyKey: string | null;
  webhookUrl: string | null;
}

/** Shot `i` as a generation request: the story's settings, and its first frame only for the first shot. */
const shotRequest = (story: StoryRequest, shot: StoryShotRequest, index: number, seed?: number | null): GenerationRequest => ({
  prompt: shot.prompt,
  negativePrompt: shot.negativePrompt,
  durationSeconds: shot.durationSeconds,
  aspectRatio: story.aspectRatio,
  resolution: story.resolution,
  generateAudio: story.generateAudio,
  seed,
  image: index === 0 ? story.image : null,
});

/** The fields of one shot; a problem there is reported as e.g. `shots[1].durationSeconds`. */
const SHOT_FIELDS: ReadonlySet<string> = new Set(['prompt', 'negativePrompt', 'durationSeconds']);

/**
 * Every rule the story breaks, in the order of its fields: 1 to 8 shots, each shot's own fields (named by its place,
 * `shots[1].durationSeconds`), and the story's settings once (seed, image, webhookUrl as generateVideo checks them).
 */
export function storyRequestProblems(input: StoryRequest, options: ValidationOptions = {}): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.shots.length < MIN_SHOTS || input.shots.length > MAX_SHOTS) {
    problems.push({
      field: 'shots',
      message: `shots must have ${MIN_SHOTS} to ${MAX_SHOTS} shots; got ${input.shots.length}. Split a longer story into several.`,
    });
    return problems;
  }
  input.shots.forEach((shot, index) => {
    for (const problem of generationRequestProblems(shotRequest(input, shot, index), options)) {
      if (SHOT_FIELDS.has(problem.field)) {
        problems.push({ field: `shots[${index}].${problem.field}`, message: `shots[${index}].${problem.message}` });
      }
    }
  });
  const first = input.shots[0]!;
  const settings = { ...shotRequest(input, first, 0, input.seed), idempotencyKey: input.idempotencyKey, webhookUrl: input.webhookUrl };
  for (const problem of generationRequestProblems(settings, options)) {
    if (!SHOT_FIELDS.has(problem.field)) problems.push(problem);
  }
  return problems;
}

/** Checks every field and returns the story's shots as valid generation requests. Throws {@link InputError}. */
export function validateStoryRequest(input: StoryRequest, options: ValidationOptions = {}): ValidStoryRequest {
  const [first, ...rest] = storyRequestProblems(input, options);
  if (first) throw new InputError(first.field, first.message, [first, ...rest]);
  // One seed for every shot, picked once when the client gave none: the shots look alike.
  const seed = validateGenerationRequest(shotRequest(input, input.shots[0]!, 0, input.seed), options).seed;
  const shots = input.shots.map((shot, index) => validateGenerationRequest(shotRequest(input, shot, index, seed), options));
  return {
    shots,
    seed,
    image: shots[0]!.image,
    idempotencyKey: input.idempotencyKey ?? null,
    webhookUrl: input.webhookUrl?.trim() || null,
  };
}

/**
 * What makes two story requests "the same" for idempotency: every field as sent (trimmed), the uploaded first
 * frame's contents, but not the idempotency key nor a server-picked seed.
 */
export function storyInputHash(request: StoryRequest, frames: Frames): string {
  const trimmed = (value: string | null | undefined) => value?.trim() || null;
  const normalized = {
    shots: request.shots.map((shot) => ({
      prompt: trimmed(shot.prompt),
      durationSeconds: shot.durationSeconds,
      negativePrompt: trimmed(shot.negativePrompt),
    })),
    image: trimmed(request.image),
    imageFile: frames.imageFile?.digest ?? null,
    aspectRatio: request.aspectRatio,
    resolution: request.resolution,
    generateAudio: request.generateAudio,
    seed: request.seed ?? null,
    webhookUrl: trimmed(request.webhookUrl),
  };
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}
