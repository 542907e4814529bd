/** The GraphQL operations the page sends, and the shapes it reads back. */

export type Status = 'QUEUED' | 'SUBMITTED' | 'PROCESSING' | 'STORING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';

export interface Money {
  amount: string;
  currency: string;
}

export interface GenerationEvent {
  id: string;
  type: string;
  status: Status;
  message: string;
  createdAt: string;
  version: number;
}

export interface Generation {
  id: string;
  status: Status;
  progress: number;
  etaSeconds: number | null;
  prompt: string;
  negativePrompt: string | null;
  image: string | null;
  lastFrame: string | null;
  aspectRatio: string;
  durationSeconds: number;
  resolution: string;
  generateAudio: boolean;
  seed: number;
  cost: Money;
  costIsFinal: boolean;
  provider: string;
  createdAt: string;
  version: number;
  video: { url: string; sizeBytes: number; contentType: string } | null;
  videoExpiredAt: string | null;
  error: { code: string; message: string; retryable: boolean } | null;
  events?: GenerationEvent[];
}

const SUMMARY_FIELDS = `id status progress etaSeconds prompt negativePrompt image lastFrame aspectRatio durationSeconds
  resolution generateAudio seed cost { amount currency } costIsFinal provider createdAt version
  video { url sizeBytes contentType } videoExpiredAt error { code message retryable }`;
const FULL_FIELDS = `${SUMMARY_FIELDS} events { id type status message createdAt version }`;

export const FINAL_STATUSES: readonly Status[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];
export const isFinal = (status: Status) => FINAL_STATUSES.includes(status);

export const ESTIMATE_COST = `query EstimateCost($input: GenerateVideoInput!) { estimateCost(input: $input) { amount currency } }`;

export const GENERATE_VIDEO = `mutation GenerateVideo($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { ${FULL_FIELDS} } }
    ... on Error { message }
    ... on InputError { field problems { field message } }
    ... on BudgetExceededError { scope limit { amount currency } used { amount currency } price { amount currency } resetsAt }
  }
}`;

export type GenerateVideoResult =
  | { __typename: 'GenerateVideoSuccess'; generation: Generation }
  | { __typename: 'InputError'; message: string; field: string; problems?: { field: string; message: string }[] }
  | { __typename: 'BudgetExceededError'; message: string; scope: 'KEY' | 'SERVER'; limit: Money; used: Money; price: Money; resetsAt: string }
  | { __typename: 'TooManyActiveGenerationsError' | 'IdempotencyKeyReusedError' | 'UploadFailedError'; message: string };

export const GENERATION = `query Generation($id: ID!) { generation(id: $id) { ${FULL_FIELDS} } }`;

export const RECENT = `query Recent($first: Int!) { generations(first: $first) { nodes { ${SUMMARY_FIELDS} } } }`;

export const WATCH = `subscription Watch($id: ID!) { generationStatus(id: $id) { ${FULL_FIELDS} } }`;

export const CANCEL = `mutation Cancel($id: ID!) {
  cancelGeneration(id: $id) {
    __typename
    ... on CancelGenerationSuccess { chargeMayApply generation { ${FULL_FIELDS} } }
    ... on Error { message }
  }
}`;

export type CancelResult =
  | { __typename: 'CancelGenerationSuccess'; chargeMayApply: boolean; generation: Generation }
  | { __typename: 'NotCancelableError' | 'NotFoundError'; message: string };
