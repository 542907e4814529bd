import type { ApiKey } from '../auth/keys.js';
import { keyUsage, nextUtcMidnight } from '../generations/admission.js';
import { rotateSigningSecret, signingSecretsOf } from '../webhooks/secrets.js';
import { builder, requireKey } from './builder.js';
import { MoneyRef, usd } from './value-types.js';

/*
 * `viewer`: the calling key's own account, from the rules admission applies (the spend a BudgetExceededError
 * would count, the unfinished generations the cap counts), and its webhook signing secret.
 */

/** The key, with its usage and secrets read at most once per request however many fields ask for them. */
interface ViewerSource {
  key: ApiKey;
  usage: () => ReturnType<typeof keyUsage>;
  secrets: () => ReturnType<typeof signingSecretsOf>;
}

const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
};

const ViewerRef = builder.objectRef<ViewerSource>('Viewer').implement({
  description: 'The API key making the request: its limits, what it used today, and its webhook signing secret.',
  fields: (t) => ({
    name: t.string({ resolve: ({ key }) => key.name }),
    keyPrefix: t.string({ description: 'The start of the key, as listings and logs show it.', resolve: ({ key }) => key.prefix }),
    spentToday: t.field({
      type: MoneyRef,
      description:
        'Spend counted against today’s budget (UTC): generations created or ended today and those still running, as admission sums it.',
      resolve: async (viewer) => usd((await viewer.usage()).spentTodayUsd),
    }),
    dailyBudget: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'The key’s daily budget; null for no limit.',
      resolve: ({ key }) => (key.dailyBudgetUsd === null ? null : usd(key.dailyBudgetUsd)),
    }),
    budgetResetsAt: t.field({ type: 'DateTime', description: 'When today’s spend starts again from zero (next UTC midnight).', resolve: () => nextUtcMidnight() }),
    activeGenerations: t.int({
      description: 'Generations not yet SUCCEEDED, FAILED or CANCELED, as maxActive counts them.',
      resolve: async (viewer) => (await viewer.usage()).activeGenerations,
    }),
    maxActive: t.int({ nullable: true, description: 'Most unfinished generations at once; null for no limit.', resolve: ({ key }) => key.maxActive }),
    webhookSecret: t.string({
      description: 'The key’s webhook signing secret (`whsec_` + base64), made on first use. Verify deliveries with it (standardwebhooks).',
      resolve: async (viewer) => (await viewer.secrets()).current,
    }),
    previousWebhookSecretValidUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While set, deliveries are also signed with the secret before the last rotation.',
      resolve: async (viewer) => (await viewer.secrets()).previous?.validUntil ?? null,
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'The calling API key’s own account.',
    resolve: (_root, _args, ctx) => {
      const key = requireKey(ctx);
      return { key, usage: once(() => keyUsage(ctx.db, key.id)), secrets: once(() => signingSecretsOf(ctx.db, key.id)) };
    },
  }),
);

const RotateWebhookSecretSuccess = builder
  .objectRef<{ webhookSecret: string; previousSecretValidUntil: Date | null }>('RotateWebhookSecretSuccess')
  .implement({
    fields: (t) => ({
      webhookSecret: t.exposeString('webhookSecret', { description: 'The new secret: deliveries are signed with it from now on.' }),
      previousSecretValidUntil: t.expose('previousSecretValidUntil', {
        type: 'DateTime',
        nullable: true,
        description: 'Until then deliveries also carry a signature made with the previous secret (WEBHOOK_SECRET_GRACE_SECONDS).',
      }),
    }),
  });

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: RotateWebhookSecretSuccess,
    description: 'Replaces the key’s webhook signing secret; the previous one keeps signing deliveries for a grace period.',
    errors: { types: [], directResult: true, union: { name: 'RotateWebhookSecretResult' } },
    resolve: async (_root, _args, ctx) => {
      const key = requireKey(ctx);
      const secrets = await rotateSigningSecret(ctx.db, key.id, ctx.webhookSecretGraceSeconds);
      ctx.log.info('webhook secret rotated', { previousSecretValidUntil: secrets.previous?.validUntil ?? null });
      return { webhookSecret: secrets.current, previousSecretValidUntil: secrets.previous?.validUntil ?? null };
    },
  }),
);
