import { PageViewerDocument, type PageViewerQuery } from '../../contract/generated/page/graphql.js';
import type { Api } from './api.js';
import { byId, show } from './dom.js';
import { money } from './words.js';

/**
 * The line under the form that says what the key spent today and what it may: "Spent $3.60 of $20.00 today ·
 * 1 of 5 running". The figures are `viewer`'s, which the server takes from the same rules as its budget check.
 */
export function spendWords(viewer: PageViewerQuery['viewer']): string {
  const spent = viewer.dailyBudget
    ? `Spent ${money(viewer.spentToday)} of ${money(viewer.dailyBudget)} today`
    : `Spent ${money(viewer.spentToday)} today (no daily budget)`;
  const running = viewer.maxActive === null ? `${viewer.activeGenerations} running` : `${viewer.activeGenerations} of ${viewer.maxActive} running`;
  return `${spent} · ${running}`;
}

export function setupSpendLine(api: Api) {
  const line = byId('spend');
  return {
    /** Asks the server again; a failure leaves the line as it was (the page reports it elsewhere). */
    async load(): Promise<void> {
      const { viewer } = await api.request(PageViewerDocument);
      line.textContent = spendWords(viewer);
      show(line, true);
    },
    clear(): void {
      line.textContent = '';
      show(line, false);
    },
  };
}
