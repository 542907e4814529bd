import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import { API_ERROR_CODES } from '../contract/tables.js';

/**
 * An `onReject` handler for a GraphQL Armor plugin. Armor words its refusals as "Syntax Error: …" without a
 * code; a client needs a stable code and to know how to get under the limit. Throwing here replaces Armor's
 * error wherever it would have thrown it: in the parser or the validation, over HTTP, SSE and WebSocket alike.
 */
export const refuseAs =
  (advice: string) =>
  (_context: unknown, error: GraphQLError): never => {
    const limit = error.message.replace(/^Syntax Error:\s*/, '');
    throw createGraphQLError(`${limit} ${advice}`, { extensions: { code: API_ERROR_CODES.QUERY_TOO_COMPLEX } });
  };

export const QUERY_LIMIT_ADVICE = {
  tokens: 'Send a shorter query: fewer fields, arguments or list items.',
  depth: 'Nest fewer levels of fields.',
  aliases: 'Use fewer aliases, or split the query into several requests.',
  cost: 'Ask for a smaller page (first), fewer fields or fewer aliases.',
} as const;
