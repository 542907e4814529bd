import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO 8601 string such as "2026-01-31T12:00:00.000Z".');
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant in time, as an ISO 8601 string in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('File', {
  description: 'A file sent with a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec).',
  serialize: () => {
    throw new GraphQLError('File is an input-only type.');
  },
  parseValue: (value) => {
    // yoga hands over its own File implementation, so check the shape rather than the class.
    if (typeof value === 'object' && value !== null && 'arrayBuffer' in value && 'size' in value) return value as File;
    throw new GraphQLError('Expected an uploaded file: send a GraphQL multipart request.');
  },
});
