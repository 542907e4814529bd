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
    "mutation PeerGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        id\n        status\n        prompt\n        cost {\n          amount\n          currency\n        }\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription PeerWatch($id: ID!) {\n  generationStatus(id: $id) {\n    id\n    status\n    version\n    progress\n    cost {\n      amount\n      currency\n    }\n    video {\n      url\n      contentType\n      sizeBytes\n    }\n    error {\n      code\n      message\n      retryable\n    }\n  }\n}\n\nquery PeerGet($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    video {\n      url\n    }\n  }\n}\n\nquery PeerList($first: Int, $after: String, $status: [GenerationStatus!]) {\n  generations(first: $first, after: $after, status: $status) {\n    edges {\n      cursor\n      node {\n        id\n        status\n        prompt\n        cost {\n          amount\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.PeerGenerateDocument,
};
const documents: Documents = {
    "mutation PeerGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        id\n        status\n        prompt\n        cost {\n          amount\n          currency\n        }\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription PeerWatch($id: ID!) {\n  generationStatus(id: $id) {\n    id\n    status\n    version\n    progress\n    cost {\n      amount\n      currency\n    }\n    video {\n      url\n      contentType\n      sizeBytes\n    }\n    error {\n      code\n      message\n      retryable\n    }\n  }\n}\n\nquery PeerGet($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    video {\n      url\n    }\n  }\n}\n\nquery PeerList($first: Int, $after: String, $status: [GenerationStatus!]) {\n  generations(first: $first, after: $after, status: $status) {\n    edges {\n      cursor\n      node {\n        id\n        status\n        prompt\n        cost {\n          amount\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.PeerGenerateDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PeerGenerate($input: GenerateVideoInput!) {\n  generateVideo(input: $input) {\n    __typename\n    ... on GenerateVideoSuccess {\n      generation {\n        id\n        status\n        prompt\n        cost {\n          amount\n          currency\n        }\n      }\n    }\n    ... on Error {\n      message\n    }\n    ... on InputError {\n      field\n    }\n  }\n}\n\nsubscription PeerWatch($id: ID!) {\n  generationStatus(id: $id) {\n    id\n    status\n    version\n    progress\n    cost {\n      amount\n      currency\n    }\n    video {\n      url\n      contentType\n      sizeBytes\n    }\n    error {\n      code\n      message\n      retryable\n    }\n  }\n}\n\nquery PeerGet($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    video {\n      url\n    }\n  }\n}\n\nquery PeerList($first: Int, $after: String, $status: [GenerationStatus!]) {\n  generations(first: $first, after: $after, status: $status) {\n    edges {\n      cursor\n      node {\n        id\n        status\n        prompt\n        cost {\n          amount\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): typeof import('./graphql.js').PeerGenerateDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
