import { createInMemoryAPQStore, useAPQ, type APQStore } from '@graphql-yoga/plugin-apq';
import type { Plugin } from 'graphql-yoga';

/** How many automatic persisted queries one process keeps, and how long each may be. */
export interface PersistedQueryLimits {
  /** Entries; the least recently used one is dropped for a new one. */
  persistedQueries: number;
  /** Longest query kept, in UTF-8 bytes (a JSON body may be 1 MB; this is what bounds an entry). */
  persistedQueryBytes: number;
}

/**
 * A bounded store: at most `persistedQueries` entries of at most `persistedQueryBytes` each, so no client can
 * grow memory by registering queries. A query over the size is not kept; it still runs, and its next hash-only
 * request is answered PERSISTED_QUERY_NOT_FOUND, so the client sends it in full again.
 */
export function createPersistedQueryStore(limits: PersistedQueryLimits): APQStore {
  // Entries leave by use order alone: the plugin's default expiry (36 s; the ttl is in milliseconds) would make
  // clients resend their queries every minute. 0 turns it off.
  const store = createInMemoryAPQStore({ max: limits.persistedQueries, ttl: 0 });
  return {
    get: (hash) => store.get(hash),
    async set(hash, query) {
      if (Buffer.byteLength(query) <= limits.persistedQueryBytes) await store.set(hash, query);
    },
  };
}

/**
 * Apollo's automatic persisted queries over GET and POST: a hash-only request for an unknown hash answers
 * PERSISTED_QUERY_NOT_FOUND, the client sends the query with its hash, and from then on the hash alone works.
 * The query is restored before parsing, so a persisted query meets every limit and check a sent one does.
 */
export const usePersistedQueries = (limits: PersistedQueryLimits): Plugin =>
  useAPQ({ store: createPersistedQueryStore(limits) });
