/**
 * Checks on the numbers Segmind reports about a finished job. Upstream values are believed only within
 * bounds that follow from what we know ourselves (the list price, our own clock); outside them they are
 * an upstream fault and our own figure stands.
 */

/** A reported charge above this multiple of the list price is not believed. */
export const MAX_COST_FACTOR = 10;

/** Slack for the network and clocks when comparing Segmind's job time with ours. */
const UPSTREAM_SECONDS_SLACK = 60;

export type CostCheck = { believed: true; usd: number } | { believed: false; reason: string };

/**
 * Whether the charge Segmind reported can be the cost of a job with this list price: 0 (e.g. a job it did
 * not bill) up to {@link MAX_COST_FACTOR} × the list price. A negative or huge figure would move a daily
 * budget or overflow the cost column.
 */
export function checkReportedCost(reportedUsd: number, listPriceUsd: number): CostCheck {
  const maxUsd = listPriceUsd * MAX_COST_FACTOR;
  if (Number.isFinite(reportedUsd) && reportedUsd >= 0 && reportedUsd <= maxUsd) return { believed: true, usd: reportedUsd };
  return { believed: false, reason: `outside $0 to $${maxUsd.toFixed(2)} (${MAX_COST_FACTOR} × the list price)` };
}

/**
 * Seconds Segmind took for a job: its own figure when it is positive and not longer than we have known of the
 * job (plus slack), our measurement otherwise. The value feeds polling and ETAs of later jobs.
 */
export function upstreamSecondsOrOwn(reportedSeconds: number | undefined, ownSeconds: number): number {
  const plausible =
    reportedSeconds !== undefined &&
    Number.isFinite(reportedSeconds) &&
    reportedSeconds > 0 &&
    reportedSeconds <= ownSeconds + UPSTREAM_SECONDS_SLACK;
  return plausible ? reportedSeconds : ownSeconds;
}
