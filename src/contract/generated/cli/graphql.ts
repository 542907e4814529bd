/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AspectRatio =
  /** Portrait, 1080×1920 at 1080p. */
  | 'RATIO_9_16'
  /** Landscape, 1920×1080 at 1080p. */
  | 'RATIO_16_9';

/** A story of 1 to 8 shots. The settings apply to every shot; the price is the sum of the shots'. */
export type GenerateStoryInput = {
  aspectRatio?: AspectRatio | null | undefined;
  generateAudio?: boolean | null | undefined;
  /** Send the same key again to get the same story instead of a second one. */
  idempotencyKey?: string | null | undefined;
  /** http(s) URL of a JPEG or PNG to use as the first frame of the first shot, on a public host. */
  image?: string | null | undefined;
  /** The first frame of the first shot as an uploaded JPEG, PNG or WebP (at most 20 MB), instead of image. */
  imageFile?: File | null | undefined;
  resolution?: Resolution | null | undefined;
  /** From 0 to 2147483647, used by every shot. Omitted: the server picks one and records it. */
  seed?: number | null | undefined;
  /** 1 to 8 shots, made in this order; each after the first starts from the last frame of the one before. */
  shots: Array<StoryShotInput>;
  /** Where to POST one signed Standard Webhooks delivery when the story ends (`story.succeeded`, `story.failed` or `story.canceled`, with the story as data): https on a public host, checked like generateVideo's. The shots send none. */
  webhookUrl?: string | null | undefined;
};

/** What to generate. Only prompt is required. */
export type GenerateVideoInput = {
  aspectRatio?: AspectRatio | null | undefined;
  /** The id of one of your SUCCEEDED generations: its last frame becomes this video's first frame, so the scene continues. Instead of image or imageFile. Refused (InputError with a code) when it is not yours, not SUCCEEDED, or has no last frame. */
  continueFrom?: string | number | null | undefined;
  /** Your own deadline, in seconds from now (at least the server's minimum, MIN_DEADLINE_SECONDS): not finished by then, the generation fails with TIMEOUT, saying whether a charge may apply. A deadline beyond the server-wide one (Generation.deadlineAt shows it) is accepted and capped to it. */
  deadlineSeconds?: number | null | undefined;
  /** 4, 6 or 8. */
  durationSeconds?: number | null | undefined;
  /** Audio raises the price from $0.10 to $0.15 per second. */
  generateAudio?: boolean | null | undefined;
  /** Send the same key again to get the same generation instead of a second one. */
  idempotencyKey?: string | null | undefined;
  /** http(s) URL of a JPEG or PNG to use as the first frame, on a public host Segmind can fetch. */
  image?: string | null | undefined;
  /** The first frame as an uploaded JPEG, PNG or WebP (at most 20 MB), instead of image. Use a GraphQL multipart request. */
  imageFile?: File | null | undefined;
  /** http(s) URL of the last frame, on a public host; needs image. */
  lastFrame?: string | null | undefined;
  /** The last frame as an uploaded image, instead of lastFrame. */
  lastFrameFile?: File | null | undefined;
  /** What the video must not show; at most 500 characters. */
  negativePrompt?: string | null | undefined;
  /** What the video shows, in English; at most 2000 characters. */
  prompt: string;
  resolution?: Resolution | null | undefined;
  /** From 0 to 2147483647. Omitted: the server picks one and records it. */
  seed?: number | null | undefined;
  /** The statuses the webhook is told about; default SUCCEEDED, FAILED and CANCELED. Needs webhookUrl. */
  webhookEvents?: Array<GenerationStatus> | null | undefined;
  /** Where to POST a signed Standard Webhooks delivery when the status becomes one of webhookEvents: https on a public host (plain http and non-public hosts only when WEBHOOK_ALLOWED_HOSTS lists them). Verify it with Viewer.webhookSecret. */
  webhookUrl?: string | null | undefined;
};

export type GenerationErrorCode =
  /** The model refused the prompt or image on safety grounds. Nothing is charged; change the prompt or image. */
  | 'CONTENT_BLOCKED'
  /** The last frame of the generation named in continueFrom could no longer be read (its video or stills were deleted). Nothing is charged; give the first frame as image or imageFile instead. */
  | 'CONTINUE_FROM_UNAVAILABLE'
  /** The model could not produce the video. */
  | 'GENERATION_FAILED'
  /** The server's Segmind account is out of credits or over its spend limit. */
  | 'INSUFFICIENT_CREDITS'
  /** Something unexpected went wrong on our side. */
  | 'INTERNAL'
  /** Segmind rejected the request parameters. */
  | 'INVALID_INPUT'
  /** The finished result was not a playable MP4 video (no video track, no duration, cut off, or not MP4 at all), so it was not kept. Segmind may still bill the job. */
  | 'INVALID_RESULT'
  /** The model is not available at Segmind (unknown or retired). */
  | 'MODEL_UNAVAILABLE'
  /** Segmind no longer has this job (records expire an hour after submission). */
  | 'RESULT_EXPIRED'
  /** A story's shots all succeeded but could not be stitched into one video, after several tries. The shots stay SUCCEEDED and playable on their own. */
  | 'STITCH_FAILED'
  /** The finished video could not be downloaded into storage. */
  | 'STORAGE_FAILED'
  /** The generation did not finish before its deadline. */
  | 'TIMEOUT'
  /** The server's Segmind account may not use this model. */
  | 'UPSTREAM_FORBIDDEN'
  /** The server's Segmind API key was rejected. The operator must fix SEGMIND_API_KEY. */
  | 'UPSTREAM_UNAUTHORIZED'
  /** Segmind could not be reached or kept failing; retries were exhausted. */
  | 'UPSTREAM_UNAVAILABLE'
  /** Segmind accepted the submission (HTTP 2xx) but its answer could not be read, so the job cannot be followed. It was not sent again; its charge may apply. Ask for a new generation. */
  | 'UPSTREAM_UNREADABLE';

/** QUEUED → SUBMITTED → PROCESSING → STORING → SUCCEEDED; FAILED and CANCELED are final too. */
export type GenerationStatus =
  | 'CANCELED'
  | 'FAILED'
  | 'PROCESSING'
  | 'QUEUED'
  | 'STORING'
  | 'SUBMITTED'
  | 'SUCCEEDED';

export type Provider =
  /** Segmind's hosted Veo 3.1 Fast: real videos, real charges. */
  | 'SEGMIND'
  /** The built-in Segmind simulator: a sample video, no charge. */
  | 'SIMULATOR';

export type Resolution =
  | 'RES_720P'
  | 'RES_1080P';

/** One shot of a story. */
export type StoryShotInput = {
  /** 4, 6 or 8. */
  durationSeconds?: number | null | undefined;
  /** What the shot must not show; at most 500 characters. */
  negativePrompt?: string | null | undefined;
  /** What the shot shows, in English; at most 2000 characters. */
  prompt: string;
};

export type CliGenerationFragment = { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ id: string, type: string, message: string, createdAt: string }> };

export type EstimateQueryVariables = Exact<{
  input: GenerateVideoInput;
}>;


export type EstimateQuery = { estimateCost: { amount: string, currency: string } };

export type EstimateStoryQueryVariables = Exact<{
  input: GenerateStoryInput;
}>;


export type EstimateStoryQuery = { estimateStoryCost: { amount: string, currency: string } };

export type GenerateMutationVariables = Exact<{
  input: GenerateVideoInput;
}>;


export type GenerateMutation = { generateVideo:
    | { __typename: 'BudgetExceededError', message: string }
    | { __typename: 'GenerateVideoSuccess', generation: { provider: Provider, id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ id: string, type: string, message: string, createdAt: string }> } }
    | { __typename: 'IdempotencyKeyReusedError', message: string }
    | { __typename: 'InputError', message: string, field: string }
    | { __typename: 'TooManyActiveGenerationsError', message: string }
    | { __typename: 'UploadFailedError', message: string }
   };

export type WatchSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type WatchSubscription = { generationStatus: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ id: string, type: string, message: string, createdAt: string }> } };

export type CancelMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelMutation = { cancelGeneration:
    | { __typename: 'CancelGenerationSuccess', chargeMayApply: boolean, generation: { status: GenerationStatus } }
    | { __typename: 'NotCancelableError', status: GenerationStatus, message: string }
    | { __typename: 'NotFoundError', message: string }
   };

export type CliStoryFragment = { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string, durationSeconds: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, shots: Array<{ id: string, status: GenerationStatus, progress: number, durationSeconds: number }> };

export type GenerateStoryMutationVariables = Exact<{
  input: GenerateStoryInput;
}>;


export type GenerateStoryMutation = { generateStory:
    | { __typename: 'BudgetExceededError', message: string }
    | { __typename: 'GenerateStorySuccess', story: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, shots: Array<{ provider: Provider, id: string, status: GenerationStatus, progress: number, durationSeconds: number }>, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string, durationSeconds: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null } }
    | { __typename: 'IdempotencyKeyReusedError', message: string }
    | { __typename: 'InputError', message: string, field: string }
    | { __typename: 'TooManyActiveGenerationsError', message: string }
    | { __typename: 'UploadFailedError', message: string }
   };

export type WatchStorySubscriptionVariables = Exact<{
  id: string | number;
}>;


export type WatchStorySubscription = { storyStatus: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, cost: { amount: string, currency: string }, video: { url: string, sizeBytes: number, contentType: string, durationSeconds: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, shots: Array<{ id: string, status: GenerationStatus, progress: number, durationSeconds: number }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const CliGenerationFragmentDoc = new TypedDocumentString(`
    fragment CliGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
  }
  error {
    code
    message
    retryable
  }
  events {
    id
    type
    message
    createdAt
  }
}
    `, {"fragmentName":"CliGeneration"}) as unknown as TypedDocumentString<CliGenerationFragment, unknown>;
export const CliStoryFragmentDoc = new TypedDocumentString(`
    fragment CliStory on Story {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
    durationSeconds
  }
  error {
    code
    message
    retryable
  }
  shots {
    id
    status
    progress
    durationSeconds
  }
}
    `, {"fragmentName":"CliStory"}) as unknown as TypedDocumentString<CliStoryFragment, unknown>;
export const EstimateDocument = new TypedDocumentString(`
    query Estimate($input: GenerateVideoInput!) {
  estimateCost(input: $input) {
    amount
    currency
  }
}
    `) as unknown as TypedDocumentString<EstimateQuery, EstimateQueryVariables>;
export const EstimateStoryDocument = new TypedDocumentString(`
    query EstimateStory($input: GenerateStoryInput!) {
  estimateStoryCost(input: $input) {
    amount
    currency
  }
}
    `) as unknown as TypedDocumentString<EstimateStoryQuery, EstimateStoryQueryVariables>;
export const GenerateDocument = new TypedDocumentString(`
    mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess {
      generation {
        ...CliGeneration
        provider
      }
    }
    ... on Error {
      message
    }
    ... on InputError {
      field
    }
  }
}
    fragment CliGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
  }
  error {
    code
    message
    retryable
  }
  events {
    id
    type
    message
    createdAt
  }
}`) as unknown as TypedDocumentString<GenerateMutation, GenerateMutationVariables>;
export const WatchDocument = new TypedDocumentString(`
    subscription Watch($id: ID!) {
  generationStatus(id: $id) {
    ...CliGeneration
  }
}
    fragment CliGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
  }
  error {
    code
    message
    retryable
  }
  events {
    id
    type
    message
    createdAt
  }
}`) as unknown as TypedDocumentString<WatchSubscription, WatchSubscriptionVariables>;
export const CancelDocument = new TypedDocumentString(`
    mutation Cancel($id: ID!) {
  cancelGeneration(id: $id) {
    __typename
    ... on CancelGenerationSuccess {
      chargeMayApply
      generation {
        status
      }
    }
    ... on NotCancelableError {
      status
    }
    ... on Error {
      message
    }
  }
}
    `) as unknown as TypedDocumentString<CancelMutation, CancelMutationVariables>;
export const GenerateStoryDocument = new TypedDocumentString(`
    mutation GenerateStory($input: GenerateStoryInput!) {
  generateStory(input: $input) {
    __typename
    ... on GenerateStorySuccess {
      story {
        ...CliStory
        shots {
          provider
        }
      }
    }
    ... on Error {
      message
    }
    ... on InputError {
      field
    }
  }
}
    fragment CliStory on Story {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
    durationSeconds
  }
  error {
    code
    message
    retryable
  }
  shots {
    id
    status
    progress
    durationSeconds
  }
}`) as unknown as TypedDocumentString<GenerateStoryMutation, GenerateStoryMutationVariables>;
export const WatchStoryDocument = new TypedDocumentString(`
    subscription WatchStory($id: ID!) {
  storyStatus(id: $id) {
    ...CliStory
  }
}
    fragment CliStory on Story {
  id
  status
  version
  progress
  etaSeconds
  cost {
    amount
    currency
  }
  video {
    url
    sizeBytes
    contentType
    durationSeconds
  }
  error {
    code
    message
    retryable
  }
  shots {
    id
    status
    progress
    durationSeconds
  }
}`) as unknown as TypedDocumentString<WatchStorySubscription, WatchStorySubscriptionVariables>;