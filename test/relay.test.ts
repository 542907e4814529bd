import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, collectSse, collectWs, createWsClient, GENERATE, GET, type TestGeneration, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';

/** Relay's global object identification (node, nodes) and cursor connections, against the real server. */

const NODE = `query Node($id: ID!) { node(id: $id) { __typename id ... on Generation { status prompt video { url } } } }`;
const NODES = `query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Generation { prompt } } }`;
const PAGE = `query Page($first: Int, $after: String, $last: Int, $before: String, $status: [GenerationStatus!]) {
  generations(first: $first, after: $after, last: $last, before: $before, status: $status) {
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface NodeResult {
  node: { __typename: string; id: string; status?: string; prompt?: string; video?: { url: string } | null } | null;
}
interface PageResult {
  generations: {
    edges: { cursor: string; node: { id: string } }[];
    nodes: { id: string }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}

/** The plugin's own global id form: base64 of `<Typename>:<id>`. */
const typedGlobalId = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

async function generate(app: TestApp, prompt: string): Promise<TestGeneration> {
  const body = await app.graphql<{ generateVideo: { __typename: string; generation?: TestGeneration } }>(GENERATE, {
    input: { prompt, durationSeconds: 4 },
  });
  expect(body.data?.generateVideo.__typename, JSON.stringify(body)).toBe('GenerateVideoSuccess');
  return body.data!.generateVideo.generation!;
}

describe.skipIf(!hasPostgres)('Relay global object identification', () => {
  let database: TestDatabase;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let server: TestApp;
  let otherKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = await startSimulator({ processingMs: 150 });
    server = await startTestApp({ DATABASE_URL: database.url, ...sim.env });
    otherKey = (await createKeyIn(database.url, { name: 'someone-else' })).key;
  });
  afterAll(async () => {
    await server?.stop();
    await sim?.simulator.stop();
    await database?.drop();
  });

  const asOther = () => ({ authorization: `Bearer ${otherKey}` });

  it('gives a generation one id that works with node, generation, generationStatus, cancelGeneration and its video link', async () => {
    const made = await generate(server, 'a kite over the dunes');
    expect(made.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const viaNode = await server.graphql<NodeResult>(NODE, { id: made.id });
    expect(viaNode.errors).toBeUndefined();
    expect(viaNode.data!.node).toMatchObject({ __typename: 'Generation', id: made.id, prompt: 'a kite over the dunes' });

    // The id node answers with is the one every older path takes.
    const nodeId = viaNode.data!.node!.id;
    const sse = await collectSse<{ generationStatus: TestGeneration }>(server.url, WATCH, { id: nodeId }, { key: server.key });
    expect(sse.completed).toBe(true);
    expect(sse.results.at(-1)?.data?.generationStatus.status).toBe('SUCCEEDED');
    const ws = createWsClient(server.url, { key: server.key });
    try {
      const watched = await collectWs<{ generationStatus: TestGeneration }>(ws, WATCH, { id: nodeId });
      expect(watched.results.at(-1)?.data?.generationStatus).toMatchObject({ id: made.id, status: 'SUCCEEDED' });
    } finally {
      await ws.dispose();
    }
    const got = await server.graphql<{ generation: TestGeneration | null }>(GET, { id: nodeId });
    expect(got.data!.generation?.id).toBe(made.id);

    const done = await server.graphql<NodeResult>(NODE, { id: nodeId });
    const url = done.data!.node!.video?.url;
    expect(url).toContain(`/videos/${made.id}.mp4?`);
    const video = await fetch(url!, { headers: { range: 'bytes=0-7' } });
    expect(video.status).toBe(206);
    expect(Buffer.from(await video.arrayBuffer()).subarray(4, 8).toString()).toBe('ftyp');

    // cancelGeneration takes the same id: a finished generation is not cancelable, a queued one is canceled.
    const finished = await server.graphql<{ cancelGeneration: { __typename: string } }>(CANCEL, { id: nodeId });
    expect(finished.data!.cancelGeneration.__typename).toBe('NotCancelableError');
  });

  it('answers null for another key’s generation, an unknown id and a malformed one, as generation(id) does', async () => {
    const mine = await generate(server, 'only mine');
    const theirs = await server.graphql<NodeResult>(NODE, { id: mine.id }, asOther());
    expect(theirs).toEqual({ data: { node: null } });
    const theirGet = await server.graphql<{ generation: unknown }>(GET, { id: mine.id }, asOther());
    expect(theirGet).toEqual({ data: { generation: null } });
    for (const id of [randomUUID(), 'not-an-id', '', typedGlobalId('Generation', 'nope'), typedGlobalId('ApiKey', mine.id)]) {
      expect(await server.graphql<NodeResult>(NODE, { id }), id).toEqual({ data: { node: null } });
    }
  });

  it('resolves nodes in the order asked, with null for each id that is not the caller’s, and accepts the plugin’s typed id form', async () => {
    const a = await generate(server, 'node a');
    const b = await generate(server, 'node b');
    const foreign = await server.graphql<{ generateVideo: { generation: TestGeneration } }>(
      GENERATE,
      { input: { prompt: 'someone else’s', durationSeconds: 4 } },
      asOther(),
    );
    const foreignId = foreign.data!.generateVideo.generation.id;
    const ids = [b.id, foreignId, a.id, randomUUID(), typedGlobalId('Generation', a.id), 'garbage', b.id.toUpperCase()];
    const body = await server.graphql<{ nodes: ({ id: string; prompt: string } | null)[] }>(NODES, { ids });
    expect(body.errors).toBeUndefined();
    expect(body.data!.nodes.map((n) => n?.prompt ?? null)).toEqual(['node b', null, 'node a', null, 'node a', null, 'node b']);
    // Every node answers with its UUID, whichever form it was asked by.
    expect(body.data!.nodes.filter((n) => n !== null).map((n) => n.id)).toEqual([b.id, a.id, a.id, b.id]);
    // And the other key sees its own one only.
    const theirs = await server.graphql<{ nodes: ({ id: string } | null)[] }>(NODES, { ids: [a.id, foreignId] }, asOther());
    expect(theirs.data!.nodes).toEqual([null, { __typename: 'Generation', id: foreignId, prompt: 'someone else’s' }]);
  });

  it('refuses more than 100 ids in nodes with BAD_USER_INPUT naming the argument, and node or nodes without a key', async () => {
    const hundred = Array.from({ length: 100 }, () => randomUUID());
    const ok = await server.graphql<{ nodes: unknown[] }>(NODES, { ids: hundred });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.nodes).toHaveLength(100);

    const tooMany = await server.graphql(NODES, { ids: [...hundred, randomUUID()] });
    expect(tooMany.data ?? null).toBeNull();
    expect(tooMany.errors?.[0]).toMatchObject({
      message: 'nodes takes at most 100 ids; got 101. Ask in batches of 100.',
      extensions: { code: 'BAD_USER_INPUT', field: 'ids' },
    });

    for (const [query, variables] of [[NODE, { id: randomUUID() }], [NODES, { ids: [randomUUID()] }]] as const) {
      const anonymous = await server.graphql(query, variables, { authorization: '' });
      expect(anonymous.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
    }
  });
});

describe.skipIf(!hasPostgres)('generations as a Relay connection', () => {
  let database: TestDatabase;
  let server: TestApp;
  /** Oldest first, as they were made. */
  const made: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // API only: no worker, so every generation stays QUEUED unless the test cancels it.
    server = await startTestApp({ DATABASE_URL: database.url, ROLE: 'api' });
    for (let i = 1; i <= 5; i++) made.push((await generate(server, `paged ${i}`)).id);
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const page = async (variables: Record<string, unknown>) => {
    const body = await server.graphql<PageResult>(PAGE, variables);
    expect(body.errors, JSON.stringify(variables)).toBeUndefined();
    const { edges, nodes, pageInfo } = body.data!.generations;
    expect(nodes.map((n) => n.id)).toEqual(edges.map((e) => e.node.id));
    expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
    expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
    return { ids: edges.map((e) => e.node.id), pageInfo };
  };
  const newestFirst = () => [...made].reverse();

  it('pages forward with first/after and says on each page whether generations lie before and after it', async () => {
    const first = await page({ first: 2 });
    expect(first.ids).toEqual(newestFirst().slice(0, 2));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(second.ids).toEqual(newestFirst().slice(2, 4));
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await page({ first: 2, after: second.pageInfo.endCursor });
    expect(third.ids).toEqual(newestFirst().slice(4));
    expect(third.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('pages backward with last/before from the oldest end, keeping each page newest first', async () => {
    const seen: string[][] = [];
    const flags: { hasNextPage: boolean; hasPreviousPage: boolean }[] = [];
    let before: string | undefined;
    for (let i = 0; i < 10; i++) {
      const { ids, pageInfo } = await page({ last: 2, before });
      seen.push(ids);
      flags.push({ hasNextPage: pageInfo.hasNextPage, hasPreviousPage: pageInfo.hasPreviousPage });
      if (!pageInfo.hasPreviousPage) break;
      before = pageInfo.startCursor!;
    }
    const [n1, n2, n3, n4, n5] = newestFirst();
    expect(seen).toEqual([[n4, n5], [n2, n3], [n1]]);
    expect(flags).toEqual([
      { hasNextPage: false, hasPreviousPage: true },
      { hasNextPage: true, hasPreviousPage: true },
      { hasNextPage: true, hasPreviousPage: false },
    ]);
  });

  it('applies after and before together as the two ends of one stretch', async () => {
    const all = await page({ first: 5 });
    const cursors = (await server.graphql<PageResult>(PAGE, { first: 5 })).data!.generations.edges.map((e) => e.cursor);
    const between = await page({ after: cursors[0], before: cursors[4] });
    expect(between.ids).toEqual(all.ids.slice(1, 4));
    const fromEnd = await page({ last: 2, after: cursors[0], before: cursors[4] });
    expect(fromEnd.ids).toEqual(all.ids.slice(2, 4));
    // Newer than the page: the one between it and after. Older than before: nothing.
    expect(fromEnd.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const inner = await page({ last: 2, after: cursors[0], before: cursors[3] });
    expect(inner.ids).toEqual(all.ids.slice(1, 3));
    // The stretch holds just these two; the oldest lies beyond before.
    expect(inner.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    const empty = await page({ after: cursors[1], before: cursors[2] });
    expect(empty).toMatchObject({ ids: [], pageInfo: { startCursor: null, endCursor: null, hasNextPage: false } });
  });

  it('keeps the status filter in both directions', async () => {
    const [oldest, , middle] = made;
    for (const id of [oldest!, middle!]) {
      const canceled = await server.graphql<{ cancelGeneration: { __typename: string } }>(CANCEL, { id });
      expect(canceled.data!.cancelGeneration.__typename).toBe('CancelGenerationSuccess');
    }
    const queued = newestFirst().filter((id) => id !== oldest && id !== middle);
    expect((await page({ status: ['QUEUED'], last: 2 })).ids).toEqual(queued.slice(1));
    const newer = await page({ status: ['QUEUED'], last: 2, before: (await page({ status: ['QUEUED'], last: 2 })).pageInfo.startCursor });
    expect(newer).toMatchObject({ ids: queued.slice(0, 1), pageInfo: { hasPreviousPage: false, hasNextPage: true } });
    expect((await page({ status: ['CANCELED'], last: 5 })).ids).toEqual([middle, oldest]);
  });

  it('refuses first with last, a page size outside 1 to 100 and a cursor it did not issue, naming the argument', async () => {
    const forged = Buffer.from('2024-01-01T00:00:00.000Z|not-a-uuid').toString('base64url');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ first: 2, last: 2 }, 'last', /^Pass first \(with after\) .* or last \(with before\) .*; not both\.$/],
      [{ last: 0 }, 'last', /^last must be from 1 to 100; got 0\.$/],
      [{ last: 101 }, 'last', /^last must be from 1 to 100; got 101\.$/],
      [{ first: 101 }, 'first', /^first must be from 1 to 100; got 101\.$/],
      [{ last: 2, before: 'garbage' }, 'before', /^before is not a cursor this server issued; pass a startCursor from a previous page\.$/],
      [{ before: forged }, 'before', /^before is not a cursor this server issued/],
      [{ after: forged }, 'after', /^after is not a cursor this server issued; pass an endCursor from a previous page\.$/],
    ];
    for (const [variables, field, message] of cases) {
      const body = await server.graphql(PAGE, variables);
      expect(body.data ?? null, JSON.stringify(variables)).toBeNull();
      expect(body.errors?.[0]?.extensions, JSON.stringify(variables)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(body.errors?.[0]?.message, JSON.stringify(variables)).toMatch(message);
    }
  });
});

describe('node and two-way paging on the embedded database (PGlite)', () => {
  let server: TestApp;
  beforeAll(async () => {
    server = await startTestApp({ ROLE: 'api' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('loads nodes and pages backward and forward with the same answers as on Postgres', async () => {
    const made: string[] = [];
    for (let i = 1; i <= 3; i++) made.push((await generate(server, `embedded ${i}`)).id);
    const nodes = await server.graphql<{ nodes: ({ id: string } | null)[] }>(NODES, { ids: [made[2], randomUUID(), made[0]] });
    expect(nodes.data!.nodes.map((n) => n?.id ?? null)).toEqual([made[2], null, made[0]]);

    const oldest = await server.graphql<PageResult>(PAGE, { last: 2 });
    expect(oldest.data!.generations.edges.map((e) => e.node.id)).toEqual([made[1], made[0]]);
    expect(oldest.data!.generations.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const newer = await server.graphql<PageResult>(PAGE, { last: 2, before: oldest.data!.generations.pageInfo.startCursor });
    expect(newer.data!.generations.edges.map((e) => e.node.id)).toEqual([made[2]]);
    expect(newer.data!.generations.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    const forward = await server.graphql<PageResult>(PAGE, { first: 1, after: newer.data!.generations.pageInfo.endCursor });
    expect(forward.data!.generations.edges.map((e) => e.node.id)).toEqual([made[1]]);
    // Nothing is newer than the newest, which the page starts after; the oldest is still to come.
    expect(forward.data!.generations.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });
});
