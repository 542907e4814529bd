import { createGraphQLError } from 'graphql-yoga';
import type { ApiKey } from '../auth/keys.js';
import type { AppContext } from './context.js';
import { API_ERROR_CODES } from '../contract/tables.js';

/** What a client without a usable key is told, by what was wrong with the key it sent. */
export const unauthenticatedMessage = (problem: 'missing' | 'invalid' | null) =>
  problem === 'invalid'
    ? 'The API key is invalid or has been revoked. Send a valid key as "Authorization: Bearer <key>".'
    : 'Authentication required: send your API key as "Authorization: Bearer <key>" (over WebSocket, as connectionParams.authorization).';

/** The UNAUTHENTICATED error that says how to authenticate. */
export const unauthenticatedError = (problem: 'missing' | 'invalid' | null) =>
  createGraphQLError(unauthenticatedMessage(problem), { extensions: { code: API_ERROR_CODES.UNAUTHENTICATED, http: { status: 401 } } });

/** The caller's key, or an UNAUTHENTICATED error that says how to authenticate. */
export function requireKey(ctx: AppContext): ApiKey {
  if (ctx.apiKey) return ctx.apiKey;
  throw unauthenticatedError(ctx.authProblem);
}
