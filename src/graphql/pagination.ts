import { createGraphQLError } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';
import {
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  isPageSize,
  listPage,
  MAX_PAGE_SIZE,
  type PageRequest,
} from '../generations/lookup.js';
import { builder, requireKey } from './builder.js';
import { GenerationRef } from './generation.js';
import { GenerationStatusEnum } from './value-types.js';

/*
 * `generations`: a Relay connection (cursor connections spec) over the key's generations, newest first.
 * `first`/`after` page towards older generations, `last`/`before` towards newer ones; both read by keyset.
 */

const badInput = (field: string, message: string) =>
  createGraphQLError(message, { extensions: { code: API_ERROR_CODES.BAD_USER_INPUT, field } });

/** The listing position a client's cursor names; a cursor this server did not issue is bad input. */
function position(field: 'after' | 'before', cursor: string | null | undefined) {
  if (cursor == null) return undefined;
  const decoded = decodeCursor(cursor);
  if (!decoded) {
    const from = field === 'after' ? 'an endCursor' : 'a startCursor';
    throw badInput(field, `${field} is not a cursor this server issued; pass ${from} from a previous page.`);
  }
  return decoded;
}

function pageSize(field: 'first' | 'last', size: number): number {
  if (!isPageSize(size)) throw badInput(field, `${field} must be from 1 to ${MAX_PAGE_SIZE}; got ${size}.`);
  return size;
}

interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** The connection arguments as a page request, or the BAD_USER_INPUT error that says what to send instead. */
export function toPageRequest(args: PageArgs): Omit<PageRequest, 'statuses'> {
  if (args.first != null && args.last != null) {
    throw badInput(
      'last',
      'Pass first (with after) to page towards older generations, or last (with before) towards newer ones; not both.',
    );
  }
  const bounds = { after: position('after', args.after), before: position('before', args.before) };
  return args.last != null
    ? { direction: 'backward', size: pageSize('last', args.last), ...bounds }
    : { direction: 'forward', size: pageSize('first', args.first ?? DEFAULT_PAGE_SIZE), ...bounds };
}

builder.queryField('generations', (t) =>
  t.connection(
    {
      type: GenerationRef,
      description:
        'Generations, newest first: a Relay connection. first/after page towards older ones, last/before towards newer ones.',
      args: { status: t.arg({ type: [GenerationStatusEnum], description: 'Only generations in these statuses.' }) },
      resolve: async (_root, args, ctx) => {
        const apiKey = requireKey(ctx);
        const { rows, hasNextPage, hasPreviousPage } = await listPage(ctx.db, apiKey.id, {
          ...toPageRequest(args),
          statuses: args.status ?? undefined,
        });
        const edges = rows.map((node) => ({ cursor: encodeCursor(node), node }));
        const startCursor = edges[0]?.cursor ?? null;
        const endCursor = edges.at(-1)?.cursor ?? null;
        return { edges, pageInfo: { hasNextPage, hasPreviousPage, startCursor, endCursor } };
      },
    },
    { name: 'GenerationConnection' },
    { name: 'GenerationEdge' },
  ),
);

