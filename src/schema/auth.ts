import { createGraphQLError } from 'graphql-yoga';
import type { ApiKey } from '../auth/keys.js';
import type { AppContext } from './context.js';

/** The caller's key, or an UNAUTHENTICATED error that says how to authenticate. */
export function requireKey(ctx: AppContext): ApiKey {
  if (ctx.apiKey) return ctx.apiKey;
  throw createGraphQLError(
    ctx.authProblem === 'invalid'
      ? 'The API key is invalid or has been revoked. Send a valid key as "Authorization: Bearer <key>".'
      : 'Authentication required: send your API key as "Authorization: Bearer <key>" (over WebSocket, as connectionParams.authorization).',
    { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } },
  );
}
