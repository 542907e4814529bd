import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/server/compose.js';
import { loadConfig } from '../src/config/index.js';
import { ConfigError } from '../src/generations/errors.js';
import { createLogger, lineDestination } from '../src/logger.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import type { SegmindSimulator } from '../src/segmind/simulator/index.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request with exactly the headers given, Host included: what a browser on a DNS-rebound name, a page on
 * another origin, or the person at the keyboard would send.
 */
function rawRequest(baseUrl: string, pathname: string, headers: Record<string, string>, method = 'GET'): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: pathname, method, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${pathname} in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const corsHeaders = (headers: IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-')));

const anyKey = /rql_[A-Za-z0-9_-]{20}/;
const GENERATE_8S = `mutation { generateVideo(input: { prompt: "A lighthouse at dusk", durationSeconds: 8 }) {
  __typename ... on BudgetExceededError { scope } ... on Error { message } } }`;

interface Started {
  app: App;
  url: string;
  port: string;
  stop(): Promise<void>;
}

/** The real app on a test database; `dataDir` is kept when given, so a restart finds what the last run stored. */
async function startApp(database: TestDatabase, env: Record<string, string>, dataDir?: string): Promise<Started> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'reelql-devkey-')));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, DATABASE_URL: database.url, ROLE: 'api', ...env });
  const app = await createApp(config, { log: createLogger('silent', lineDestination(() => {})) });
  const url = await app.start();
  return {
    app,
    url,
    port: new URL(url).port,
    async stop() {
      await app.stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!hasPostgres)('the development key is shown only to this machine', () => {
  let database: TestDatabase;
  let server: Started;
  let key: string;
  const page = (headers: Record<string, string>) => rawRequest(server.url, '/', headers);
  const graphiql = (headers: Record<string, string>) => rawRequest(server.url, '/graphql', { accept: 'text/html', ...headers });

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startApp(database, {});
    key = server.app.developmentKey!;
    expect(key).toMatch(/^rql_/);
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('is in the page and in GraphiQL for a request to a loopback name, with any port, typed or from the page itself', async () => {
    const own: Record<string, string>[] = [
      { host: `127.0.0.1:${server.port}` },
      { host: `localhost:${server.port}` },
      { host: `LOCALHOST:${server.port}` },
      { host: `[::1]:${server.port}` },
      { host: 'localhost' },
      { host: `localhost:${server.port}`, 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
      { host: `127.0.0.1:${server.port}`, 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${server.port}` },
    ];
    const missing = (
      await Promise.all(
        own.map(async (headers) => {
          const [html, ide] = await Promise.all([page(headers), graphiql(headers)]);
          const what = JSON.stringify(headers);
          return [
            (html.status !== 200 || ide.status !== 200) && `${what}: status ${html.status} / ${ide.status}`,
            !html.body.includes(`<meta name="reelql-development-key" content="${key}">`) && `${what}: not in the page`,
            !ide.body.includes(key) && `${what}: not in GraphiQL`,
          ];
        }),
      )
    ).flat().filter(Boolean);
    expect(missing).toEqual([]);
  });

  it('is in neither for a DNS-rebound name, a cross-origin or cross-site request, or a request through a proxy', async () => {
    const loopback = `127.0.0.1:${server.port}`;
    const foreign: Record<string, string>[] = [
      { host: `attacker.example:${server.port}` },
      { host: 'attacker.example' },
      { host: `127.0.0.1.nip.io:${server.port}` },
      { host: `localhost.attacker.example:${server.port}` },
      { host: `evil@localhost:${server.port}` },
      { host: `localhost.:${server.port}` },
      { host: '' },
      { host: loopback, origin: 'https://evil.example' },
      { host: loopback, origin: 'null' },
      // Another server on this machine is another origin, though the same site.
      { host: loopback, origin: 'http://127.0.0.1:3000' },
      { host: `localhost:${server.port}`, origin: `http://127.0.0.1:${server.port}` },
      { host: loopback, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      { host: loopback, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' },
      { host: loopback, 'x-forwarded-for': '203.0.113.9' },
      { host: loopback, forwarded: 'for=203.0.113.9;host=videos.example' },
    ];
    const leaks = (
      await Promise.all(
        foreign.map(async (headers) => {
          const [html, ide] = await Promise.all([page(headers), graphiql(headers)]);
          const what = JSON.stringify(headers);
          return [
            (html.body.includes(key) || anyKey.test(html.body) || html.body.includes('reelql-development-key')) && `${what}: in the page`,
            (ide.body.includes(key) || ide.body.includes('Bearer')) && `${what}: in GraphiQL`,
          ];
        }),
      )
    ).flat().filter(Boolean);
    expect(leaks).toEqual([]);
  });

  it('is not in GraphiQL asked for by another website, which gets no CORS headers at all', async () => {
    const ide = await graphiql({ host: `localhost:${server.port}`, origin: 'https://evil.example' });
    expect(ide.status).toBe(200);
    expect(ide.body.includes('<title>reelql</title>')).toBe(true);
    expect(ide.body.includes(key)).toBe(false);
    expect(corsHeaders(ide.headers)).toEqual({});
  });
});

describe.skipIf(!hasPostgres)('cross-origin requests', () => {
  let databases: TestDatabase[];
  let closed: Started;
  let open: Started;
  const preflight = (server: Started, origin: string) =>
    rawRequest(
      server.url,
      '/graphql',
      {
        host: `127.0.0.1:${server.port}`,
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
      'OPTIONS',
    );
  const query = (server: Started, origin: string) =>
    rawRequest(server.url, '/graphql?query=%7B__typename%7D', {
      host: `127.0.0.1:${server.port}`,
      origin,
      accept: 'application/json',
      'x-graphql-yoga-csrf': '1',
    });

  beforeAll(async () => {
    databases = await Promise.all([createTestDatabase(), createTestDatabase()]);
    [closed, open] = await Promise.all([
      startApp(databases[0]!, {}),
      startApp(databases[1]!, { CORS_ORIGINS: 'https://app.example, http://localhost:5173' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([closed?.stop(), open?.stop()]);
    await Promise.all((databases ?? []).map((database) => database.drop()));
  });

  it('get no CORS headers by default, whatever the origin', async () => {
    for (const origin of ['https://evil.example', 'https://app.example', 'http://localhost:5173', 'null']) {
      const [pre, get] = await Promise.all([preflight(closed, origin), query(closed, origin)]);
      expect(corsHeaders(pre.headers), origin).toEqual({});
      expect(corsHeaders(get.headers), origin).toEqual({});
      expect(get.body.includes('__typename'), origin).toBe(true);
    }
  });

  it('are allowed for an origin listed in CORS_ORIGINS, without credentials, and for no other', async () => {
    for (const origin of ['https://app.example', 'http://localhost:5173']) {
      const [pre, get] = await Promise.all([preflight(open, origin), query(open, origin)]);
      expect(pre.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(pre.headers['access-control-allow-headers']?.toLowerCase(), origin).toContain('authorization');
      expect(pre.headers['access-control-allow-methods'], origin).toContain('POST');
      expect(pre.headers['access-control-allow-credentials'], origin).toBeUndefined();
      expect(get.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(get.headers['access-control-allow-credentials'], origin).toBeUndefined();
    }
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://localhost:5174', 'null']) {
      const [pre, get] = await Promise.all([preflight(open, origin), query(open, origin)]);
      expect(corsHeaders(pre.headers), origin).toEqual({});
      expect(corsHeaders(get.headers), origin).toEqual({});
    }
  });

  it('never get the development key, even from a listed origin', async () => {
    const key = open.app.developmentKey;
    expect(key).toMatch(/^rql_/);
    const ide = await rawRequest(open.url, '/graphql', { host: `127.0.0.1:${open.port}`, accept: 'text/html', origin: 'https://app.example' });
    expect(ide.body.includes('<title>reelql</title>')).toBe(true);
    expect(ide.body.includes(key!)).toBe(false);
  });
});

describe.skipIf(!hasPostgres)('the development key beside a real Segmind key', () => {
  let simulator: SegmindSimulator;
  let segmindEnv: Record<string, string>;
  const databases: TestDatabase[] = [];
  const dataDirs: string[] = [];

  beforeAll(async () => {
    // A key and a base URL as for the real Segmind, pointing at a simulator on loopback: nothing leaves the machine.
    ({ simulator, env: segmindEnv } = await startSimulator());
  });

  afterAll(async () => {
    await simulator?.stop();
    await Promise.all(databases.map((database) => database.drop()));
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function fresh() {
    const database = await createTestDatabase();
    databases.push(database);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'reelql-devkey-segmind-'));
    dataDirs.push(dataDir);
    return { database, dataDir };
  }

  const budgetOf = async (database: TestDatabase) =>
    database.sql<{ name: string; daily_budget_usd: string | null }[]>`select name, daily_budget_usd from api_keys`;

  async function generate(server: Started, key: string) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: GENERATE_8S }),
    });
    const body = (await response.json()) as { data?: { generateVideo: { __typename: string; scope?: string } } };
    return body.data?.generateVideo;
  }

  it('is not created unless asked for: no key in the database, on disk, in the page or in GraphiQL', async () => {
    const { database, dataDir } = await fresh();
    const server = await startApp(database, { ...segmindEnv, ROLE: 'all' }, dataDir);
    try {
      expect(server.app.provider).toBe('SEGMIND');
      expect(server.app.developmentKey).toBeUndefined();
      expect(await budgetOf(database)).toEqual([]);
      expect(existsSync(path.join(dataDir, 'development-key'))).toBe(false);
      const host = { host: `127.0.0.1:${server.port}` };
      const [html, ide] = await Promise.all([
        rawRequest(server.url, '/', host),
        rawRequest(server.url, '/graphql', { ...host, accept: 'text/html' }),
      ]);
      expect(html.body.includes('reelql-development-key')).toBe(false);
      expect(ide.body.includes('Bearer')).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('is created with DEVELOPMENT_KEY=on and a $2 daily budget that refuses a second $1.20 video', async () => {
    const { database, dataDir } = await fresh();
    const server = await startApp(database, { ...segmindEnv, DEVELOPMENT_KEY: 'on' }, dataDir);
    try {
      const key = server.app.developmentKey;
      expect(key).toMatch(/^rql_/);
      expect(await budgetOf(database)).toEqual([{ name: 'development', daily_budget_usd: '2.00' }]);
      expect(await generate(server, key!)).toEqual({ __typename: 'GenerateVideoSuccess' });
      expect(await generate(server, key!)).toMatchObject({ __typename: 'BudgetExceededError', scope: 'KEY' });
      const html = await rawRequest(server.url, '/', { host: `localhost:${server.port}` });
      expect(html.body.includes(key!)).toBe(true);
      const rebound = await rawRequest(server.url, '/', { host: `attacker.example:${server.port}` });
      expect(rebound.body.includes(key!)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('takes its budget from DEVELOPMENT_KEY_DAILY_BUDGET_USD', async () => {
    const { database, dataDir } = await fresh();
    const server = await startApp(database, { ...segmindEnv, DEVELOPMENT_KEY: 'on', DEVELOPMENT_KEY_DAILY_BUDGET_USD: '5' }, dataDir);
    try {
      expect(server.app.developmentKey).toMatch(/^rql_/);
      expect(await budgetOf(database)).toEqual([{ name: 'development', daily_budget_usd: '5.00' }]);
    } finally {
      await server.stop();
    }
  });

  it('made earlier with the simulator, is neither shown nor unlimited once a Segmind key is set', async () => {
    const { database, dataDir } = await fresh();
    const first = await startApp(database, {}, dataDir);
    const key = first.app.developmentKey;
    await first.stop();
    expect(key).toMatch(/^rql_/);
    expect(await budgetOf(database)).toEqual([{ name: 'development', daily_budget_usd: null }]);

    const withSegmind = await startApp(database, segmindEnv, dataDir);
    try {
      expect(withSegmind.app.developmentKey).toBeUndefined();
      const html = await rawRequest(withSegmind.url, '/', { host: `127.0.0.1:${withSegmind.port}` });
      expect(html.body.includes(key!)).toBe(false);
      expect(await budgetOf(database)).toEqual([{ name: 'development', daily_budget_usd: '2.00' }]);
    } finally {
      await withSegmind.stop();
    }

    const optedIn = await startApp(database, { ...segmindEnv, DEVELOPMENT_KEY: 'on' }, dataDir);
    try {
      expect(optedIn.app.developmentKey).toBe(key);
    } finally {
      await optedIn.stop();
    }
  });

  it('is never made with DEVELOPMENT_KEY=off, even with the simulator', async () => {
    const { database, dataDir } = await fresh();
    const server = await startApp(database, { DEVELOPMENT_KEY: 'off' }, dataDir);
    try {
      expect(server.app.developmentKey).toBeUndefined();
      expect(await budgetOf(database)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe('the settings', () => {
  it.each([
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS.*"\*"/],
    [{ CORS_ORIGINS: 'https://app.example/path' }, /CORS_ORIGINS.*https:\/\/app\.example\/path/],
    [{ CORS_ORIGINS: 'app.example' }, /CORS_ORIGINS/],
    [{ CORS_ORIGINS: 'ftp://app.example' }, /CORS_ORIGINS/],
    [{ DEVELOPMENT_KEY: 'yes' }, /DEVELOPMENT_KEY must be one of auto, on, off/],
    [{ DEVELOPMENT_KEY: 'on', NODE_ENV: 'production' }, /DEVELOPMENT_KEY=on.*NODE_ENV=production/],
    [{ DEVELOPMENT_KEY_DAILY_BUDGET_USD: '-1' }, /DEVELOPMENT_KEY_DAILY_BUDGET_USD/],
    [{ DEVELOPMENT_KEY_DAILY_BUDGET_USD: '1e9' }, /DEVELOPMENT_KEY_DAILY_BUDGET_USD must be below/],
  ])('refuse %o, saying what is wrong', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('default to no CORS origins, a development key only with the simulator, and a $2 budget beside Segmind', () => {
    const config = loadConfig({});
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.auth.developmentKey).toBe('auto');
    expect(config.auth.developmentKeyDailyBudgetUsd).toBe(2);
    expect(loadConfig({ CORS_ORIGINS: 'https://App.example:8443/ ,http://localhost:5173' }).http.corsOrigins).toEqual([
      'https://app.example:8443',
      'http://localhost:5173',
    ]);
  });
});
