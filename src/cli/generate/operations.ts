import { CliError } from './exit-codes.js';

/** The GraphQL documents the command sends, and the shapes it reads back. */

const GENERATION = `
  id status version progress etaSeconds
  cost { amount currency }
  video { url sizeBytes contentType }
  error { code message retryable }
  events { id type message createdAt }
`;

export const ESTIMATE = `query Estimate($input: GenerateVideoInput!) { estimateCost(input: $input) { amount currency } }`;

export const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { ${GENERATION} provider } }
    ... on Error { message }
    ... on InputError { field }
  }
}`;

export const WATCH = `subscription Watch($id: ID!) { generationStatus(id: $id) { ${GENERATION} } }`;

export const CANCEL = `mutation Cancel($id: ID!) {
  cancelGeneration(id: $id) {
    __typename
    ... on CancelGenerationSuccess { chargeMayApply generation { status } }
    ... on NotCancelableError { status }
    ... on Error { message }
  }
}`;

export interface Money {
  amount: string;
  currency: string;
}

export interface GenerationEvent {
  id: string;
  type: string;
  message: string;
  createdAt: string;
}

export interface Generation {
  id: string;
  status: 'QUEUED' | 'SUBMITTED' | 'PROCESSING' | 'STORING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
  version: number;
  progress: number;
  etaSeconds: number | null;
  cost: Money;
  video: { url: string; sizeBytes: number; contentType: string } | null;
  error: { code: string; message: string; retryable: boolean } | null;
  events: GenerationEvent[];
}

export const FINAL_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);
const STATUSES: ReadonlySet<string> = new Set([...FINAL_STATUSES, 'QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING']);

/** The server's error messages are complete sentences (limits, usage, what to do), so only they are read. */
export type GenerateResult =
  | { __typename: 'GenerateVideoSuccess'; generation: Generation & { provider: string } }
  | { __typename: 'InputError'; message: string; field: string }
  | {
      __typename: 'BudgetExceededError' | 'TooManyActiveGenerationsError' | 'IdempotencyKeyReusedError' | 'UploadFailedError';
      message: string;
    };

export type CancelResult =
  | { __typename: 'CancelGenerationSuccess'; chargeMayApply: boolean; generation: { status: string } }
  | { __typename: 'NotCancelableError'; message: string; status: string }
  | { __typename: 'NotFoundError'; message: string };

/** Checks what the server sent is a generation this command can follow; a bug or garbage otherwise. */
export function asGeneration(value: unknown): Generation {
  const g = value as Partial<Generation> | null | undefined;
  const ok =
    typeof g?.id === 'string' &&
    typeof g.status === 'string' &&
    STATUSES.has(g.status) &&
    typeof g.version === 'number' &&
    typeof g.progress === 'number' &&
    Array.isArray(g.events) &&
    (g.status !== 'SUCCEEDED' || typeof g.video?.url === 'string');
  if (!ok) throw new CliError('UNEXPECTED', `The server sent a generation this command cannot read: ${JSON.stringify(value)?.slice(0, 300)}`);
  return g as Generation;
}
