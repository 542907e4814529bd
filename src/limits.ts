/** Limits that apply identically over HTTP, SSE and WebSocket (they run in the shared envelop pipeline). */
export const LIMITS = {
  depth: 12,
  aliases: 15,
  tokens: 2000,
  /** Fits a full 100-item page of generations with every field. */
  cost: 20000,
  /** graphql-ws frames, in bytes. */
  webSocketPayload: 64 * 1024,
  /** Time a new socket has to send ConnectionInit. */
  connectionInitMs: 5000,
  subscriptionsPerConnection: 20,
  /** generationStatus streams one key may hold open in one process, over WebSocket and SSE together. */
  subscriptionsPerKey: 100,
} as const;

export const subscriptionsPerKeyMessage = `At most ${LIMITS.subscriptionsPerKey} generationStatus subscriptions may be open at once for one API key; close one first.`;
