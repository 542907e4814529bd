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
    "fragment CliGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    sizeBytes\n    contentType\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    id\n    type\n    message\n    createdAt\n  }\n}\n\nquery Estimate($input: GenerateVideoInput!) {\n  estimateCost(input: $input) {\n    amount\n    currency\n  }\n}\n\nmutation Generate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...CliGeneration\n        provider\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription Watch($id: ID!) {\n  generationStatus(id: $id) {\n    ...CliGeneration\n  }\n}\n\nmutation Cancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        status\n      }\n    }\n    ... on NotCancelableError {\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.CliGenerationFragmentDoc,
};
const documents: Documents = {
    "fragment CliGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    sizeBytes\n    contentType\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    id\n    type\n    message\n    createdAt\n  }\n}\n\nquery Estimate($input: GenerateVideoInput!) {\n  estimateCost(input: $input) {\n    amount\n    currency\n  }\n}\n\nmutation Generate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...CliGeneration\n        provider\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription Watch($id: ID!) {\n  generationStatus(id: $id) {\n    ...CliGeneration\n  }\n}\n\nmutation Cancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        status\n      }\n    }\n    ... on NotCancelableError {\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.CliGenerationFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment CliGeneration on Generation {\n  id\n  status\n  version\n  progress\n  etaSeconds\n  cost {\n    amount\n    currency\n  }\n  video {\n    url\n    sizeBytes\n    contentType\n  }\n  error {\n    code\n    message\n    retryable\n  }\n  events {\n    id\n    type\n    message\n    createdAt\n  }\n}\n\nquery Estimate($input: GenerateVideoInput!) {\n  estimateCost(input: $input) {\n    amount\n    currency\n  }\n}\n\nmutation Generate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        ...CliGeneration\n        provider\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription Watch($id: ID!) {\n  generationStatus(id: $id) {\n    ...CliGeneration\n  }\n}\n\nmutation Cancel($id: ID!) {\n  cancelGeneration(id: $id) {\n    __typename\n    ... on CancelGenerationSuccess {\n      chargeMayApply\n      generation {\n        status\n      }\n    }\n    ... on NotCancelableError {\n      status\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): typeof import('./graphql.js').CliGenerationFragmentDoc;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
