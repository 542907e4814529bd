import type { GenerationRow } from '../db/schema.js';
import { cancelGeneration } from '../generations/cancel.js';
import { NotCancelableError, NotFoundError } from '../generations/errors.js';
import { requireKey } from './auth.js';
import { builder } from './builder.js';
import { GenerationRef } from './generation.js';

const CancelGenerationSuccess = builder
  .objectRef<{ generation: GenerationRow; chargeMayApply: boolean }>('CancelGenerationSuccess')
  .implement({
    fields: (t) => ({
      generation: t.field({ type: GenerationRef, resolve: (r) => r.generation }),
      chargeMayApply: t.exposeBoolean('chargeMayApply', {
        description: 'True when Segmind had already accepted the job: it cannot be stopped there and may still be charged.',
      }),
    }),
  });

builder.mutationField('cancelGeneration', (t) =>
  t.field({
    type: CancelGenerationSuccess,
    description: 'Stops a generation. Before submission nothing is spent; after it, Segmind may still charge.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, NotCancelableError], directResult: true, union: { name: 'CancelGenerationResult' } },
    resolve: (_root, { id }, ctx) => cancelGeneration(ctx.db, requireKey(ctx).id, id),
  }),
);
