import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';
import { generationStatuses } from '../db/schema.js';
import { generationErrorCodes } from '../generations/errors.js';
import { formatUsd } from '../generations/charges.js';

/*
 * The value types every feature uses: the DateTime and File scalars, the enums (aspect ratio, resolution,
 * status, error code, provider) and Money.
 */

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

export const AspectRatioEnum = builder.enumType('AspectRatio', {
  values: {
    RATIO_16_9: { value: '16:9' as const, description: 'Landscape, 1920×1080 at 1080p.' },
    RATIO_9_16: { value: '9:16' as const, description: 'Portrait, 1080×1920 at 1080p.' },
  },
});

export const ResolutionEnum = builder.enumType('Resolution', {
  values: {
    RES_720P: { value: '720p' as const },
    RES_1080P: { value: '1080p' as const },
  },
});

export const GenerationStatusEnum = builder.enumType('GenerationStatus', {
  description: 'QUEUED → SUBMITTED → PROCESSING → STORING → SUCCEEDED; FAILED and CANCELED are final too.',
  values: generationStatuses,
});

export const GenerationErrorCodeEnum = builder.enumType('GenerationErrorCode', {
  values: Object.fromEntries(
    Object.entries(generationErrorCodes).map(([code, description]) => [code, { description }]),
  ) as { [K in keyof typeof generationErrorCodes]: { description: string } },
});

export const ProviderEnum = builder.enumType('Provider', {
  values: {
    SEGMIND: { description: "Segmind's hosted Veo 3.1 Fast: real videos, real charges." },
    SIMULATOR: { description: 'The built-in Segmind simulator: a sample video, no charge.' },
  } as const,
});

export interface Money {
  amount: string;
  currency: 'USD';
}

export const usd = (amount: number | string): Money => ({ amount: formatUsd(amount), currency: 'USD' });

export const MoneyRef = builder.objectRef<Money>('Money').implement({
  description: 'An amount of money. `amount` is a decimal string such as "1.20", never a float.',
  fields: (t) => ({
    amount: t.exposeString('amount'),
    currency: t.exposeString('currency', { description: 'ISO 4217 code; always "USD".' }),
  }),
});
