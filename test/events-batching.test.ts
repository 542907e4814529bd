import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, GENERATE, type TestGeneration } from './helpers/clients.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startStatementCounter, type StatementCounter } from './helpers/statement-counter.js';

/**
 * No N+1: a page of generations selecting each one's events costs the same number of SQL statements whatever the
 * page size. The app runs on its own test database through a relay that records every statement Postgres is sent.
 */

const PAGE = `query Page($first: Int) { generations(first: $first) { edges { node { id events { type version } } } } }`;
const PAGE_AND_NODES = `query Both($first: Int, $ids: [ID!]!) {
  generations(first: $first) { nodes { id events { type } } }
  nodes(ids: $ids) { id ... on Generation { events { type } } }
}`;

interface PageResult {
  generations: { edges: { node: { id: string; events: { type: string; version: number }[] } }[] };
}

const readsEvents = (sql: string) => /\bfrom "generation_events"/i.test(sql);

describe.skipIf(!hasPostgres)('events of a page of generations', () => {
  let database: TestDatabase;
  let counter: StatementCounter;
  let server: TestApp;
  /** Newest first; every other one canceled, so timelines differ in length. */
  const made: { id: string; canceled: boolean }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    counter = await startStatementCounter(database.url);
    // API only: no worker, so nothing runs SQL between requests.
    server = await startTestApp({ DATABASE_URL: counter.url, ROLE: 'api' });
    for (let i = 0; i < 20; i++) {
      const body = await server.graphql<{ generateVideo: { generation: TestGeneration } }>(GENERATE, {
        input: { prompt: `batched ${i}`, durationSeconds: 4 },
      });
      const { id } = body.data!.generateVideo.generation;
      const canceled = i % 2 === 0;
      if (canceled) expect((await server.graphql<{ cancelGeneration: { __typename: string } }>(CANCEL, { id })).errors).toBeUndefined();
      made.unshift({ id, canceled });
    }
  });
  afterAll(async () => {
    await server?.stop();
    await counter?.close();
    await database?.drop();
  });

  /** Runs one request and answers its body with the statements it ran. */
  async function measured<T>(query: string, variables: Record<string, unknown>) {
    const before = counter.statements().length;
    const body = await server.graphql<T>(query, variables);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return { data: body.data!, statements: counter.statements().slice(before) };
  }

  it('counts the statements it relays, so a count below can fail', async () => {
    const before = counter.statements().length;
    await database.sql`select 1`; // not through the relay: not counted
    expect(counter.statements().length).toBe(before);
    const direct = await measured(PAGE, { first: 1 });
    expect(direct.statements.length).toBeGreaterThan(0);
  });

  it('reads the events of 1 and of 20 generations with the same statements, one of them for all the events', async () => {
    const counts: Record<number, number> = {};
    for (const first of [1, 20]) {
      const { data, statements } = await measured<PageResult>(PAGE, { first });
      const nodes = data.generations.edges.map((e) => e.node);
      expect(nodes.map((n) => n.id)).toEqual(made.slice(0, first).map((g) => g.id));
      for (const [i, node] of nodes.entries()) {
        expect(node.events.map((e) => e.type)).toEqual(made[i]!.canceled ? ['created', 'canceled'] : ['created']);
      }
      expect(statements.filter(readsEvents), statements.join('\n')).toHaveLength(1);
      counts[first] = statements.length;
    }
    expect(counts[20], JSON.stringify(counts)).toBe(counts[1]);
    expect(counts[20]).toBeLessThanOrEqual(4);
  });

  it('reads the events of a page and of nodes once per list field, whatever their sizes', async () => {
    type Both = {
      generations: { nodes: { id: string; events: { type: string }[] }[] };
      nodes: ({ id: string; events: { type: string }[] } | null)[];
    };
    const counts: number[] = [];
    for (const [first, from, to] of [[1, 5, 6], [20, 5, 15]] as const) {
      const ids = made.slice(from, to).map((g) => g.id);
      const { data, statements } = await measured<Both>(PAGE_AND_NODES, { first, ids });
      expect(data.generations.nodes).toHaveLength(first);
      expect(data.nodes.map((n) => n?.id)).toEqual(ids);
      expect(data.nodes.map((n) => n!.events.length)).toEqual(made.slice(from, to).map((g) => (g.canceled ? 2 : 1)));
      // The page and nodes finish loading at different moments, so each list is one batch of its own.
      expect(statements.filter(readsEvents), statements.join('\n')).toHaveLength(2);
      counts.push(statements.length);
    }
    expect(counts[1]).toBe(counts[0]);
  });
});
