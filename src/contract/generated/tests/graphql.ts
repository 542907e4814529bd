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

export type WebhookDeliveryState =
  /** The receiver answered 2xx. */
  | 'DELIVERED'
  /** Every retry failed; it is not tried again. */
  | 'FAILED'
  /** Not delivered yet; nextAttemptAt says when it is tried (again). */
  | 'PENDING';

export type TestGenerationFragment = { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ type: string, status: GenerationStatus, message: string, version: number }> };

export type TestGenerateMutationVariables = Exact<{
  input: GenerateVideoInput;
}>;


export type TestGenerateMutation = { generateVideo:
    | { __typename: 'BudgetExceededError', message: string }
    | { __typename: 'GenerateVideoSuccess', generation: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ type: string, status: GenerationStatus, message: string, version: number }> } }
    | { __typename: 'IdempotencyKeyReusedError', message: string }
    | { __typename: 'InputError', message: string, field: string }
    | { __typename: 'TooManyActiveGenerationsError', message: string }
    | { __typename: 'UploadFailedError', message: string }
   };

export type TestWatchSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type TestWatchSubscription = { generationStatus: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ type: string, status: GenerationStatus, message: string, version: number }> } };

export type TestGetQueryVariables = Exact<{
  id: string | number;
}>;


export type TestGetQuery = { generation: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ type: string, status: GenerationStatus, message: string, version: number }> } | null };

export type TestCancelMutationVariables = Exact<{
  id: string | number;
}>;


export type TestCancelMutation = { cancelGeneration:
    | { __typename: 'CancelGenerationSuccess', chargeMayApply: boolean, generation: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null, events: Array<{ type: string, status: GenerationStatus, message: string, version: number }> } }
    | { __typename: 'NotCancelableError', message: string }
    | { __typename: 'NotFoundError', message: string }
   };

export type TestGenerationWithEventTimesFragment = { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, events: Array<{ createdAt: string, type: string, status: GenerationStatus, message: string, version: number }>, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null };

export type TestGetWithEventTimesQueryVariables = Exact<{
  id: string | number;
}>;


export type TestGetWithEventTimesQuery = { generation: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, events: Array<{ createdAt: string, type: string, status: GenerationStatus, message: string, version: number }>, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null } | null };

export type TestWatchWithEventTimesSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type TestWatchWithEventTimesSubscription = { generationStatus: { id: string, status: GenerationStatus, version: number, progress: number, etaSeconds: number | null, prompt: string, negativePrompt: string | null, image: string | null, lastFrame: string | null, aspectRatio: AspectRatio, durationSeconds: number, resolution: Resolution, generateAudio: boolean, seed: number, idempotencyKey: string | null, attempts: number, provider: Provider, costIsFinal: boolean, createdAt: string, updatedAt: string, completedAt: string | null, events: Array<{ createdAt: string, type: string, status: GenerationStatus, message: string, version: number }>, cost: { amount: string, currency: string }, video: { url: string, contentType: string, sizeBytes: number } | null, error: { code: GenerationErrorCode, message: string, retryable: boolean } | null } };

export type TestViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type TestViewerQuery = { viewer: { name: string, keyPrefix: string, activeGenerations: number, maxActive: number | null, webhookSecret: string, previousWebhookSecretValidUntil: string | null, spentToday: { amount: string, currency: string }, dailyBudget: { amount: string, currency: string } | null } };

export type TestRotateWebhookSecretMutationVariables = Exact<{ [key: string]: never; }>;


export type TestRotateWebhookSecretMutation = { rotateWebhookSecret: { __typename: 'RotateWebhookSecretSuccess', webhookSecret: string, previousSecretValidUntil: string | null } };

export type TestWebhookDeliveriesQueryVariables = Exact<{
  id: string | number;
}>;


export type TestWebhookDeliveriesQuery = { generation: { id: string, webhookUrl: string | null, webhookEvents: Array<GenerationStatus> | null, webhookDeliveries: Array<{ id: string, eventType: string, version: number, state: WebhookDeliveryState, attempt: number, statusCode: number | null, error: string | null, createdAt: string, deliveredAt: string | null, nextAttemptAt: string | null, attempts: Array<{ attempt: number, statusCode: number | null, error: string | null, durationMs: number, createdAt: string }> }> } | null };

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
export const TestGenerationFragmentDoc = new TypedDocumentString(`
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}
    `, {"fragmentName":"TestGeneration"}) as unknown as TypedDocumentString<TestGenerationFragment, unknown>;
export const TestGenerationWithEventTimesFragmentDoc = new TypedDocumentString(`
    fragment TestGenerationWithEventTimes on Generation {
  ...TestGeneration
  events {
    createdAt
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}`, {"fragmentName":"TestGenerationWithEventTimes"}) as unknown as TypedDocumentString<TestGenerationWithEventTimesFragment, unknown>;
export const TestGenerateDocument = new TypedDocumentString(`
    mutation TestGenerate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess {
      generation {
        ...TestGeneration
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
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}`) as unknown as TypedDocumentString<TestGenerateMutation, TestGenerateMutationVariables>;
export const TestWatchDocument = new TypedDocumentString(`
    subscription TestWatch($id: ID!) {
  generationStatus(id: $id) {
    ...TestGeneration
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}`) as unknown as TypedDocumentString<TestWatchSubscription, TestWatchSubscriptionVariables>;
export const TestGetDocument = new TypedDocumentString(`
    query TestGet($id: ID!) {
  generation(id: $id) {
    ...TestGeneration
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}`) as unknown as TypedDocumentString<TestGetQuery, TestGetQueryVariables>;
export const TestCancelDocument = new TypedDocumentString(`
    mutation TestCancel($id: ID!) {
  cancelGeneration(id: $id) {
    __typename
    ... on CancelGenerationSuccess {
      chargeMayApply
      generation {
        ...TestGeneration
      }
    }
    ... on Error {
      message
    }
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}`) as unknown as TypedDocumentString<TestCancelMutation, TestCancelMutationVariables>;
export const TestGetWithEventTimesDocument = new TypedDocumentString(`
    query TestGetWithEventTimes($id: ID!) {
  generation(id: $id) {
    ...TestGenerationWithEventTimes
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}
fragment TestGenerationWithEventTimes on Generation {
  ...TestGeneration
  events {
    createdAt
  }
}`) as unknown as TypedDocumentString<TestGetWithEventTimesQuery, TestGetWithEventTimesQueryVariables>;
export const TestWatchWithEventTimesDocument = new TypedDocumentString(`
    subscription TestWatchWithEventTimes($id: ID!) {
  generationStatus(id: $id) {
    ...TestGenerationWithEventTimes
  }
}
    fragment TestGeneration on Generation {
  id
  status
  version
  progress
  etaSeconds
  prompt
  negativePrompt
  image
  lastFrame
  aspectRatio
  durationSeconds
  resolution
  generateAudio
  seed
  idempotencyKey
  attempts
  provider
  costIsFinal
  cost {
    amount
    currency
  }
  video {
    url
    contentType
    sizeBytes
  }
  error {
    code
    message
    retryable
  }
  events {
    type
    status
    message
    version
  }
  createdAt
  updatedAt
  completedAt
}
fragment TestGenerationWithEventTimes on Generation {
  ...TestGeneration
  events {
    createdAt
  }
}`) as unknown as TypedDocumentString<TestWatchWithEventTimesSubscription, TestWatchWithEventTimesSubscriptionVariables>;
export const TestViewerDocument = new TypedDocumentString(`
    query TestViewer {
  viewer {
    name
    keyPrefix
    spentToday {
      amount
      currency
    }
    dailyBudget {
      amount
      currency
    }
    activeGenerations
    maxActive
    webhookSecret
    previousWebhookSecretValidUntil
  }
}
    `) as unknown as TypedDocumentString<TestViewerQuery, TestViewerQueryVariables>;
export const TestRotateWebhookSecretDocument = new TypedDocumentString(`
    mutation TestRotateWebhookSecret {
  rotateWebhookSecret {
    __typename
    ... on RotateWebhookSecretSuccess {
      webhookSecret
      previousSecretValidUntil
    }
  }
}
    `) as unknown as TypedDocumentString<TestRotateWebhookSecretMutation, TestRotateWebhookSecretMutationVariables>;
export const TestWebhookDeliveriesDocument = new TypedDocumentString(`
    query TestWebhookDeliveries($id: ID!) {
  generation(id: $id) {
    id
    webhookUrl
    webhookEvents
    webhookDeliveries {
      id
      eventType
      version
      state
      attempt
      statusCode
      error
      createdAt
      deliveredAt
      nextAttemptAt
      attempts {
        attempt
        statusCode
        error
        durationMs
        createdAt
      }
    }
  }
}
    `) as unknown as TypedDocumentString<TestWebhookDeliveriesQuery, TestWebhookDeliveriesQueryVariables>;