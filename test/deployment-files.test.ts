import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config/index.js';
import { AWS_CREDENTIAL_VARIABLES } from '../src/storage/s3.js';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
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

describe('README.md', () => {
  it('has a configuration table row for every variable the configuration reads', () => {
    const rows = read('README.md')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    for (const variable of CONFIG_VARIABLES) expect(rows.some((row) => row.includes(`\`${variable}\``)), variable).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const { postgres, api, worker } = compose.services;
  /** Compose substitutes ${VAR:-default}; with nothing set, the default is what the container sees. */
  const resolve = (environment: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));

  it('runs Postgres with a pinned major version, a health check and a named volume', () => {
    expect(postgres?.image).toMatch(/^postgres:\d+$/);
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(postgres?.volumes?.[0]?.split(':')[0]).toBeOneOf(Object.keys(compose.volumes));
  });

  it.each(['api', 'worker'])('runs the %s role with only variables the app (or the AWS SDK) knows and values it accepts', (name) => {
    const service = compose.services[name]!;
    for (const variable of Object.keys(service.environment ?? {})) expect([...CONFIG_VARIABLES, ...AWS_CREDENTIAL_VARIABLES]).toContain(variable);
    const config = loadConfig(resolve(service.environment));
    expect(config.server.role).toBe(name);
    expect(config.database.url).toMatch(/@postgres:5432\//);
    expect(service.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(service.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${config.http.port}/readyz`);
  });

  it('publishes the API port as a range, so the API can be scaled', () => {
    const config = loadConfig(resolve(api?.environment));
    expect(api?.ports).toEqual([`4000-4009:${config.http.port}`]);
    expect(worker?.ports).toBeUndefined();
  });

  it('connects the app with the credentials the Postgres service creates', () => {
    for (const service of [api!, worker!]) {
      const url = new URL(resolve(service.environment).DATABASE_URL!);
      const env = resolve(postgres?.environment);
      expect(decodeURIComponent(url.username)).toBe(env.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(env.POSTGRES_PASSWORD);
      expect(url.pathname.slice(1)).toBe(env.POSTGRES_DB);
    }
  });
});

describe('docker-compose.yml: videos in the S3-compatible bucket', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const { minio, api, worker } = compose.services;
  const setup = compose.services['minio-setup'];
  const resolve = (environment: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));

  it('runs MinIO with a pinned release, a health check and a named volume, and creates the bucket once', () => {
    expect(minio?.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-/);
    expect(minio?.healthcheck?.test.join(' ')).toContain('mc ready local');
    expect(minio?.volumes?.[0]?.split(':')[0]).toBeOneOf(Object.keys(compose.volumes));
    expect(setup?.image).toMatch(/^minio\/mc:RELEASE\.\d{4}-/);
    expect(setup?.depends_on?.minio?.condition).toBe('service_healthy');
    expect(setup?.restart).toBe('no');
    expect(setup?.entrypoint?.join(' ')).toContain('mc mb --ignore-existing');
  });

  it.each(['api', 'worker'])('keeps the %s role on the bucket, with no volume: Postgres and the bucket are all it shares', (name) => {
    const service = compose.services[name]!;
    expect(service.volumes).toBeUndefined();
    const env = resolve(service.environment);
    const config = loadConfig(env);
    expect(config.storage).toMatchObject({ driver: 's3', s3Endpoint: 'http://minio:9000', s3ForcePathStyle: true, s3Bucket: resolve(setup?.environment).S3_BUCKET });
    // MinIO is not published, so clients could not follow a redirect to it.
    expect(config.storage.s3Serve).toBe('proxy');
    expect(service.depends_on?.['minio-setup']?.condition).toBe('service_completed_successfully');
    const root = resolve(minio?.environment);
    expect(env.AWS_ACCESS_KEY_ID).toBe(root.MINIO_ROOT_USER);
    expect(env.AWS_SECRET_ACCESS_KEY).toBe(root.MINIO_ROOT_PASSWORD);
  });

  it('gives api and worker the same storage settings', () => {
    const storageOf = (service: ComposeService | undefined) => loadConfig(resolve(service?.environment)).storage;
    expect(storageOf(api)).toEqual(storageOf(worker));
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('builds on Node.js 24 in every stage', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^node:24-(bookworm-)?slim$/);
  });

  it('is what docker compose builds the API and the worker from', () => {
    const { services } = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
    for (const name of ['api', 'worker']) {
      expect(services[name]?.build, name).toBe('.');
      expect(services[name]?.image, name).toBeUndefined();
    }
  });

  it('builds in one stage and runs compiled JavaScript with production dependencies as a non-root user', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('CMD ["node", "dist/main.js"]');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.scripts['start:prod']).toBe('exec node dist/main.js');
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  it('runs with a system ffmpeg installed from the distribution and named by FFMPEG_PATH', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends ffmpeg\b/);
    expect(runtime).toContain('rm -rf /var/lib/apt/lists/*');
    expect(runtime).toMatch(/^ENV FFMPEG_PATH=\/usr\/bin\/ffmpeg$/m);
    expect(CONFIG_VARIABLES).toContain('FFMPEG_PATH');
    // Installed as root, before the server drops to the node user.
    expect(runtime.indexOf('apt-get install')).toBeLessThan(runtime.indexOf('USER node'));
  });
});

describe('Node.js versions', () => {
  /** The Node.js 24 release CI installs and runs the suite on, besides the machine's own. */
  const ciNode = /^NODE24_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(read('.ci/run'));
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
  /** `engines.node` as its ranges: each `^major[.minor]`, joined by `||`. */
  const ranges = pkg.engines.node.split('||').map((range) => {
    const match = /^\s*\^(\d+)(?:\.(\d+))?\s*$/.exec(range);
    if (!match) throw new Error(`engines.node range "${range}" is not of the form ^major[.minor]`);
    return { major: Number(match[1]), minor: Number(match[2] ?? 0) };
  });
  const satisfies = (version: string) => {
    const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
    return ranges.some((r) => r.major === major && minor! >= r.minor);
  };

  it('pins the Node.js 24 release CI tests on', () => {
    expect(ciNode?.[1]).toBe('24');
  });

  it('pins 24 for version managers (.nvmrc, .node-version)', () => {
    expect(read('.nvmrc').trim()).toBe('24');
    expect(read('.node-version').trim()).toBe('24');
  });

  it('declares in engines.node exactly the majors CI tests on: the machine’s Node.js and 24', () => {
    expect(satisfies(`${ciNode![1]}.${ciNode![2]}.${ciNode![3]}`)).toBe(true);
    expect(satisfies(process.version), process.version).toBe(true);
    expect(ranges.map((r) => r.major).sort((a, b) => a - b)).toEqual([...new Set([20, 24, Number(process.versions.node.split('.')[0])])].sort((a, b) => a - b));
  });
});

describe('package-lock.json', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string }> };

  it('installs no esbuild older than 0.25 (GHSA-67mh-4wv8-2f99)', () => {
    const esbuilds = Object.entries(lock.packages).filter(([where]) => /(^|\/)node_modules\/esbuild$/.test(where));
    expect(esbuilds.length).toBeGreaterThan(0);
    for (const [where, { version }] of esbuilds) {
      const [major, minor] = (version ?? '0.0.0').split('.').map(Number);
      expect(major! > 0 || minor! >= 25, `${where}@${version}`).toBe(true);
    }
  });
});
