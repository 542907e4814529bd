import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

describe('.env.example', () => {
  const documented = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);

  it('documents exactly the variables the configuration reads', () => {
    expect([...new Set(documented)].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('holds values the configuration accepts', () => {
    const values = Object.fromEntries(
      [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(() => loadConfig(values)).not.toThrow();
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const app = compose.services.app!;
  const postgres = compose.services.postgres!;

  it('runs Postgres with a health check and a named volume, and the app after it is healthy', () => {
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(postgres.volumes?.[0]?.split(':')[0]).toBeOneOf(Object.keys(compose.volumes));
    expect(app.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('sets only variables the app knows, with values it accepts', () => {
    const environment = app.environment ?? {};
    for (const name of Object.keys(environment)) expect(CONFIG_VARIABLES).toContain(name);
    const resolved = Object.fromEntries(
      Object.entries(environment).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
    );
    const config = loadConfig(resolved);
    expect(config.databaseUrl).toMatch(/@postgres:5432\//);
    expect(app.ports).toContain(`${config.port}:${config.port}`);
    expect(app.healthcheck?.test.join(' ')).toContain(`localhost:${config.port}/healthz`);
    const videoVolume = app.volumes?.find((v) => v.endsWith(`:${config.dataDir}`));
    expect(videoVolume?.split(':')[0]).toBeOneOf(Object.keys(compose.volumes));
  });

  it('connects the app with the credentials the Postgres service creates', () => {
    const url = new URL(app.environment!.DATABASE_URL!);
    const env = postgres.environment as unknown as Record<string, string>;
    expect(decodeURIComponent(url.username)).toBe(env.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(env.POSTGRES_PASSWORD);
    expect(url.pathname.slice(1)).toBe(env.POSTGRES_DB);
  });
});

describe('Dockerfile', () => {
  it('starts the same command as npm start, as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(pkg.scripts.start).toBe('tsx src/main.ts');
    expect(dockerfile).toContain('CMD ["node", "--import", "tsx", "src/main.ts"]');
  });
});
