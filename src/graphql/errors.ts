import { AppError, BudgetExceededError, inputErrorCodes, IdempotencyKeyReusedError, InputError, NotCancelableError, NotFoundError, TooManyActiveGenerationsError, UploadFailedError, type FieldProblem } from '../generations/errors.js';
import { builder } from './builder.js';
import { GenerationStatusEnum, MoneyRef, usd } from './value-types.js';
import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import { API_ERROR_CODES } from '../contract/tables.js';

/** Every error returned as data implements this, so clients can always ask `... on Error { message }`. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure, returned as data. `message` says what went wrong and how to fix it.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  description: 'One input field that broke a rule, and what is allowed.',
  fields: (t) => ({ field: t.exposeString('field'), message: t.exposeString('message') }),
});

const InputErrorCodeEnum = builder.enumType('InputErrorCode', {
  description: 'Stable names of the input rules a client may want to react to in code.',
  values: Object.fromEntries(Object.entries(inputErrorCodes).map(([code, description]) => [code, { description }])) as {
    [K in keyof typeof inputErrorCodes]: { description: string };
  },
});

builder.objectType(InputError, {
  name: 'InputError',
  description: 'The input broke a rule. `field` names the input field; `message` says what is allowed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field'),
    code: t.expose('code', {
      type: InputErrorCodeEnum,
      nullable: true,
      description: 'The rule broken, for the few rules a client may switch on (continueFrom\'s); null for the rest, where field says enough.',
    }),
    problems: t.field({
      type: [FieldProblemRef],
      description: 'Every rule the input broke, so all can be fixed at once; the first is `field` and `message`.',
      resolve: (error) => [...error.problems],
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'No generation with this id is visible to you.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ id: t.exposeID('id') }),
});

builder.objectType(NotCancelableError, {
  name: 'NotCancelableError',
  description: 'The generation already reached a final status.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ id: t.exposeID('id'), status: t.expose('status', { type: GenerationStatusEnum }) }),
});

const BudgetScopeEnum = builder.enumType('BudgetScope', {
  values: {
    KEY: { description: "Your API key's daily budget." },
    SERVER: { description: "The server's daily budget, shared by every key." },
  } as const,
});

builder.objectType(BudgetExceededError, {
  name: 'BudgetExceededError',
  description: 'This generation would take a daily spend budget over its limit. Nothing was queued or charged.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    scope: t.expose('scope', { type: BudgetScopeEnum }),
    limit: t.field({ type: MoneyRef, resolve: (e) => usd(e.limitUsd) }),
    used: t.field({ type: MoneyRef, description: 'Spent today (UTC), estimates included: what was created or ended today, and what is still running.', resolve: (e) => usd(e.usedUsd) }),
    price: t.field({ type: MoneyRef, description: 'What this generation would cost.', resolve: (e) => usd(e.priceUsd) }),
    resetsAt: t.expose('resetsAt', { type: 'DateTime', description: 'The next midnight UTC.' }),
  }),
});

builder.objectType(TooManyActiveGenerationsError, {
  name: 'TooManyActiveGenerationsError',
  description: 'Your API key has as many unfinished generations as it may. A slot frees up when one finishes or is canceled.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    limit: t.exposeInt('limit'),
    active: t.exposeInt('active', { description: 'Your generations now QUEUED, SUBMITTED, PROCESSING or STORING.' }),
  }),
});

builder.objectType(IdempotencyKeyReusedError, {
  name: 'IdempotencyKeyReusedError',
  description: 'The idempotencyKey was used before with a different input.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey'),
    generationId: t.exposeID('generationId', { description: 'The generation the key was first used for.' }),
  }),
});

builder.objectType(UploadFailedError, {
  name: 'UploadFailedError',
  description: 'An uploaded frame could not be stored at Segmind. Nothing was queued or charged.',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

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
