/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment TestGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  prompt\n  negativePrompt\n  image\n  lastFrame\n  aspectRatio\n  durationSeconds\n  resolution\n  generateAudio\n  seed\n  idempotencyKey\n  attempts\n  provider\n  costIsFinal\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    contentType\n    sizeBytes\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    type\n    status\n    message\n    version\n  }\n  createdAt\n  updatedAt\n  completedAt\n}\n\nmutation TestGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription TestWatch($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGeneration\n  }\n}\n\nquery TestGet($id: ID!) {\n  generation(id: $id) {\n    ...TestGeneration\n  }\n}\n\nmutation TestCancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}\n\nfragment TestGenerationWithEventTimes on Generation {\n  ...TestGeneration\n  events {\n    createdAt\n  }\n}\n\nquery TestGetWithEventTimes($id: ID!) {\n  generation(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}\n\nsubscription TestWatchWithEventTimes($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}": typeof types.TestGenerationFragmentDoc,
};
const documents: Documents = {
    "fragment TestGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  prompt\n  negativePrompt\n  image\n  lastFrame\n  aspectRatio\n  durationSeconds\n  resolution\n  generateAudio\n  seed\n  idempotencyKey\n  attempts\n  provider\n  costIsFinal\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    contentType\n    sizeBytes\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    type\n    status\n    message\n    version\n  }\n  createdAt\n  updatedAt\n  completedAt\n}\n\nmutation TestGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription TestWatch($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGeneration\n  }\n}\n\nquery TestGet($id: ID!) {\n  generation(id: $id) {\n    ...TestGeneration\n  }\n}\n\nmutation TestCancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}\n\nfragment TestGenerationWithEventTimes on Generation {\n  ...TestGeneration\n  events {\n    createdAt\n  }\n}\n\nquery TestGetWithEventTimes($id: ID!) {\n  generation(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}\n\nsubscription TestWatchWithEventTimes($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}": types.TestGenerationFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment TestGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  prompt\n  negativePrompt\n  image\n  lastFrame\n  aspectRatio\n  durationSeconds\n  resolution\n  generateAudio\n  seed\n  idempotencyKey\n  attempts\n  provider\n  costIsFinal\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    contentType\n    sizeBytes\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    type\n    status\n    message\n    version\n  }\n  createdAt\n  updatedAt\n  completedAt\n}\n\nmutation TestGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription TestWatch($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGeneration\n  }\n}\n\nquery TestGet($id: ID!) {\n  generation(id: $id) {\n    ...TestGeneration\n  }\n}\n\nmutation TestCancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        ...TestGeneration\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}\n\nfragment TestGenerationWithEventTimes on Generation {\n  ...TestGeneration\n  events {\n    createdAt\n  }\n}\n\nquery TestGetWithEventTimes($id: ID!) {\n  generation(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}\n\nsubscription TestWatchWithEventTimes($id: ID!) {\n  generationStatus(id: $id) {\n    ...TestGenerationWithEventTimes\n  }\n}"): typeof import('./graphql.js').TestGenerationFragmentDoc;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
