/** GraphQL documents shared by tests. */

/** A timeline event, as the tests read it. */
export interface GenerationEvent {
  type: string;
  status: string;
  message: string;
  version: number;
  createdAt: string;
}


export const GENERATION_FIELDS = `
  id status version progress etaSeconds prompt negativePrompt image lastFrame aspectRatio durationSeconds
  resolution generateAudio seed idempotencyKey attempts provider costIsFinal
  cost { amount currency }
  video { url contentType sizeBytes }
  error { code message retryable }
  events { type status message version }
  createdAt updatedAt completedAt
`;

export const GENERATE = `mutation Generate($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    __typename
    ... on GenerateVideoSuccess { generation { ${GENERATION_FIELDS} } }
    ... on Error { message }
    ... on InputError { field }
  }
}`;

export const WATCH = `subscription Watch($id: ID!) { generationStatus(id: $id) { ${GENERATION_FIELDS} } }`;

export const GET = `query Get($id: ID!) { generation(id: $id) { ${GENERATION_FIELDS} } }`;

export const CANCEL = `mutation Cancel($id: ID!) {
  cancelGeneration(id: $id) {
    __typename
    ... on CancelGenerationSuccess { chargeMayApply generation { ${GENERATION_FIELDS} } }
    ... on Error { message }
  }
}`;
