import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backoffMs, decide, type BackoffOptions } from '../src/worker/retry-policy.js';
import { SegmindError } from '../src/segmind/errors.js';
import type { SegmindSimulatorOptions, SimulatorFault } from '../src/segmind/simulator/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { CANCEL, collectWs, createWsClient, GENERATE, GET, type TestGeneration as Generation, WATCH } from './helpers/clients.js';
import { createKeyIn, createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/engine.js';
import { startSimulator } from './helpers/simulator.js';
import { waitFor } from './helpers/wait.js';

/** Every test asks for 4 s without audio: a list price of $0.40. */
const INPUT = { durationSeconds: 4, generateAudio: false };
const LIST_PRICE = '0.40';
const SUBMIT_PATH = /^\/v2\/veo-3\.1-fast$/;

interface Context {
  database: TestDatabase;
  sim: Awaited<ReturnType<typeof startSimulator>>;
  proxy: RecordingProxy;
  server: TestApp;
  ws: Client;
}

/** The app talks to the simulator through a recording proxy, which also sees the submits Segmind refused. */
async function startContext(simOptions: SegmindSimulatorOptions = {}, env: Record<string, string> = {}): Promise<Context> {
  const database = await createTestDatabase();
  const sim = await startSimulator({ processingMs: 300, ...simOptions });
  const proxy = await startRecordingProxy(sim.simulator.url);
  const server = await startTestApp({ DATABASE_URL: database.url, ...sim.env, SEGMIND_BASE_URL: proxy.url, ...env });
  return { database, sim, proxy, server, ws: createWsClient(server.url, { key: server.key }) };
}

async function stopContext(context: Context | undefined): Promise<void> {
  await context?.ws.dispose();
  await context?.server.stop();
  await context?.proxy.stop();
  await context?.sim.simulator.stop();
  await context?.database.drop();
}

async function create(server: TestApp, prompt: string, headers?: Record<string, string>): Promise<Generation> {
  const created = await server.graphql<{ generateVideo: { __typename: string; generation?: Generation } }>(
    GENERATE,
    { input: { prompt, ...INPUT } },
    headers,
  );
  expect(created.errors).toBeUndefined();
  expect(created.data?.generateVideo.__typename).toBe('GenerateVideoSuccess');
  return created.data!.generateVideo.generation!;
}

async function untilFinal(ws: Client, id: string, timeoutMs = 15_000): Promise<Generation> {
  const { results, completed } = await collectWs<{ generationStatus: Generation }>(ws, WATCH, { id }, timeoutMs);
  expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
  expect(completed, 'the generation did not become final in time').toBe(true);
  return results.at(-1)!.data!.generationStatus;
}

async function fetchGeneration(server: TestApp, id: string): Promise<Generation> {
  const body = await server.graphql<{ generation: Generation | null }>(GET, { id });
  expect(body.errors).toBeUndefined();
  return body.data!.generation!;
}

const crashes = (server: TestApp) => server.logs.filter((line) => line.includes('generation run crashed'));

describe.skipIf(!hasPostgres)('a submit Segmind accepted but answered with something unusable', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext({ credits: 1000 });
  });
  afterAll(() => stopContext(context));
  beforeEach(() => context.sim.simulator.reset());

  const answers: [string, Omit<SimulatorFault, 'endpoint' | 'acceptThenFail'>][] = [
    ['JSON naming the id requestId', { status: 200, body: '{"requestId":"6f1c0f3e","status":"QUEUED"}' }],
    ['a body that is not JSON', { status: 200, body: 'OK' }],
    ['an HTML page', { status: 200, body: '<html><body>Accepted</body></html>' }],
    ['an empty request_id', { status: 200, body: '{"request_id":"","status":"QUEUED"}' }],
    ['a request_id no database can store', { status: 200, body: '{"request_id":"6f1c\\u00000f3e","status":"QUEUED"}' }],
    ['a request_id of 10,000 characters', { status: 200, body: JSON.stringify({ request_id: 'a'.repeat(10_000) }) }],
    ['an answer cut off in the middle of its body', { cutOff: true }],
  ];

  it.each(answers)(
    'fails %s as UPSTREAM_UNREADABLE after exactly one submit, and keeps the cost as an estimate',
    async (name, answer) => {
      const { simulator } = context.sim;
      const since = Date.now();
      simulator.injectFault({ endpoint: 'submit', acceptThenFail: true, ...answer });
      const generation = await create(context.server, `a lantern festival, answered with ${name}`);
      const final = await untilFinal(context.ws, generation.id);

      expect(final.status).toBe('FAILED');
      expect(final.error).toMatchObject({ code: 'UPSTREAM_UNREADABLE', retryable: true });
      expect(final.error!.message).toMatch(/charge|bill/i);
      expect(final.error!.message).not.toMatch(/<|6f1c|requestId/);
      expect(final.attempts).toBe(1);
      expect(final.events.map((e) => e.type)).not.toContain('retry_scheduled');
      // The charge Segmind may make is shown as what it is: an estimate at the list price, not a final zero.
      expect(final.cost.amount).toBe(LIST_PRICE);
      expect(final.costIsFinal).toBe(false);
      // A short pause: a resubmit, if any were scheduled, would show up now.
      await sleep(300);
      expect(simulator.submissions()).toBe(1);
      expect(context.proxy.count('POST', SUBMIT_PATH, since)).toBe(1);
      expect(crashes(context.server)).toEqual([]);
    },
  );
});

describe.skipIf(!hasPostgres)('a submit answered with a redirect', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext({ credits: 1000 });
  });
  afterAll(() => stopContext(context));

  it.each([301, 302, 307, 308])('is never followed: HTTP %i fails the generation after one submit, uncharged', async (status) => {
    const since = Date.now();
    // Back to the same endpoint: a client that followed it would send the billed submit a second time.
    const location = `${context.proxy.url}/v2/veo-3.1-fast`;
    context.sim.simulator.injectFault({ endpoint: 'submit', status, headers: { location }, body: '' });
    const generation = await create(context.server, `a lighthouse at dusk, redirected with ${status}`);
    const final = await untilFinal(context.ws, generation.id);

    expect(final.status).toBe('FAILED');
    expect(final.error?.message).toMatch(/redirect/i);
    expect(final.attempts).toBe(1);
    await sleep(300);
    expect(context.proxy.count('POST', SUBMIT_PATH, since)).toBe(1);
    expect(context.sim.simulator.submissions()).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('a write that fails after Segmind accepted a submit', () => {
  let context: Context;
  beforeAll(async () => {
    // A short lease: a run that crashed would be taken over, and its submit sent again, within the test.
    context = await startContext({}, { LEASE_MS: '1000' });
    // The first write of a FAILED status fails, as a database hiccup would; later ones go through. A sequence,
    // because it counts even in the transaction the error rolls back.
    await context.database.sql.unsafe(`
      create sequence failed_writes;
      create function fail_first_failed_write() returns trigger language plpgsql as $$
      begin
        if new.status = 'FAILED' and old.status <> 'FAILED' and nextval('failed_writes') = 1 then
          raise exception 'the first FAILED write fails';
        end if;
        return new;
      end $$;
      create trigger fail_first_failed_write before update on generations
        for each row execute function fail_first_failed_write();`);
  });
  afterAll(() => stopContext(context));

  it('does not lead to a second submit: the failure is written again until it sticks', async () => {
    const { simulator } = context.sim;
    simulator.injectFault({ endpoint: 'submit', acceptThenFail: true, status: 200, body: 'OK' });
    const final = await untilFinal(context.ws, (await create(context.server, 'a bell, accepted and then a hiccup')).id);

    expect(final.status).toBe('FAILED');
    expect(final.error?.code).toBe('UPSTREAM_UNREADABLE');
    expect(final.costIsFinal).toBe(false);
    // Two leases later nobody has taken it over and sent it again.
    await sleep(2500);
    expect(simulator.submissions()).toBe(1);
    expect(crashes(context.server)).toEqual([]);
    const [sequence] = await context.database.sql<{ last_value: string }[]>`select last_value from failed_writes`;
    expect(Number(sequence!.last_value)).toBeGreaterThanOrEqual(2);
  });
});

describe.skipIf(!hasPostgres)('a run that crashes every time around a submit', () => {
  let context: Context;
  beforeAll(async () => {
    // A short submit window (request timeout + commit patience + 2 s): a crashed submit may be sent again after it.
    context = await startContext({}, { LEASE_MS: '1000', SEGMIND_REQUEST_TIMEOUT_MS: '1000', COMMIT_PATIENCE_MS: '500' });
    // Recording a rate-limit wait always fails: each run crashes right after its submit was answered, with the
    // generation still marked as being submitted.
    await context.database.sql.unsafe(`
      create function fail_rate_limit_waits() returns trigger language plpgsql as $$
      begin
        if new.rate_limit_waits > old.rate_limit_waits then raise exception 'cannot record the wait'; end if;
        return new;
      end $$;
      create trigger fail_rate_limit_waits before update on generations
        for each row execute function fail_rate_limit_waits();`);
  });
  afterAll(() => stopContext(context));

  it('is resubmitted once at most, then fails saying a charge may apply, instead of submitting in a loop', async () => {
    const since = Date.now();
    context.sim.simulator.injectFault({ endpoint: 'submit', status: 429, times: 100 });
    const final = await untilFinal(context.ws, (await create(context.server, 'a carousel that keeps crashing')).id);

    expect(final.status).toBe('FAILED');
    expect(final.error).toMatchObject({ code: 'INTERNAL', retryable: true });
    expect(final.error!.message).toMatch(/bill|charge/i);
    expect(final.costIsFinal).toBe(false);
    expect(final.events.filter((e) => e.type === 'resubmitting_after_crash')).toHaveLength(1);
    await sleep(2500);
    expect(context.proxy.count('POST', SUBMIT_PATH, since)).toBe(2);
  });
});

describe.skipIf(!hasPostgres)('the charge Segmind reports for a finished job', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext({ credits: 1000 });
  });
  afterAll(() => stopContext(context));
  beforeEach(() => context.sim.simulator.reset());

  // Every result fetch carries the hostile value (`times`), so a run that fails to store it cannot get lucky later.
  it.each([[-100], [1e9], [4.01], [-0.01]])(
    'is ignored when it is %s, outside 0 to 10 × the list price: the estimate is kept and the timeline says so',
    async (reported) => {
      const { simulator } = context.sim;
      const logsBefore = context.server.logs.length;
      simulator.injectFault({ endpoint: 'result', merge: { metrics: { cost: reported } }, times: 1000 });
      const generation = await create(context.server, `a kite over a beach, charged ${reported}`);
      const final = await untilFinal(context.ws, generation.id);

      expect(final.status).toBe('SUCCEEDED');
      expect(final.cost.amount).toBe(LIST_PRICE);
      expect(final.costIsFinal).toBe(false);
      const ignored = final.events.filter((e) => e.type === 'cost_ignored');
      expect(ignored).toHaveLength(1);
      expect(ignored[0]!.message).toContain(String(reported));
      expect(ignored[0]!.message).toContain(LIST_PRICE);
      expect(context.server.logs.slice(logsBefore).some((l) => l.includes('ignored the charge Segmind reported'))).toBe(true);
      expect(simulator.submissions()).toBe(1);
      expect(final.attempts).toBe(1);
    },
  );

  it('is stored as the final cost when it is plausible', async () => {
    const { simulator } = context.sim;
    simulator.injectFault({ endpoint: 'result', merge: { metrics: { cost: 0.35 } } });
    const final = await untilFinal(context.ws, (await create(context.server, 'a kite, charged a little less')).id);

    expect(final.status).toBe('SUCCEEDED');
    expect(final.cost.amount).toBe('0.35');
    expect(final.costIsFinal).toBe(true);
    expect(final.events.map((e) => e.type)).not.toContain('cost_ignored');
  });

  it('cannot make room in a key’s daily budget with a negative charge', async () => {
    const { key } = await createKeyIn(context.database.url, { dailyBudgetUsd: 1 });
    const headers = { authorization: `Bearer ${key}` };
    const ws = createWsClient(context.server.url, { key: key });
    try {
      context.sim.simulator.injectFault({ endpoint: 'result', merge: { metrics: { cost: -100 } }, times: 1000 });
      const first = await untilFinal(ws, (await create(context.server, 'a refund that is not one', headers)).id);
      expect(first.status).toBe('SUCCEEDED');
      context.sim.simulator.reset();

      // $0.40 of $1.00 is spent: one more $0.40 fits, a third does not.
      await create(context.server, 'the second of three', headers);
      const third = await context.server.graphql<{ generateVideo: { __typename: string } }>(
        GENERATE,
        { input: { prompt: 'the third of three', ...INPUT } },
        headers,
      );
      expect(third.data?.generateVideo.__typename).toBe('BudgetExceededError');
    } finally {
      await ws.dispose();
    }
  });
});

describe.skipIf(!hasPostgres)('the durations Segmind reports for a finished job', () => {
  let context: Context;
  beforeAll(async () => {
    context = await startContext();
  });
  afterAll(() => stopContext(context));
  beforeEach(() => context.sim.simulator.reset());

  it.each([[1e300], [-5], [0], [86_400]])(
    'are replaced by our own measurement when total_time is %s',
    async (reported) => {
      const started = Date.now();
      context.sim.simulator.injectFault({ endpoint: 'result', merge: { metrics: { total_time: reported } }, times: 1000 });
      const final = await untilFinal(context.ws, (await create(context.server, `a train, done in ${reported} s`)).id);
      const ownSeconds = (Date.now() - started) / 1000;

      expect(final.status).toBe('SUCCEEDED');
      const [row] = await context.database.sql<{ upstream_seconds: number }[]>`
        select upstream_seconds from generations where id = ${final.id}`;
      expect(row!.upstream_seconds).toBeGreaterThan(0);
      expect(row!.upstream_seconds).toBeLessThanOrEqual(ownSeconds);
    },
  );
});

describe.skipIf(!hasPostgres)('a 429 whose reset time is absurd', () => {
  let context: Context;
  beforeAll(async () => {
    // A short lease: a run that crashed would be taken over, and its submit sent again, within the test.
    context = await startContext({}, { LEASE_MS: '1000' });
  });
  afterAll(() => stopContext(context));
  beforeEach(() => context.sim.simulator.reset());

  it('waits at most a minute for a reset in the year 9999, with an ETA that fits, and sends nothing meanwhile', async () => {
    const { simulator } = context.sim;
    const since = Date.now();
    simulator.injectFault({ endpoint: 'submit', status: 429, headers: { 'x-rate-limit-reset-at-utc': '9999-12-31T23:59:59Z' } });
    const generation = await create(context.server, 'a comet, rate limited until the year 9999');

    const waiting = await waitFor('the rate_limited event', async () => {
      const current = await fetchGeneration(context.server, generation.id);
      return current.events.some((e) => e.type === 'rate_limited') ? current : undefined;
    });
    const [row] = await context.database.sql<{ run_after: Date; eta_seconds: number; rate_limit_waits: number }[]>`
      select run_after, eta_seconds, rate_limit_waits from generations where id = ${generation.id}`;
    expect(row!.run_after.getTime() - Date.now()).toBeLessThanOrEqual(61_000);
    expect(row!.eta_seconds).toBeLessThanOrEqual(61 + 15 * 60);
    expect(row!.rate_limit_waits).toBe(1);
    expect(waiting.status).toBe('QUEUED');
    expect(waiting.events.find((e) => e.type === 'rate_limited')!.message).not.toContain('9999');

    // Two leases later nobody has crashed, taken it over or sent it again.
    await sleep(2500);
    expect(context.proxy.count('POST', SUBMIT_PATH, since)).toBe(1);
    expect(crashes(context.server)).toEqual([]);
    const canceled = await context.server.graphql<{ cancelGeneration: { __typename: string; chargeMayApply: boolean } }>(
      CANCEL,
      { id: generation.id },
    );
    expect(canceled.data?.cancelGeneration).toMatchObject({ __typename: 'CancelGenerationSuccess', chargeMayApply: false });
    expect(simulator.submissions()).toBe(0);
  });

  it.each([
    ['400 digits', '9'.repeat(400)],
    ['words', 'not a time at all'],
    ['NaN', 'NaN'],
  ])(
    'falls back to backoff for a reset of %s and then submits exactly once',
    async (_name, reset) => {
      const { simulator } = context.sim;
      const since = Date.now();
      simulator.injectFault({ endpoint: 'submit', status: 429, headers: { 'x-rate-limit-reset-at-utc': reset } });
      const final = await untilFinal(context.ws, (await create(context.server, `a comet, reset ${reset.slice(0, 12)}`)).id);

      expect(final.status).toBe('SUCCEEDED');
      expect(final.attempts).toBe(1);
      expect(final.events.filter((e) => e.type === 'rate_limited')).toHaveLength(1);
      expect(simulator.submissions()).toBe(1);
      expect(context.proxy.count('POST', SUBMIT_PATH, since)).toBe(2);
      expect(crashes(context.server)).toEqual([]);
    },
  );
});

describe('the failure policy facing hostile numbers', () => {
  const NOW = Date.parse('2026-01-01T00:00:00Z');
  const backoff: BackoffOptions = { baseMs: 1000, maxMs: 60_000, random: () => 0 };
  const rateLimited = (retryAt?: Date) =>
    new SegmindError({ kind: 'rate_limited', httpStatus: 429, requestSent: true, ...(retryAt && { retryAt }) });

  it.each(['submit', 'poll'] as const)('never waits longer than the longest backoff for a reset, on %s', (phase) => {
    for (const retryAt of [new Date(NOW + 61_000), new Date('9999-12-31T23:59:59Z'), new Date(8.64e15)]) {
      const decision = decide(rateLimited(retryAt), phase, 1, { ...backoff, random: () => 1 - Number.EPSILON }, NOW);
      expect(decision.action).toBe('retry');
      expect(decision.action === 'retry' && decision.delayMs).toBeLessThanOrEqual(backoff.maxMs + 1000);
    }
  });

  it('backs off exponentially on a 429 without a usable reset, up to the longest backoff', () => {
    const delays = [1, 2, 3, 10].map((n) => {
      const decision = decide(rateLimited(), 'submit', n, backoff, NOW);
      return decision.action === 'retry' ? decision.delayMs : Number.NaN;
    });
    expect(delays).toEqual([1000, 2000, 4000, 60_000]);
    expect(backoffMs(1, backoff)).toBe(0);
  });

  it('treats any submit error carrying a 2xx status as accepted: it fails, says a charge may apply, and never retries', () => {
    for (const kind of ['server', 'network', 'timeout'] as const) {
      const error = new SegmindError({ kind, httpStatus: 200, requestSent: true });
      const decision = decide(error, 'submit', 1, backoff, NOW);
      expect(decision).toMatchObject({ action: 'fail', code: 'UPSTREAM_UNREADABLE', retryable: true, mayBeCharged: true });
    }
  });

  it('keeps a possible charge on an error the submit should never throw', () => {
    expect(decide(new RangeError('Invalid time value'), 'submit', 1, backoff, NOW)).toMatchObject({
      action: 'fail',
      code: 'INTERNAL',
      mayBeCharged: true,
    });
  });
});
