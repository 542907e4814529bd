import { generationStatuses } from '../db/schema.js';
import { generationErrorCodes } from '../generations/errors.js';
import { builder } from './builder.js';

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
