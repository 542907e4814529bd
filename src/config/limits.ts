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
} as const;

/** The refusal when a key holds as many generationStatus streams as MAX_SUBSCRIPTIONS_PER_KEY allows. */
export const subscriptionsPerKeyMessage = (limit: number) =>
  `At most ${limit} generationStatus subscriptions may be open at once for one API key; close one first.`;
