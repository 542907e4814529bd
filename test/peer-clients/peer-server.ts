import type { DocumentTypeDecoration, TypedDocumentNode } from '@graphql-typed-document-node/core';
import { format } from 'node:util';
import { parse } from 'graphql';
import { expect } from 'vitest';
import {
  PeerGenerateDocument,
  PeerListDocument,
  PeerWatchDocument,
  type PeerListQuery,
} from '../../src/contract/generated/peers/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startSimulator } from '../helpers/simulator.js';

/** What every peer-client file runs against: the real server on its own Postgres database and a simulator. */
export interface PeerServer {
  app: TestApp;
  database: TestDatabase;
  /** http://127.0.0.1:<port>/graphql, the one endpoint for HTTP, SSE and WebSocket. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startPeerServer(): Promise<PeerServer> {
  const database = await createTestDatabase();
  const { simulator, env } = await startSimulator();
  const app = await startTestApp({ DATABASE_URL: database.url, ...env });
  return {
    app,
    database,
    endpoint: `${app.url}/graphql`,
    async stop() {
      await app.stop();
      await simulator.stop();
      await database.drop();
    },
  };
}

/** A generated string document (src/contract/generated/peers) as the typed DocumentNode Apollo and urql take. */
const documentNode = <Result, Variables>(
  document: DocumentTypeDecoration<Result, Variables> & { toString(): string },
): TypedDocumentNode<Result, Variables> => parse(document.toString());

/** The documents Apollo and urql send (graphql-request takes the generated strings as they are). */
export const GENERATE = documentNode(PeerGenerateDocument);
export const WATCH = documentNode(PeerWatchDocument);
export const LIST = documentNode(PeerListDocument);

/** A valid input that the simulator finishes quickly, and one that breaks a rule (durationSeconds must be 4, 6 or 8). */
export const GOOD_INPUT = { prompt: 'A paper boat sails across a puddle after the rain', durationSeconds: 4 } as const;
export const BAD_INPUT = { prompt: 'A paper boat', durationSeconds: 5 } as const;

/** Whether a subscriber saw each version once and in order (the server's promise for generationStatus). */
const isConsecutive = (versions: (number | undefined)[]) =>
  versions.length > 0 && versions.every((version, i) => version !== undefined && (i === 0 || version === versions[i - 1]! + 1));

/** How long a subscription may take to reach a final status (the simulator's job takes 300 ms). */
export const followTimeoutMs = 20_000;
/** Small pages, so three generations take two pages; the loops stop after MAX_PAGES whatever the server says. */
export const PAGE_SIZE = 2;
export const MAX_PAGES = 20;

/** The key's generations, newest first, as the server lists them in one page over plain fetch: what paging must add up to. */
export async function serverListIds(server: PeerServer): Promise<string[]> {
  const body = await server.app.graphql<PeerListQuery>(PeerListDocument.toString(), { first: 100 });
  if (!body.data) throw new Error(`generations answered ${JSON.stringify(body)}`);
  return body.data.generations.edges.map((edge) => edge.node.id);
}

/** What a client saw when it made three videos, followed the first to the end and paged the list. */
export interface FollowedAndPaged {
  /** Every version of the followed generation the client was handed, in order. */
  versions: (number | undefined)[];
  last: { status: string; progress: number; video: { url: string; contentType: string } | null } | undefined;
  /** The list as the client's pagination helper merged it, and how many pages it took. */
  paged: { ids: string[]; pages: number };
}

/**
 * Each version once and in order up to SUCCEEDED with a video on this server, and pages that add up to the
 * server's whole list (more than one page of it) in its order.
 */
export async function expectFollowedAndPaged(server: PeerServer, { versions, last, paged }: FollowedAndPaged): Promise<void> {
  expect(isConsecutive(versions), `versions ${versions.join(', ')}`).toBe(true);
  expect(last).toMatchObject({ status: 'SUCCEEDED', progress: 1, video: { contentType: 'video/mp4' } });
  expect(last?.video?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/videos\//);
  const expected = await serverListIds(server);
  expect(expected.length).toBeGreaterThan(PAGE_SIZE);
  expect(paged).toEqual({ ids: expected, pages: Math.ceil(expected.length / PAGE_SIZE) });
}

/**
 * Collects what a client library writes to console.warn and console.error while `run` runs (Apollo's invariant
 * and graphcache both warn there), and restores the console after. The warnings are returned, not printed.
 */
export async function consoleWarningsDuring<T>(run: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const { warn, error } = console;
  // Formatted as the console would print them: Apollo passes a format string ("... the %s field ...") and its values.
  const collect = (...args: unknown[]) => warnings.push(format(...args));
  console.warn = collect;
  console.error = collect;
  try {
    return { result: await run(), warnings };
  } finally {
    console.warn = warn;
    console.error = error;
  }
}
