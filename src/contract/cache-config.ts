/*
 * What a normalizing client cache needs to know about this schema, for Apollo Client (InMemoryCache) and urql's
 * graphcache. Both caches store objects by `__typename` + `id`, so without this they guess: Apollo drops
 * `... on Error { message }` on an InputError (it cannot tell that InputError implements Error) and warns
 * "Cache data may be lost" when an object without an id is replaced; graphcache matches such fragments
 * heuristically and warns about every object it cannot key. Type-only imports: nothing of either client is
 * loaded by the server, and a client takes these plain objects with the client it already has.
 */
import type { TypePolicies } from '@apollo/client';
import type { KeyingConfig, PossibleTypesConfig } from '@urql/exchange-graphcache';
import { introspection } from './generated/introspection.js';
import generated from './generated/possible-types.js';

/**
 * Every union and interface with the object types it may be, generated from schema.graphql by
 * `npm run schema:print` (codegen's fragment-matcher): `new InMemoryCache({ possibleTypes })`.
 */
export const possibleTypes: PossibleTypesConfig = generated.possibleTypes;

/**
 * The schema's introspection, generated from schema.graphql: `cacheExchange({ schema: graphcacheSchema })`.
 * graphcache also takes `possibleTypes`, but with only that it still writes a union result through the
 * fragments of every member and warns "Invalid undefined" about the fields of the members it is not (9.0.2).
 */
export const graphcacheSchema = introspection;

/**
 * The object types that are values, not entities: each is only ever read inside the object that holds it (a
 * generation's `cost`, `video` and `error`, a connection's `pageInfo` and edges, a mutation's result), so a
 * cache keeps it embedded there instead of under a key of its own. Generation and GenerationEvent have ids
 * and are normalized. NotFoundError and NotCancelableError carry an `id`, but it is the id of the generation
 * they are about, not theirs: they are values too. schema-drift.test.ts fails when an object type without an
 * id is missing here, so every new type gets this choice made for it.
 */
export const EMBEDDED_TYPES = [
  'BudgetExceededError',
  'CancelGenerationSuccess',
  'FieldProblem',
  'GenerateStorySuccess',
  'GenerateVideoSuccess',
  'GenerationConnection',
  'GenerationEdge',
  'GenerationError',
  'IdempotencyKeyReusedError',
  'InputError',
  'Money',
  'NotCancelableError',
  'NotFoundError',
  'PageInfo',
  'RotateWebhookSecretSuccess',
  'TooManyActiveGenerationsError',
  'UploadFailedError',
  'Video',
  'Viewer',
  'WebhookAttempt',
] as const;

/**
 * Apollo Client's type policies for the embedded types: `keyFields: false` keeps each inside its parent, and
 * `merge: true` merges a newer copy into the one already there (a generation's `cost` read with fewer fields
 * by another query, say) instead of replacing it, which is what the "Cache data may be lost" warning asks
 * for. Pagination is the client's own: add `Query.fields.generations: relayStylePagination(['status'])`.
 */
export const apolloTypePolicies: TypePolicies = Object.fromEntries(
  EMBEDDED_TYPES.map((typename) => [typename, { keyFields: false, merge: true }]),
);

/**
 * graphcache's keys for the embedded types: a key function returning null tells graphcache the object is
 * embedded in its parent on purpose, so it does not warn that it found no `id`. Pagination is the client's
 * own: add `resolvers: { Query: { generations: relayPagination() } }`.
 */
export const graphcacheKeys: KeyingConfig = Object.fromEntries(EMBEDDED_TYPES.map((typename) => [typename, () => null]));
