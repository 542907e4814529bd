import { isTerminal } from '../db/generations.js';
import { transition } from '../events/timeline.js';
import { sql } from 'drizzle-orm';
import { generations, type GenerationRow } from '../db/schema.js';
import { NotCancelableError, NotFoundError } from '../generations/errors.js';
import { builder } from './builder.js';
import { findGeneration, GenerationRef } from './generation.js';

/** Segmind bills every accepted submit and cannot cancel: once a submit may have gone out, so may a charge. */
const chargeMayApply = (row: GenerationRow) => row.segmindRequestId !== null || row.submitStartedAt !== null;

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
    resolve: async (_root, { id }, ctx) => {
      // A worker may move the row on between our read and our write; the guarded update tells us, so retry.
      for (;;) {
        const current = await findGeneration(ctx, id);
        if (!current) throw new NotFoundError(id);
        if (current.status === 'CANCELED') return { generation: current, chargeMayApply: chargeMayApply(current) };
        if (isTerminal(current.status)) throw new NotCancelableError(id, current.status);
        // Whether a charge may apply is read from the row as the cancel commits: the worker marks a submit
        // under the same row lock, so either it sees our cancel and never submits, or we see its mark.
        const canceled = await transition(ctx.db, id, {
          from: [current.status],
          // Whether anything is charged is only known at commit: the SQL sets cost 0 when no submit went out.
          set: {
            status: 'CANCELED',
            completedAt: new Date(),
            leaseOwner: null,
            leaseExpiresAt: null,
            etaSeconds: null,
            costUsd: sql`case when ${generations.segmindRequestId} is null and ${generations.submitStartedAt} is null then 0 else ${generations.costUsd} end`,
            costFinal: sql`${generations.segmindRequestId} is null and ${generations.submitStartedAt} is null`,
          },
          event: (row) => ({
            type: 'canceled',
            message: chargeMayApply(row)
              ? 'Canceled. Segmind had already been sent the job and cannot stop it, so its charge may still apply.'
              : 'Canceled before it was sent to Segmind; nothing is charged.',
            data: { chargeMayApply: chargeMayApply(row) },
          }),
        });
        if (canceled) return { generation: canceled, chargeMayApply: chargeMayApply(canceled) };
      }
    },
  }),
);
