import { AppError, InputError, NotCancelableError, NotFoundError } from '../errors.js';
import { builder } from './builder.js';
import { GenerationStatusEnum } from './enums.js';

/** Every error returned as data implements this, so clients can always ask `... on Error { message }`. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure, returned as data. `message` says what went wrong and how to fix it.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

builder.objectType(InputError, {
  name: 'InputError',
  description: 'The input broke a rule. `field` names the input field; `message` says what is allowed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field') }),
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
