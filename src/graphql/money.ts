import { formatUsd } from '../generations/charges.js';
import { builder } from './builder.js';

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
